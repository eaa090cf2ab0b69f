// A real Prometheus (Debian's) scrapes the /metrics of a live three-node custos cluster with TLS
// everywhere (REST on https with client certificates required): every target is up, every family
// Patroni 4.1 exports and every family of custos's own is stored, with the values the cluster
// shows (one primary, two replicas, DCS requests measured, HA cycles counted), and promtool
// finds nothing to complain about in any node's exposition text.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cluster_fixture.h"
#include "net/http_client.h"
#include "child_process.h"

namespace custos::e2e {
namespace {

using namespace std::chrono_literals;

const char* const kPatroni41Families[] = {
    "patroni_version", "patroni_postgres_running", "patroni_postmaster_start_time", "patroni_primary",
    "patroni_xlog_location", "patroni_standby_leader", "patroni_replica", "patroni_sync_standby",
    "patroni_quorum_standby", "patroni_xlog_received_location", "patroni_xlog_replayed_location",
    "patroni_xlog_replayed_timestamp", "patroni_xlog_paused", "patroni_postgres_streaming",
    "patroni_postgres_in_archive_recovery", "patroni_postgres_server_version", "patroni_cluster_unlocked",
    "patroni_failsafe_mode_is_active", "patroni_postgres_timeline", "patroni_dcs_last_seen",
    "patroni_pending_restart", "patroni_is_paused", "patroni_postgres_state"};

const char* const kCustosFamilies[] = {
    "custos_leader_lease_remaining_seconds", "custos_lease_fence_armed", "custos_lease_fence_remaining_seconds",
    "custos_watchdog_running", "custos_watchdog_failed", "custos_failsafe_mode_enabled",
    "custos_member_replication_lag_bytes", "custos_ha_cycle_duration_seconds_bucket",
    "custos_ha_cycle_duration_seconds_count", "custos_dcs_request_duration_seconds_bucket",
    "custos_last_decision", "custos_leader_lock_refreshes_total"};

class PrometheusE2E : public ClusterFixture {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.scope = "prom";
    o.tls = true;
    o.compat = "4.1";  // the 4.1 families (patroni_postgres_state) on every node
    make_cluster(o);
  }
};

std::string which(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
    const std::string p = std::string(dir) + "/" + name;
    if (std::filesystem::exists(p)) return p;
  }
  return "";
}

