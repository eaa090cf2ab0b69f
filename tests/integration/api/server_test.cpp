// The REST server over real TCP and TLS on 127.0.0.1: raw bytes of bare replies, slow
// handlers not delaying health checks, many concurrent connections, slowloris, garbage, size
// limits, bind errors, TLS with client certificates made by the openssl CLI.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "api/rest_server.h"
#include "child_process.h"
#include "fixtures.h"
#include "net/http_client.h"

namespace custos::api::test {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// The server's clock; the snapshot's times are relative to its monotonic time.
custos::SystemClock system_clock;

NodeSnapshot live_primary() {
  const double now = system_clock.now_seconds();
  NodeSnapshot s = primary_snapshot();
  s.cluster_loaded_at = now;
  s.leader_lock_valid_until = now + 3600;
  s.next_run = now + 3600;
  return s;
}

RestApiSettings local_settings(int port, json extra = json::object()) {
  json cfg = {{"listen", "127.0.0.1:" + std::to_string(port)},
              {"connect_address", "127.0.0.1:" + std::to_string(port)},
              {"http_extra_headers", {{"X-Custos-Test", "yes"}}},
              {"request_queue_size", 256}};
  cfg.update(extra);
  auto s = RestApiSettings::from_config(cfg);
  if (!s) throw std::runtime_error(s.error());
  RestApiSettings out = s.value();
  out.read_timeout = 700ms;
  return out;
}

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads until EOF or the timeout; returns what arrived (and whether EOF was seen).
std::string read_all(int fd, std::chrono::milliseconds timeout, bool* eof = nullptr) {
  std::string out;
  auto deadline = Clock::now() + timeout;
  if (eof) *eof = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (eof) *eof = true;
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

void send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

std::string roundtrip(int port, const std::string& request, std::chrono::milliseconds timeout = 5s) {
  int fd = connect_to(port);
  if (fd < 0) return "";
  send_all(fd, request);
  std::string out = read_all(fd, timeout);
  ::close(fd);
  return out;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { src.snap = live_primary(); }
  void start(RestApiSettings s) {
    server = std::make_unique<RestServer>(std::move(s), src, system_clock);
    auto st = server->start();
    ASSERT_TRUE(st) << st.error();
    port = server->bound_port();
    ASSERT_GT(port, 0);
  }
  void start() { start(local_settings(custos::test::free_port())); }
  std::string url(const std::string& path) { return "http://127.0.0.1:" + std::to_string(port) + path; }
  net::HttpResult<net::HttpResponse> get(const std::string& path, std::chrono::milliseconds timeout = 5s) {
    net::HttpRequest r;
    r.url = url(path);
    return client.request(r, timeout);
  }

  TestSource src;
  std::unique_ptr<RestServer> server;
  int port = 0;
  net::HttpClient client;
};

TEST_F(ServerTest, GetHeadOptionsOverTcp) {
  start();
  auto r = get("/primary");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Type"), "application/json");
  EXPECT_EQ(r->header("X-Custos-Test"), "yes");
  EXPECT_EQ(json::parse(r->body)["patroni"]["name"], "node1");
  auto rep = get("/replica");
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->status, 503);

  // Bare status lines: exactly these bytes, then the connection is closed.
  EXPECT_EQ(roundtrip(port, "HEAD /primary HTTP/1.0\r\n\r\n"), "HTTP/1.0 200 OK\r\n\r\n");
  EXPECT_EQ(roundtrip(port, "OPTIONS /replica HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.0 503 Service Unavailable\r\n\r\n");
  EXPECT_EQ(roundtrip(port, "GET /liveness HTTP/1.0\r\n\r\n"), "HTTP/1.0 200 OK\r\n\r\n");
  EXPECT_EQ(roundtrip(port, "GET /readiness HTTP/1.0\r\n\r\n"), "HTTP/1.0 200 OK\r\n\r\n");

  // A keep-alive request is answered and the connection closed anyway.
  int fd = connect_to(port);
  send_all(fd, "GET /patroni HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
  bool eof = false;
  std::string reply = read_all(fd, 3s, &eof);
  ::close(fd);
  EXPECT_EQ(reply.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << reply;
  EXPECT_TRUE(eof);

  // Unknown method → 501; unsafe endpoint → 501 "not implemented yet".
  std::string r501 = roundtrip(port, "BREW /pot HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r501.rfind("HTTP/1.0 501 Not Implemented\r\n", 0), 0u) << r501;
  std::string restart = roundtrip(port, "POST /restart HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(restart.rfind("HTTP/1.0 501", 0), 0u);
  EXPECT_NE(restart.find("not implemented yet"), std::string::npos);

  // /metrics and /cluster through the blocking pool.
  auto m = get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header("Content-Type"), "text/plain");
  EXPECT_NE(m->body.find("patroni_primary{scope=\"demo\",name=\"node1\"} 1"), std::string::npos);
  src.fresh = make_cluster();
  auto c = get("/cluster");
  ASSERT_TRUE(c);
  EXPECT_EQ(json::parse(c->body)["members"].size(), 3u);
}

TEST_F(ServerTest, SlowPatroniDoesNotDelayHealthChecks) {
  src.live = src.snap.pg;
  src.live_delay = 3s;
  src.cluster_delay = 3s;
  start();
  std::vector<std::thread> slow;
  std::atomic<int> slow_ok{0};
  // Saturate the blocking pool (and queue more behind it).
  for (const char* path : {"/patroni", "/patroni", "/cluster", "/metrics"}) {
    slow.emplace_back([&, path] {
      net::HttpClient c;
      net::HttpRequest r;
      r.url = url(path);
      auto resp = c.request(r, 10s);
      if (resp && resp->status == 200) ++slow_ok;
    });
  }
  std::this_thread::sleep_for(200ms);
  double worst = 0, total = 0;
  const int n = 50;
  for (int i = 0; i < n; ++i) {
    auto t = Clock::now();
    std::string reply = roundtrip(port, "GET /primary HTTP/1.0\r\n\r\n", 2s);
    double ms = ms_since(t);
    worst = std::max(worst, ms);
    total += ms;
    ASSERT_EQ(reply.rfind("HTTP/1.0 200 OK", 0), 0u) << reply;
    auto h = Clock::now();
    EXPECT_EQ(roundtrip(port, "HEAD /replica HTTP/1.0\r\n\r\n", 2s), "HTTP/1.0 503 Service Unavailable\r\n\r\n");
    worst = std::max(worst, ms_since(h));
  }
  EXPECT_LT(worst, 200.0);
  std::printf("[ measured ] health check while /patroni and /cluster take 3 s: mean %.2f ms, worst %.2f ms\n",
              total / n, worst);
  for (auto& t : slow) t.join();
  EXPECT_EQ(slow_ok.load(), 4);
}

TEST_F(ServerTest, TwoHundredConcurrentConnections) {
  start();
  const int n = 200;
  std::atomic<int> ok{0};
  std::vector<int> fds;
  // Open all connections first, then send on all of them, then read all replies.
  for (int i = 0; i < n; ++i) {
    int fd = connect_to(port);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
  }
  auto t = Clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      send_all(fds[i], i % 2 ? "GET /primary HTTP/1.0\r\n\r\n" : "HEAD /replica HTTP/1.0\r\n\r\n");
      std::string reply = read_all(fds[i], 5s);
      if (reply.rfind(i % 2 ? "HTTP/1.0 200 OK" : "HTTP/1.0 503", 0) == 0) ++ok;
      ::close(fds[i]);
    });
  }
  for (auto& th : threads) th.join();
  double ms = ms_since(t);
  EXPECT_EQ(ok.load(), n);
  std::printf("[ measured ] %d concurrent connections answered in %.1f ms\n", n, ms);

  // Throughput, sequential single-connection requests.
  auto t2 = Clock::now();
  int count = 0;
  while (ms_since(t2) < 1000) {
    if (roundtrip(port, "GET /primary HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 200", 0) == 0) ++count;
  }
  std::printf("[ measured ] %d sequential GET /primary in 1 s (one connection each)\n", count);
  EXPECT_GT(count, 100);
}

TEST_F(ServerTest, ConnectionCountIsBounded) {
  RestApiSettings s = local_settings(custos::test::free_port());
  s.max_connections = 10;
  s.read_timeout = 10s;  // the idle connections stay open for the whole test
  start(s);
  std::vector<int> idle;
  for (int i = 0; i < 10; ++i) idle.push_back(connect_to(port));
  std::this_thread::sleep_for(500ms);  // all ten accepted
  // The 11th connection is closed at once without a reply.
  int extra = connect_to(port);
  bool eof = false;
  std::string got = read_all(extra, 2s, &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(got, "");
  ::close(extra);
  for (int fd : idle) ::close(fd);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(roundtrip(port, "GET /primary HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 200", 0), 0u);
}

TEST_F(ServerTest, SlowlorisIsDropped) {
  start();  // read_timeout 700 ms
  int fd = connect_to(port);
  auto t = Clock::now();
  send_all(fd, "GET /primary HTTP/1.0\r\n");
  bool closed = false;
  std::string got;
  for (int i = 0; i < 40 && !closed; ++i) {
    send_all(fd, "X-Slow: " + std::to_string(i) + "\r\n");
    got += read_all(fd, 100ms, &closed);
  }
  double ms = ms_since(t);
  ::close(fd);
  EXPECT_TRUE(closed);
  EXPECT_EQ(got, "");
  EXPECT_LT(ms, 2000.0);
  std::printf("[ measured ] slowloris connection dropped after %.0f ms\n", ms);
  // An idle connection that never sends anything is dropped too.
  int idle = connect_to(port);
  bool eof = false;
  read_all(idle, 3s, &eof);
  EXPECT_TRUE(eof);
  ::close(idle);
  EXPECT_EQ(roundtrip(port, "GET /primary HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 200", 0), 0u);
}

TEST_F(ServerTest, GarbageAndLimits) {
  start();
  std::mt19937 rng(7);
  for (int i = 0; i < 50; ++i) {
    std::string junk;
    int len = 1 + static_cast<int>(rng() % 300);
    for (int k = 0; k < len; ++k) junk.push_back(static_cast<char>(rng() % 256));
    junk.push_back('\n');  // make sure the parser sees a line end
    std::string reply = roundtrip(port, junk + "\r\n\r\n", 3s);
    EXPECT_TRUE(reply.empty() || reply.rfind("HTTP/1.0 4", 0) == 0) << i << ": " << reply.substr(0, 40);
  }
  for (std::string bad : {std::string("GARBAGE\r\n\r\n"), std::string("GET\r\n\r\n"),
                          std::string("GET /primary HTTP/9.9\r\n\r\n"), std::string("GET /x\x01y HTTP/1.0\r\n\r\n"),
                          std::string("GET /primary HTTP/1.0\r\nBad Header\r\n\r\n"),
                          std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 16),
                          std::string("POST /restart HTTP/1.0\r\nContent-Length: -5\r\n\r\n")}) {
    std::string reply = roundtrip(port, bad, 3s);
    EXPECT_EQ(reply.rfind("HTTP/1.0 400 Bad Request\r\n", 0), 0u) << bad << " → " << reply;
  }
  // Binary bytes in the path are accepted by the parser? Either 4xx or a health answer.
  std::string bin = roundtrip(port, std::string("GET /\xff\xfe\x80 HTTP/1.0\r\n\r\n"), 3s);
  EXPECT_TRUE(bin.rfind("HTTP/1.0 400", 0) == 0 || bin.rfind("HTTP/1.0 503", 0) == 0) << bin;
  // Headers over 64 KiB → 431; a body over 1 MiB → 413.
  std::string big_header = "GET /primary HTTP/1.0\r\nX-Big: " + std::string(70 * 1024, 'a') + "\r\n\r\n";
  std::string r431 = roundtrip(port, big_header);
  EXPECT_EQ(r431.rfind("HTTP/1.0 431", 0), 0u) << r431.substr(0, 60);
  std::string big_body = "POST /restart HTTP/1.0\r\nContent-Length: 2000000\r\n\r\n" + std::string(1100000, 'x');
  EXPECT_EQ(roundtrip(port, big_body).rfind("HTTP/1.0 413", 0), 0u);
  // Still serving.
  auto r = get("/primary");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, BindErrorNamesTheAddressAndStopStart) {
  start();
  RestServer second(local_settings(port), src, system_clock);
  auto st = second.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("127.0.0.1:" + std::to_string(port)), std::string::npos) << st.error();

  server->stop();
  EXPECT_EQ(server->bound_port(), 0);
  EXPECT_LT(connect_to(port), 0);
  ASSERT_TRUE(server->start());
  EXPECT_EQ(roundtrip(server->bound_port(), "HEAD / HTTP/1.0\r\n\r\n"), "HTTP/1.0 200 OK\r\n\r\n");
  server->stop();
  server->stop();  // idempotent
}

TEST_F(ServerTest, ListenOnAllAddresses) {
  int p = custos::test::free_port();
  RestApiSettings s = local_settings(p, json{{"listen", "*:" + std::to_string(p)}});
  start(s);
  EXPECT_EQ(roundtrip(port, "HEAD / HTTP/1.0\r\n\r\n"), "HTTP/1.0 200 OK\r\n\r\n");
}

TEST_F(ServerTest, RegisteredWriteHandlerBehindBasicAuth) {
  RestApiSettings s = local_settings(custos::test::free_port(),
                                     json{{"authentication", {{"username", "admin"}, {"password", "pw"}}}});
  server = std::make_unique<RestServer>(s, src, system_clock);
  server->handler().set_unsafe_handler("POST", "reload", [](const Request& r, NodeStateSource& n, double) {
    n.wake_ha_loop();
    return Response::text(202, "reload scheduled" + std::string(r.body.empty() ? "" : " with body"));
  });
  ASSERT_TRUE(server->start());
  port = server->bound_port();
  net::HttpRequest req{"POST", url("/reload"), {}, "{}", "application/json"};
  auto denied = client.request(req, 5s);
  ASSERT_TRUE(denied) << denied.error().describe();
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(denied->header("WWW-Authenticate"), "Basic realm=\"Patroni\"");
  EXPECT_EQ(denied->body, "no auth header received");
  net::HttpClientOptions o;
  o.basic_auth = std::pair{std::string("admin"), std::string("pw")};
  net::HttpClient authed(o);
  auto ok = authed.request(req, 5s);
  ASSERT_TRUE(ok) << ok.error().describe();
  EXPECT_EQ(ok->status, 202);
  EXPECT_EQ(ok->body, "reload scheduled with body");
  EXPECT_EQ(src.wakes.load(), 1);
}

// ---- TLS ---------------------------------------------------------------------------------

struct Certs {
  std::string dir, ca, server_cert, server_key, client_cert, client_key, other_cert, other_key;
};

Certs make_certs() {
  Certs c;
  c.dir = custos::test::make_temp_dir("custos-api-tls");
  auto run = [](const std::vector<std::string>& argv) {
    auto r = custos::test::run_command(argv, 30s);
    if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.output);
  };
  std::vector<std::string> ec = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
  auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  c.ca = c.dir + "/ca.crt";
  run(with(with({"openssl", "req", "-x509"}, ec),
           {"-keyout", c.dir + "/ca.key", "-out", c.ca, "-days", "2", "-subj", "/CN=custos-api-test-ca"}));
  std::ofstream(c.dir + "/server.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
  std::ofstream(c.dir + "/client.ext") << "extendedKeyUsage=clientAuth\n";
  auto issue = [&](const std::string& name, const std::string& ext, const std::string& ca, const std::string& ca_key) {
    std::string key = c.dir + "/" + name + ".key", csr = c.dir + "/" + name + ".csr", crt = c.dir + "/" + name + ".crt";
    run(with(with({"openssl", "req"}, ec), {"-keyout", key, "-out", csr, "-subj", "/CN=" + name}));
    run({"openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", crt, "-days",
         "2", "-extfile", c.dir + "/" + ext});
    return std::pair{crt, key};
  };
  std::tie(c.server_cert, c.server_key) = issue("server", "server.ext", c.ca, c.dir + "/ca.key");
  std::tie(c.client_cert, c.client_key) = issue("client", "client.ext", c.ca, c.dir + "/ca.key");
  // A client certificate from another CA (self-signed).
  run(with(with({"openssl", "req", "-x509"}, ec), {"-keyout", c.dir + "/other.key", "-out", c.dir + "/other.crt",
                                                   "-days", "2", "-subj", "/CN=intruder"}));
  c.other_cert = c.dir + "/other.crt";
  c.other_key = c.dir + "/other.key";
  return c;
}

net::HttpResult<net::HttpResponse> tls_get(int port, const Certs& c, bool with_cert, const std::string& path = "/primary",
                                           bool other_cert = false) {
  net::HttpClientOptions o;
  o.tls.ca_file = c.ca;
  if (with_cert) {
    o.tls.cert_file = other_cert ? c.other_cert : c.client_cert;
    o.tls.key_file = other_cert ? c.other_key : c.client_key;
  }
  net::HttpClient client(o);
  net::HttpRequest r;
  r.url = "https://127.0.0.1:" + std::to_string(port) + path;
  return client.request(r, 5s);
}

TEST_F(ServerTest, TlsWithRequiredClientCertificate) {
  Certs c = make_certs();
  int p = custos::test::free_port();
  start(local_settings(p, json{{"certfile", c.server_cert},
                               {"keyfile", c.server_key},
                               {"cafile", c.ca},
                               {"verify_client", "required"},
                               {"https_extra_headers", {{"Strict-Transport-Security", "max-age=31536000"}}}}));
  EXPECT_EQ(server->settings().api_url(), "https://127.0.0.1:" + std::to_string(p) + "/patroni");
  auto ok = tls_get(port, c, true);
  ASSERT_TRUE(ok) << ok.error().describe();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->header("Strict-Transport-Security"), "max-age=31536000");
  EXPECT_EQ(ok->header("X-Custos-Test"), "yes");
  // With a verified client certificate the unsafe endpoint passes the certificate check.
  net::HttpClientOptions o;
  o.tls.ca_file = c.ca;
  o.tls.cert_file = c.client_cert;
  o.tls.key_file = c.client_key;
  net::HttpClient poster(o);
  auto post = poster.request({"POST", "https://127.0.0.1:" + std::to_string(port) + "/reload", {}, "", ""}, 5s);
  ASSERT_TRUE(post) << post.error().describe();
  EXPECT_EQ(post->status, 501);

