// Access control of unsafe endpoints (§7), method routing (501), garbage requests and the
// parsing of the restapi settings.
#include <gtest/gtest.h>

#include <random>

#include "fixtures.h"

namespace custos::api::test {
namespace {

RestApiSettings settings_with(const json& extra) {
  json cfg = {{"listen", "127.0.0.1:8008"}, {"connect_address", "127.0.0.1:8008"}};
  cfg.update(extra);
  auto s = RestApiSettings::from_config(cfg);
  if (!s) throw std::runtime_error(s.error());
  return s.value();
}

Response post(TestSource& src, const RequestHandler& h, const std::string& peer, const std::string& path = "/restart",
              std::optional<std::string> auth = std::nullopt, const std::string& method = "POST") {
  Request r = make_request(method, path, peer);
  if (auth) r.headers.emplace_back("authorization", *auth);
  return h.handle(r, src, kNow);
}

TEST(Routing, UnsafeEndpointsAnswerNotImplementedYet) {
  TestSource src;
  src.snap = primary_snapshot();
  RequestHandler h;
  for (auto [m, p] : std::vector<std::pair<std::string, std::string>>{{"POST", "/restart"},
                                                                      {"DELETE", "/restart"},
                                                                      {"PATCH", "/config"},
                                                                      {"PUT", "/config"},
                                                                      {"POST", "/reload"},
                                                                      {"POST", "/reinitialize"},
                                                                      {"POST", "/switchover"},
                                                                      {"DELETE", "/switchover"},
                                                                      {"POST", "/failover"},
                                                                      {"POST", "/failsafe"},
                                                                      {"POST", "/citus"},
                                                                      {"POST", "/mpp"},
                                                                      {"POST", "/sigterm"}}) {
    Response r = post(src, h, "127.0.0.1", p, std::nullopt, m);
    EXPECT_EQ(r.status, 501) << m << " " << p;
    EXPECT_NE(r.body.find("not implemented yet"), std::string::npos) << r.body;
  }
  EXPECT_EQ(src.wakes.load(), 0);
}

TEST(Routing, MethodsWithoutHandlerAre501) {
  TestSource src;
  src.snap = primary_snapshot();
  RequestHandler h;
  for (auto [m, p] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/unknown"}, {"POST", "/"}, {"FOO", "/"}, {"DELETE", "/patroni"}, {"PATCH", "/restart"},
           {"PUT", "/cluster"}, {"TRACE", "/primary"}, {"get", "/primary"}, {"CONNECT", "/"}}) {
    Response r = post(src, h, "127.0.0.1", p, std::nullopt, m);
    EXPECT_EQ(r.status, 501) << m << " " << p;
    EXPECT_NE(r.body.find("Unsupported method"), std::string::npos);
  }
}

TEST(Routing, RegisteredUnsafeHandlerIsCalledAfterAccessChecks) {
  TestSource src;
  src.snap = primary_snapshot();
  RequestHandler h(settings_with({{"authentication", {{"username", "u"}, {"password", "p"}}}}));
  int calls = 0;
  h.set_unsafe_handler("POST", "reload", [&](const Request&, NodeStateSource& s, double) {
    ++calls;
    s.wake_ha_loop();
    return Response::text(202, "reload scheduled");
  });
  EXPECT_EQ(post(src, h, "10.0.0.9", "/reload").status, 401);
  EXPECT_EQ(calls, 0);
  Response ok = post(src, h, "10.0.0.9", "/reload", "Basic dTpw");  // u:p
  EXPECT_EQ(ok.status, 202);
  EXPECT_EQ(ok.body, "reload scheduled");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(src.wakes.load(), 1);
}

TEST(AccessControl, BasicAuth) {
  TestSource src;
  src.snap = primary_snapshot();
  RequestHandler h(settings_with({{"authentication", {{"username", "admin"}, {"password", "s3cr:et"}}}}));
  Response none = post(src, h, "127.0.0.1");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.body, "no auth header received");
  bool has_realm = false;
  for (const auto& [k, v] : none.headers)
    if (k == "WWW-Authenticate" && v == "Basic realm=\"Patroni\"") has_realm = true;
  EXPECT_TRUE(has_realm);
  Response wrong = post(src, h, "127.0.0.1", "/restart", "Basic YWRtaW46d3Jvbmc=");  // admin:wrong
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body, "not authenticated");
  EXPECT_EQ(post(src, h, "127.0.0.1", "/restart", "Bearer xyz").status, 401);
  EXPECT_EQ(post(src, h, "127.0.0.1", "/restart", "").status, 401);
  // admin:s3cr:et
  EXPECT_EQ(post(src, h, "127.0.0.1", "/restart", "Basic YWRtaW46czNjcjpldA==").status, 501);
  // Safe endpoints are never authenticated; POST /mpp is, like /citus (Patroni 4 before its
  // PR #3722 let /mpp through unchecked: anyone could pause a worker group's writes).
  EXPECT_EQ(post(src, h, "127.0.0.1", "/primary", std::nullopt, "GET").status, 200);
  EXPECT_EQ(post(src, h, "127.0.0.1", "/mpp").status, 401);
  EXPECT_EQ(post(src, h, "127.0.0.1", "/citus").status, 401);
  // The legacy `auth: user:pass` form works too.
  RequestHandler legacy(settings_with({{"auth", "admin:pw"}}));
  EXPECT_EQ(post(src, legacy, "127.0.0.1", "/restart", "Basic YWRtaW46cHc=").status, 501);
  EXPECT_EQ(post(src, legacy, "127.0.0.1", "/restart").status, 401);
}