TEST_F(PrometheusE2E, ScrapesEveryFamilyOfALiveClusterAndPromtoolIsClean) {
  const std::string prometheus = which("prometheus"), promtool = which("promtool");
  if (prometheus.empty() || promtool.empty()) GTEST_SKIP() << "prometheus/promtool not installed (scripts/install-deps.sh)";
  c().start_all();
  const int p = c().wait_for_primary(150s);
  c().wait_for_streaming(p, others(p), 150s);

  // promtool on every node's exposition text.
  for (int i = 0; i < c().size(); ++i) {
    auto r = c().rest(i, "GET", "/metrics");
    ASSERT_EQ(r.status, 200) << c().name(i);
    const std::string file = c().dir() + "/metrics-" + c().name(i) + ".txt";
    std::ofstream(file) << r.body;
    auto check = test::run_command({"sh", "-c", promtool + " check metrics < '" + file + "'"}, 30s);
    // Exit 1 would be a text Prometheus cannot parse; 3 is lint only. Its one lint finding is
    // the name of Patroni's four counters without "_total", which drop-in keeps
    // (docs/compatibility.md); anything else (custos's own families included) fails.
    EXPECT_TRUE(check.exit_code == 0 || check.exit_code == 3) << c().name(i) << ": " << check.output;
    std::istringstream lines(check.output);
    for (std::string line; std::getline(lines, line);) {
      static const std::set<std::string> kPatroniNames = {
          "patroni_postgres_timeline counter metrics should have \"_total\" suffix",
          "patroni_xlog_location counter metrics should have \"_total\" suffix",
          "patroni_xlog_received_location counter metrics should have \"_total\" suffix",
          "patroni_xlog_replayed_location counter metrics should have \"_total\" suffix"};
      EXPECT_TRUE(kPatroniNames.count(line)) << c().name(i) << ": promtool complains: " << line;
    }
  }

  // A real Prometheus scrapes all three over https with the test's client certificate.
  const int port = test::free_port();
  const std::string dir = c().dir() + "/prometheus";
  std::filesystem::create_directories(dir + "/data");
  {
    std::ofstream y(dir + "/prometheus.yml");
    y << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
      << "  - job_name: custos\n    scheme: https\n    tls_config:\n"
      << "      ca_file: " << c().ca_file() << "\n      cert_file: " << c().ctl_cert().cert_file
      << "\n      key_file: " << c().ctl_cert().key_file << "\n    static_configs:\n      - targets:\n";
    for (int i = 0; i < c().size(); ++i) y << "          - 127.0.0.1:" << c().node(i).api_port << "\n";
  }
  test::SpawnOptions so;
  so.argv = {prometheus, "--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir + "/data",
             "--web.listen-address=127.0.0.1:" + std::to_string(port)};
  so.output_file = dir + "/prometheus.log";
  test::ChildProcess server(so);
  net::HttpClient http;
  auto query = [&](const std::string& promql) -> nlohmann::json {
    net::HttpRequest req;
    std::string encoded;
    for (unsigned char ch : promql) {
      if (std::isalnum(ch) || ch == '_' || ch == '.' || ch == '-') encoded += static_cast<char>(ch);
      else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", ch);
        encoded += buf;
      }
    }
    req.url = "http://127.0.0.1:" + std::to_string(port) + "/api/v1/query?query=" + encoded;
    auto r = http.request(req, 5s);
    if (!r || r->status != 200) return nlohmann::json();
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    return j.is_object() && j.value("status", "") == "success" ? j["data"]["result"] : nlohmann::json();
  };
  // Every target up.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  nlohmann::json up;
  while (std::chrono::steady_clock::now() < deadline) {
    up = query("sum(up{job=\"custos\"})");
    if (up.is_array() && up.size() == 1 && up[0]["value"][1] == "3") break;
    std::this_thread::sleep_for(500ms);
  }
  ASSERT_TRUE(up.is_array() && up.size() == 1 && up[0]["value"][1] == "3")
      << "not all three targets are up: " << up.dump() << "\n"
      << test::run_command({"tail", "-n", "30", dir + "/prometheus.log"}).output;
  // Every family stored.
  auto names = query("count by (__name__) ({job=\"custos\"})");
  ASSERT_TRUE(names.is_array()) << names.dump();
  std::set<std::string> stored;
  for (const auto& r : names) stored.insert(r["metric"]["__name__"].get<std::string>());
  for (const char* f : kPatroni41Families) EXPECT_TRUE(stored.count(f)) << "Prometheus has no " << f;
  for (const char* f : kCustosFamilies) EXPECT_TRUE(stored.count(f)) << "Prometheus has no " << f;
  EXPECT_FALSE(stored.count("patroni_master")) << "4.1 dropped patroni_master";
  // The values say what the cluster is: one primary (the right one), two streaming replicas.
  auto primary = query("patroni_primary == 1");
  ASSERT_TRUE(primary.is_array() && primary.size() == 1) << primary.dump();
  EXPECT_EQ(primary[0]["metric"]["name"], c().name(p));
  EXPECT_EQ(query("sum(patroni_replica)")[0]["value"][1], "2");
  EXPECT_EQ(query("sum(patroni_postgres_streaming)")[0]["value"][1], "2");
  EXPECT_EQ(query("count(patroni_postgres_state == 5)")[0]["value"][1], "3");  // all running
  // The leader sees both replicas' lag; DCS requests and HA cycles were measured.
  EXPECT_EQ(query("count(custos_member_replication_lag_bytes)")[0]["value"][1], "2");
  auto refreshes = query("sum(custos_leader_lock_refreshes_total{result=\"ok\"})");
  ASSERT_TRUE(refreshes.is_array() && !refreshes.empty()) << refreshes.dump();
  EXPECT_GT(std::stod(refreshes[0]["value"][1].get<std::string>()), 0);
  auto touches = query("sum(custos_dcs_request_duration_seconds_count{operation=\"touch_member\"})");
  ASSERT_TRUE(touches.is_array() && !touches.empty()) << touches.dump();
  EXPECT_GE(std::stod(touches[0]["value"][1].get<std::string>()), 3);
  auto cycles = query("min(custos_ha_cycle_duration_seconds_count)");
  ASSERT_TRUE(cycles.is_array() && !cycles.empty()) << cycles.dump();
  EXPECT_GE(std::stod(cycles[0]["value"][1].get<std::string>()), 1);
  // The replicas' leader race: none while a leader holds the lock, their last decision is to follow.
  auto follow = query("count(custos_last_decision{action=\"follow\"})");
  ASSERT_TRUE(follow.is_array() && !follow.empty()) << follow.dump();
  EXPECT_EQ(follow[0]["value"][1], "2");
  server.stop();
}

}  // namespace
}  // namespace custos::e2e