  EXPECT_FALSE(tls_get(port, c, false)) << "no client certificate must fail the handshake";
  EXPECT_FALSE(tls_get(port, c, true, "/primary", /*other_cert=*/true)) << "a foreign client certificate must fail";
  // Plain HTTP to the TLS port: no crash, the server keeps serving.
  std::string plain = roundtrip(port, "GET /primary HTTP/1.0\r\n\r\n", 3s);
  EXPECT_EQ(plain.find("HTTP/1.0 200"), std::string::npos);
  auto again = tls_get(port, c, true, "/patroni");
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_EQ(json::parse(again->body)["role"], "master");  // the unit fixtures present Patroni 3.3
  // A bare status line ends with the connection, without close_notify: still an answer (the
  // duplicate-name check of a TLS cluster asks /liveness).
  auto live = tls_get(port, c, true, "/liveness");
  ASSERT_TRUE(live) << live.error().describe();
  EXPECT_EQ(live->status, 200);
}

TEST_F(ServerTest, TlsOptionalClientCertificate) {
  Certs c = make_certs();
  start(local_settings(custos::test::free_port(), json{{"certfile", c.server_cert},
                                                        {"keyfile", c.server_key},
                                                        {"cafile", c.ca},
                                                        {"verify_client", "optional"}}));
  auto anon = tls_get(port, c, false);
  ASSERT_TRUE(anon) << anon.error().describe();
  EXPECT_EQ(anon->status, 200);
  // Unsafe endpoints need the certificate when verify_client is optional.
  net::HttpClientOptions o;
  o.tls.ca_file = c.ca;
  net::HttpClient anon_client(o);
  auto denied = anon_client.request({"POST", "https://127.0.0.1:" + std::to_string(port) + "/reload", {}, "", ""}, 5s);
  ASSERT_TRUE(denied) << denied.error().describe();
  EXPECT_EQ(denied->status, 403);
  EXPECT_EQ(denied->body, "client certificate required");
}