TEST(AccessControl, AllowlistCidrV4V6) {
  TestSource src;
  src.snap = primary_snapshot();
  RequestHandler h(settings_with({{"allowlist", {"10.0.0.0/8", "::1", "2001:db8::/32", "192.168.1.7"}}}));
  EXPECT_EQ(post(src, h, "10.1.2.3").status, 501);
  EXPECT_EQ(post(src, h, "11.1.2.3").status, 403);
  EXPECT_EQ(post(src, h, "11.1.2.3").body, "Access is denied");
  EXPECT_EQ(post(src, h, "192.168.1.7").status, 501);
  EXPECT_EQ(post(src, h, "192.168.1.8").status, 403);
  EXPECT_EQ(post(src, h, "::1").status, 501);
  EXPECT_EQ(post(src, h, "2001:db8:1::5").status, 501);
  EXPECT_EQ(post(src, h, "2001:db9::5").status, 403);
  EXPECT_EQ(post(src, h, "::ffff:10.9.9.9").status, 501);  // v4-mapped
  EXPECT_EQ(post(src, h, "not-an-ip").status, 403);
  EXPECT_EQ(post(src, h, "").status, 403);
  // Safe endpoints are not restricted.
  EXPECT_EQ(post(src, h, "11.1.2.3", "/primary", std::nullopt, "GET").status, 200);

  EXPECT_TRUE(address_in_list("127.0.0.1", {"localhost"}));
  EXPECT_TRUE(address_in_list("10.255.255.255", {"10.0.0.0/8"}));
  EXPECT_TRUE(address_in_list("1.2.3.4", {"0.0.0.0/0"}));
  EXPECT_TRUE(address_in_list("fe80::1", {"fe80::/10"}));
  EXPECT_FALSE(address_in_list("fe80::1", {"10.0.0.0/8"}));
  EXPECT_FALSE(address_in_list("10.0.0.1", {"10.0.0.0/33", "10.0.0.0/x", "garbage/8", "/"}));
}

