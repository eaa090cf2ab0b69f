// Debian's HAProxy in front of a live three-node custos cluster, configured as Patroni's
// documentation configures it (an `option httpchk OPTIONS /primary` listener for writes, one on
// /replica for reads, `on-marked-down shutdown-sessions`), the checks over https with a client
// certificate. A client writes through HAProxy every 20 ms through a switchover and a failover
// (kill -9 of the primary's agent and postmaster): every write that succeeds lands on the node
// that is the primary at that moment, the reads port only ever reaches replicas, and the error
// window of each event is measured and printed.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "child_process.h"
#include "cluster_fixture.h"
#include "postgres/pg_connection.h"

namespace custos::e2e {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// One write attempt: when it ended, and which server port took it (0: it failed).
struct Attempt {
  SteadyClock::time_point at;
  int server_port = 0;
  bool in_recovery = false;
  std::string error;
};

// Writes through `conninfo` every 20 ms on one connection (re-made after an error), recording
// every attempt. Its own thread; attempts() may be read at any time.
class RecordingWriter {
 public:
  explicit RecordingWriter(std::string conninfo) : conninfo_(std::move(conninfo)) {
    thread_ = std::thread([this] { run(); });
  }
  ~RecordingWriter() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Attempt> attempts() {
    std::lock_guard l(mu_);
    return attempts_;
  }

 private:
  void run() {
    postgres::ConnectionOptions o;
    o.connect_timeout = 2s;
    o.query_timeout = 5s;
    for (int64_t id = 1; !stop_; ++id) {
      postgres::PgConnection conn(conninfo_, o);
      while (!stop_) {
        auto r = conn.query(
            "INSERT INTO ha_writes (id) VALUES ($1) RETURNING pg_catalog.inet_server_port(), "
            "pg_catalog.pg_is_in_recovery()",
            {std::to_string(id++)});
        Attempt a;
        a.at = SteadyClock::now();
        if (r && !r->rows.empty() && r->rows[0].size() == 2) {
          a.server_port = std::stoi(r->rows[0][0].value_or("0"));
          a.in_recovery = r->rows[0][1].value_or("") == "t";
        } else {
          a.error = r ? std::string("no row") : r.error().message;
        }
        {
          std::lock_guard l(mu_);
          attempts_.push_back(a);
        }
        std::this_thread::sleep_for(20ms);
        if (!a.error.empty()) break;  // a new connection through HAProxy
      }
    }
  }
  std::string conninfo_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Attempt> attempts_;
  std::thread thread_;
};

// The longest time between two successful writes among the attempts after `from`.
double longest_gap(const std::vector<Attempt>& attempts, SteadyClock::time_point from) {
  std::optional<SteadyClock::time_point> last_ok;
  double longest = 0;
  for (const auto& a : attempts) {
    if (a.at < from || a.server_port == 0) continue;
    if (last_ok) longest = std::max(longest, std::chrono::duration<double>(a.at - *last_ok).count());
    last_ok = a.at;
  }
  return longest;
}

std::string with_port(std::string conninfo, int from, int to) {
  const std::string needle = "port=" + std::to_string(from);
  auto pos = conninfo.find(needle);
  if (pos != std::string::npos) conninfo.replace(pos, needle.size(), "port=" + std::to_string(to));
  return conninfo;
}

class HaproxyE2E : public ClusterFixture {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.scope = "hap";
    o.tls = true;
    make_cluster(o);
  }
};