TEST_F(ServerTest, TlsBadMaterialIsAnError) {
  RestApiSettings s = local_settings(custos::test::free_port(), json{{"certfile", "/nonexistent/cert.pem"}});
  RestServer bad(s, src, system_clock);
  auto st = bad.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("/nonexistent/cert.pem"), std::string::npos) << st.error();
}

// A reload of the `restapi` section reaches the running server: TLS turned on (new connections
// get the certificate), client certificates then required, a certificate that does not load is
// refused while the settings in force stay, and a new listen port is bound before the old one
// closes. No thread is started for any of it.
TEST_F(ServerTest, ReloadAppliesTlsAndListenSettingsWithoutARestart) {
  Certs c = make_certs();
  int p = custos::test::free_port();
  start(local_settings(p));
  ASSERT_TRUE(get("/primary"));
  const json tls = {{"certfile", c.server_cert}, {"keyfile", c.server_key}, {"cafile", c.ca}};
  auto st = server->reload(local_settings(p, tls));
  ASSERT_TRUE(st) << st.error();
  EXPECT_FALSE(get("/primary", 2s)) << "plain HTTP must no longer be served";
  auto anon = tls_get(port, c, false);
  ASSERT_TRUE(anon) << anon.error().describe();
  EXPECT_EQ(anon->status, 200);

  json required = tls;
  required["verify_client"] = "required";
  ASSERT_TRUE(server->reload(local_settings(p, required)));
  EXPECT_FALSE(tls_get(port, c, false)) << "a client certificate is now required";
  auto with_cert = tls_get(port, c, true);
  ASSERT_TRUE(with_cert) << with_cert.error().describe();
  EXPECT_EQ(with_cert->status, 200);

  json broken = required;
  broken["certfile"] = "/nonexistent/cert.pem";
  auto refused = server->reload(local_settings(p, broken));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("/nonexistent/cert.pem"), std::string::npos) << refused.error();
  EXPECT_TRUE(tls_get(port, c, true)) << "the settings in force stay after a failed reload";

  const int q = custos::test::free_port();
  ASSERT_TRUE(server->reload(local_settings(q, required)));
  EXPECT_EQ(server->bound_port(), q);
  auto moved = tls_get(q, c, true);
  ASSERT_TRUE(moved) << moved.error().describe();
  EXPECT_EQ(moved->status, 200);
  EXPECT_FALSE(tls_get(p, c, true)) << "the old port is closed";
}

}  // namespace
}  // namespace custos::api::test