TEST(AccessControl, AllowlistIncludeMembers) {
  TestSource src;
  src.snap = primary_snapshot();  // members' api_urls: 10.0.0.1, 10.0.0.2, 172.16.0.5
  RequestHandler h(settings_with({{"allowlist", {"192.168.0.0/16"}}, {"allowlist_include_members", true}}));
  EXPECT_EQ(post(src, h, "172.16.0.5").status, 501);
  EXPECT_EQ(post(src, h, "10.0.0.2").status, 501);
  EXPECT_EQ(post(src, h, "192.168.3.3").status, 501);
  EXPECT_EQ(post(src, h, "10.0.0.3").status, 403);
  RequestHandler only_members(settings_with({{"allowlist_include_members", true}}));
  EXPECT_EQ(post(src, only_members, "10.0.0.1").status, 501);
  EXPECT_EQ(post(src, only_members, "127.0.0.1").status, 403);
}

TEST(AccessControl, VerifyClientAndOrder) {
  TestSource src;
  src.snap = primary_snapshot();
  RequestHandler h(settings_with({{"certfile", "/x.pem"},
                                  {"cafile", "/ca.pem"},
                                  {"verify_client", "Optional"},
                                  {"allowlist", {"127.0.0.1"}},
                                  {"authentication", {{"username", "u"}, {"password", "p"}}}}));
  Request r = make_request("POST", "/restart", "127.0.0.1");
  r.tls = true;
  Response denied = h.handle(r, src, kNow);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.body, "client certificate required");
  r.client_cert_verified = true;
  EXPECT_EQ(h.handle(r, src, kNow).status, 401);  // then authentication
  r.headers.emplace_back("Authorization", "Basic dTpw");
  EXPECT_EQ(h.handle(r, src, kNow).status, 501);
  r.peer_address = "10.0.0.1";  // the allowlist comes first
  EXPECT_EQ(h.handle(r, src, kNow).body, "Access is denied");
}

TEST(AccessControl, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("abcd", "abc"));
  EXPECT_FALSE(constant_time_equal("", "a"));
}

TEST(Garbage, BadTargetsAreRejected) {
  for (std::string t : {std::string(""), std::string("primary"), std::string("/\x01"), std::string("/a\0b", 4),
                        std::string("/a b\r\n")}) {
    Request r;
    r.method = "GET";
    r.target = t;
    EXPECT_FALSE(r.parse_target()) << t;
  }
  Request ok;
  ok.target = "http://example.com/replica?lag=1MB#frag";
  ASSERT_TRUE(ok.parse_target());
  EXPECT_EQ(ok.path, "/replica");
  EXPECT_EQ(ok.query_param("lag"), "1MB");
}

TEST(Garbage, LenientQueryStrings) {
  TestSource src;
  src.snap = replica_snapshot();
  for (const char* t : {"/replica?%zz", "/replica?lag=%zz", "/replica?&&&=&=x&x=", "/replica?tag_=a",
                        "/replica?lag=%31%30%30%30", "/replica?%%%%", "/replica?tag_zone=%61"}) {
    Request r;
    r.method = "GET";
    r.target = t;
    ASSERT_TRUE(r.parse_target()) << t;
    Response resp = RequestHandler().handle(r, src, kNow);
    EXPECT_TRUE(resp.status == 200 || resp.status == 503) << t;
  }
  EXPECT_EQ(code(src, "/replica?lag=%31%30%30%30"), 503);  // lag=1000, percent-decoded
  EXPECT_EQ(code(src, "/replica?tag_zone=%61"), 200);
  EXPECT_EQ(code(src, "/replica?tag_=a"), 503);  // tag "" is missing
}