TEST_F(HaproxyE2E, RoutesWritesToThePrimaryThroughSwitchoverAndFailover) {
  const std::string haproxy = "/usr/sbin/haproxy";
  if (!std::filesystem::exists(haproxy)) GTEST_SKIP() << "haproxy not installed (scripts/install-deps.sh)";
  c().start_all();
  int p = c().wait_for_primary(150s);
  c().wait_for_streaming(p, others(p), 150s);
  ASSERT_TRUE(c().sql(p, "CREATE TABLE ha_writes (id bigint PRIMARY KEY)").ok);

  // Patroni's documented HAProxy configuration, the health checks over https with the test's
  // client certificate (HAProxy wants certificate and key in one file).
  const std::string dir = c().dir() + "/haproxy";
  std::filesystem::create_directories(dir);
  const std::string pem = dir + "/client.pem";
  {
    std::ofstream out(pem);
    out << std::ifstream(c().ctl_cert().cert_file).rdbuf() << std::ifstream(c().ctl_cert().key_file).rdbuf();
  }
  const int write_port = test::free_port(), read_port = test::free_port();
  {
    std::ofstream y(dir + "/haproxy.cfg");
    y << "global\n  maxconn 100\n\ndefaults\n  mode tcp\n  retries 2\n  timeout client 30m\n"
         "  timeout connect 4s\n  timeout server 30m\n  timeout check 2s\n\n";
    for (const auto& [name, port, check] : {std::tuple{"primary", write_port, "/primary"},
                                            std::tuple{"replicas", read_port, "/replica"}}) {
      y << "listen " << name << "\n  bind 127.0.0.1:" << port << "\n  option httpchk OPTIONS " << check
        << "\n  http-check expect status 200\n"
        << "  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions\n";
      for (int i = 0; i < c().size(); ++i)
        y << "  server " << c().name(i) << " 127.0.0.1:" << c().node(i).pg_port << " maxconn 100 check port "
          << c().node(i).api_port << " check-ssl verify required ca-file " << c().ca_file() << " crt " << pem << "\n";
      y << "\n";
    }
  }
  auto valid = test::run_command({haproxy, "-c", "-f", dir + "/haproxy.cfg"}, 20s);
  ASSERT_EQ(valid.exit_code, 0) << valid.output;
  test::SpawnOptions so;
  so.argv = {haproxy, "-db", "-f", dir + "/haproxy.cfg"};
  so.output_file = dir + "/haproxy.log";
  test::ChildProcess proxy(so);

  const std::string through_writes = with_port(c().conninfo(p), c().node(p).pg_port, write_port);
  const std::string through_reads = with_port(c().conninfo(p), c().node(p).pg_port, read_port);
  // Writes flow, to the primary.
  RecordingWriter writer(through_writes);
  eventually([&] {
    auto a = writer.attempts();
    return a.size() > 20 && a.back().server_port == c().node(p).pg_port;
  }, 30s);
  // Reads reach replicas only.
  for (int k = 0; k < 6; ++k) {
    postgres::PgConnection reader(through_reads);
    auto r = reader.query("SELECT pg_catalog.pg_is_in_recovery()");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->rows.at(0).at(0).value_or(""), "t") << "the /replica listener reached the primary";
  }

  // Switchover.
  const int q = others(p).front();
  const auto switch_at = SteadyClock::now();
  auto r = c().rest(p, "POST", "/switchover", nlohmann::json{{"leader", c().name(p)}, {"candidate", c().name(q)}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(c().wait_for_primary(60s), q);
  eventually([&] { return writer.attempts().back().server_port == c().node(q).pg_port; }, 30s);
  std::this_thread::sleep_for(1s);
  const double switchover_window = longest_gap(writer.attempts(), switch_at);
  report("HAProxy write outage during a switchover", switchover_window);

  // Failover: the primary's machine dies.
  c().wait_for_streaming(q, others(q), 60s);
  const auto fail_at = SteadyClock::now();
  c().kill_node(q);
  const int w = c().wait_for_primary(90s);
  ASSERT_NE(w, q);
  eventually([&] { return writer.attempts().back().server_port == c().node(w).pg_port; }, 60s);
  std::this_thread::sleep_for(1s);
  writer.stop();
  const double failover_window = longest_gap(writer.attempts(), fail_at);
  report("HAProxy write outage during a failover (kill -9 of agent and postmaster)", failover_window);

  // Every write that succeeded was taken by a primary: never a replica, and before the
  // switchover by p, between the two events by p or q, after by q or w.
  const auto attempts = writer.attempts();
  int ok = 0;
  for (const auto& a : attempts) {
    if (a.server_port == 0) continue;
    ++ok;
    EXPECT_FALSE(a.in_recovery) << "a write landed on a replica";
    const int by = a.server_port;
    if (a.at < switch_at) EXPECT_EQ(by, c().node(p).pg_port);
    else if (a.at < fail_at) EXPECT_TRUE(by == c().node(p).pg_port || by == c().node(q).pg_port);
    else EXPECT_TRUE(by == c().node(q).pg_port || by == c().node(w).pg_port);
  }
  EXPECT_GT(ok, 100);
  // The windows: a switchover costs a few seconds (the old primary's shutdown, HAProxy's two
  // failed checks at 500 ms); a failover waits for the lease (ttl 20) and the new primary.
  EXPECT_LT(switchover_window, 15.0);
  EXPECT_LT(failover_window, 40.0);
  proxy.stop();
}

}  // namespace
}  // namespace custos::e2e