TEST(Garbage, RandomRequestsNeverCrash) {
  TestSource src;
  src.snap = primary_snapshot();
  src.fresh = make_cluster();
  RequestHandler h(settings_with({{"allowlist", {"10.0.0.0/8"}},
                                  {"authentication", {{"username", "u"}, {"password", "p"}}}}));
  std::mt19937 rng(12345);
  const std::vector<std::string> methods = {"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "\xff\x01", ""};
  const std::vector<std::string> seeds = {"/", "/patroni", "/cluster", "/metrics", "/replica?lag=", "/restart",
                                          "/config", "/history", "/failsafe", "/liveness", "/readiness", "/mpp"};
  for (int i = 0; i < 3000; ++i) {
    Request r;
    r.method = methods[rng() % methods.size()];
    std::string t = seeds[rng() % seeds.size()];
    int extra = rng() % 40;
    for (int k = 0; k < extra; ++k) t.push_back(static_cast<char>(rng() % 256));
    r.target = t;
    r.peer_address = (rng() % 2) ? "10.1.1.1" : std::string(1, static_cast<char>(rng() % 256));
    r.headers.emplace_back("Authorization", std::string(rng() % 100, static_cast<char>(rng() % 256)));
    r.body = std::string(rng() % 100, static_cast<char>(rng() % 256));
    if (!r.parse_target()) continue;
    Response resp = h.handle(r, src, kNow);
    EXPECT_GE(resp.status, 200);
    EXPECT_LT(resp.status, 600);
    EXPECT_NO_THROW((void)serialize(resp));
  }
  // Many headers and a huge path are handled (the transport limits their size).
  Request big = make_request("GET", "/replica?" + std::string(100000, 'a'));
  for (int i = 0; i < 10000; ++i) big.headers.emplace_back("X-" + std::to_string(i), std::string(10, 'v'));
  EXPECT_EQ(h.handle(big, src, kNow).status, 503);
}

TEST(Settings, ParsesAllKeys) {
  auto s = RestApiSettings::from_config(json{{"listen", "*:8009"},
                                             {"connect_address", "10.0.0.1:8009"},
                                             {"certfile", "/c.pem"},
                                             {"keyfile", "/k.pem"},
                                             {"keyfile_password", "pw"},
                                             {"cafile", "/ca.pem"},
                                             {"ciphers", "HIGH"},
                                             {"verify_client", "REQUIRED"},
                                             {"http_extra_headers", {{"X-A", "1"}}},
                                             {"https_extra_headers", {{"Strict-Transport-Security", "max-age=1"}}},
                                             {"request_queue_size", "64"},
                                             {"authentication", {{"username", "u"}, {"password", "p"}}},
                                             {"allowlist", {"10.0.0.0/8"}},
                                             {"allowlist_include_members", "true"}});
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->listen_host, "");
  EXPECT_EQ(s->listen_port, 8009);
  EXPECT_EQ(s->listen_text(), "*:8009");
  EXPECT_EQ(s->api_url(), "https://10.0.0.1:8009/patroni");
  EXPECT_EQ(s->verify_client, VerifyClient::kRequired);
  EXPECT_EQ(s->request_queue_size, 64);
  EXPECT_EQ(s->http_extra_headers.at(0), (std::pair<std::string, std::string>{"X-A", "1"}));
  EXPECT_EQ(s->authentication->second, "p");
  EXPECT_TRUE(s->allowlist_include_members);
  EXPECT_TRUE(s->tls());

  auto v6 = RestApiSettings::from_config(json{{"listen", "[::1]:8008"}});
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->listen_host, "::1");
  EXPECT_EQ(v6->api_url(), "http://[::1]:8008/patroni");
  auto empty_host = RestApiSettings::from_config(json{{"listen", ":8008"}});
  ASSERT_TRUE(empty_host);
  EXPECT_EQ(empty_host->listen_host, "");
  EXPECT_EQ(empty_host->request_queue_size, 5);
}

TEST(Settings, ClearErrors) {
  auto err = [](const json& j) {
    auto s = RestApiSettings::from_config(j);
    return s ? std::string("OK") : s.error();
  };
  EXPECT_NE(err(json::object()).find("restapi.listen"), std::string::npos);
  EXPECT_NE(err(nullptr).find("restapi"), std::string::npos);
  EXPECT_NE(err(json{{"listen", "8008"}}).find("host:port"), std::string::npos);
  EXPECT_NE(err(json{{"listen", "h:99999"}}).find("port"), std::string::npos);
  EXPECT_NE(err(json{{"listen", "h:abc"}}).find("port"), std::string::npos);
  EXPECT_NE(err(json{{"listen", "h:1"}, {"connect_address", "*:1"}}).find("connect_address"), std::string::npos);
  EXPECT_NE(err(json{{"listen", "h:1"}, {"verify_client", "maybe"}}).find("verify_client"), std::string::npos);
  EXPECT_NE(err(json{{"listen", "h:1"}, {"verify_client", "required"}}).find("certfile"), std::string::npos);
  EXPECT_NE(err(json{{"listen", "h:1"}, {"request_queue_size", 5000}}).find("request_queue_size"),
            std::string::npos);
  EXPECT_NE(err(json{{"listen", "h:1"}, {"allowlist", "10.0.0.0/8"}}).find("allowlist"), std::string::npos);
  EXPECT_NE(err(json{{"listen", "h:1"}, {"http_extra_headers", {{"Bad Name", "x"}}}}).find("http_extra_headers"),
            std::string::npos);
  EXPECT_NE(err(json{{"listen", "h:1"}, {"http_extra_headers", {{"X", "a\r\nInjected: 1"}}}}).find("invalid header"),
            std::string::npos);
  EXPECT_NE(err(json{{"listen", "h:1"}, {"authentication", {{"username", "u"}}}}).find("password"),
            std::string::npos);
  EXPECT_NE(err(json{{"listen", "h:1"}, {"certfile", json::array()}}).find("certfile"), std::string::npos);
}

}  // namespace
}  // namespace custos::api::test

namespace custos::api::test {
namespace {

TEST(Routing, OnlySlowEndpointsGoToTheBlockingPool) {
  for (const char* t : {"/", "/primary", "/replica?lag=1MB", "/liveness", "/readiness", "/failsafe", "/health"}) {
    EXPECT_FALSE(may_block(make_request("GET", t))) << t;
    EXPECT_FALSE(may_block(make_request("HEAD", t))) << t;
  }
  EXPECT_FALSE(may_block(make_request("HEAD", "/patroni")));
  EXPECT_FALSE(may_block(make_request("OPTIONS", "/cluster")));
  EXPECT_FALSE(may_block(make_request("BREW", "/pot")));
  for (const char* t : {"/patroni", "/cluster", "/metrics", "/config", "/history"})
    EXPECT_TRUE(may_block(make_request("GET", t))) << t;
  EXPECT_TRUE(may_block(make_request("POST", "/switchover")));
  EXPECT_TRUE(may_block(make_request("PATCH", "/config")));
}

}  // namespace
}  // namespace custos::api::test

namespace custos::api::test {
namespace {

TEST(Garbage, InvalidUtf8InStateIsReplacedNotThrown) {
  TestSource src;
  src.snap = replica_snapshot();
  src.snap.tags["zone"] = std::string("\xff\xfe");
  src.snap.name = std::string("n\xc3");
  Response r = run(src, "GET", "/patroni");
  EXPECT_EQ(r.status, 200);
  json parsed;
  EXPECT_NO_THROW(parsed = json::parse(r.body));
  EXPECT_EQ(code(src, "/replica?tag_zone=%ff%fe"), 200);  // raw bytes still compare
  EXPECT_EQ(run(src, "GET", "/metrics").status, 200);
}

TEST(OtherEndpoints, ConfigWithoutModifyVersionIs502) {
  TestSource src;
  src.snap = replica_snapshot();
  dcs::RawNode n = node("config", R"({"ttl":30})");
  n.modify_version = 0;
  src.snap.cluster = std::make_shared<const dcs::Cluster>(dcs::Cluster::from_nodes({n}));
  EXPECT_EQ(run(src, "GET", "/config").status, 502);
}

}  // namespace
}  // namespace custos::api::test
