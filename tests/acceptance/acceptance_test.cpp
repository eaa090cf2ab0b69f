// Acceptance suite: an operator's runbook against one three-node custos cluster with TLS
// everywhere and basic authentication on the REST API's unsafe endpoints, driven only with the
// clients an operator uses on a Patroni cluster: Debian's patronictl 3.0.2 (/usr/bin/patronictl,
// with the ctl section TestCluster::write_ctl_config writes: etcd over https with a client
// certificate and a user, the REST API with the ctl certificate and the REST credentials) and
// /usr/bin/curl. What each command claims is checked on the cluster itself (SQL, DCS keys,
// postmaster start times, agent logs).
//
// The steps are TEST_Fs in runbook order. In one process (`test_acceptance`) they share one
// cluster (SetUpTestSuite); ctest runs every step in a process of its own. Either way each step
// first waits for a healthy cluster (one primary, both replicas streaming) and prepares what it
// needs itself, so any step also runs alone: `test_acceptance --gtest_filter='*Step05*'`.
// CUSTOS_KEEP_TEST_DIRS=1 keeps the temp dir (configs, data dirs, agent logs).
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "child_process.h"
#include "test_cluster.h"

namespace custos::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using WallClock = std::chrono::system_clock;

constexpr const char* kPatronictl = "/usr/bin/patronictl";
constexpr const char* kCurl = "/usr/bin/curl";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// "2026-12-03T11:30:05+00:00": a whole second in UTC, as an operator types it.
std::string iso_utc(WallClock::time_point t) {
  const std::time_t tt = WallClock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return buf;
}

// A whole second at least `ahead` from now (rounded up, so never earlier than now + ahead).
WallClock::time_point whole_second_ahead(std::chrono::seconds ahead) {
  auto t = std::chrono::time_point_cast<std::chrono::seconds>(WallClock::now() + ahead) + 1s;
  return WallClock::time_point(t);
}

double epoch_seconds(WallClock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// The reply curl printed with -i: the status and headers of the final response, and the body.
struct CurlReply {
  int exit_code = -1;
  int status = 0;
  std::string headers;  // raw header block of the final response
  std::string body;
  std::string output;  // everything curl printed
  std::string header(const std::string& name) const {
    std::istringstream in(headers);
    std::string line;
    const std::string want = lower(name) + ":";
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (lower(line).rfind(want, 0) == 0) {
        std::string v = line.substr(want.size());
        while (!v.empty() && v.front() == ' ') v.erase(v.begin());
        return v;
      }
    }
    return "";
  }
};

CurlReply parse_curl(const test::RunResult& r) {
  CurlReply out;
  out.exit_code = r.exit_code;
  out.output = r.output;
  std::size_t pos = r.output.find("HTTP/");
  // Skip interim responses (100 Continue) until the final one.
  while (pos != std::string::npos) {
    std::size_t end = r.output.find("\r\n\r\n", pos);
    if (end == std::string::npos) break;
    std::string block = r.output.substr(pos, end - pos);
    std::size_t sp = block.find(' ');
    int status = sp == std::string::npos ? 0 : std::atoi(block.c_str() + sp + 1);
    std::size_t next = end + 4;
    if (status >= 100 && status < 200 && r.output.compare(next, 5, "HTTP/") == 0) {
      pos = next;
      continue;
    }
    out.status = status;
    out.headers = block;
    out.body = r.output.substr(next);
    break;
  }
  return out;
}

class Acceptance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setup_error_ = new std::string();
    for (const char* f : {kPatronictl, kCurl}) {
      if (::access(f, X_OK) != 0) {
        *setup_error_ = std::string(f) + " is missing (scripts/install-deps.sh installs it)";
        return;
      }
    }
    try {
      ClusterOptions o;
      o.nodes = 3;
      o.scope = "acceptance";
      o.tls = true;
      o.rest_user = "operator";
      o.rest_password = "runbook-pw";
      cluster_ = new TestCluster(o);
      ctl_config_ = new std::string(cluster_->dir() + "/patronictl.yml");
      cluster_->write_ctl_config(*ctl_config_);
      // patronictl 3.0.2 takes the REST credentials from ctl.auth or restapi.authentication (the
      // ctl.authentication section write_ctl_config writes came with later Patroni releases).
      {
        std::ofstream out(*ctl_config_, std::ios::app);
        out << "restapi:\n  authentication:\n    username: " << o.rest_user << "\n    password: " << o.rest_password
            << "\n";
        if (!out) throw std::runtime_error("cannot append to " + *ctl_config_);
      }
      const auto t0 = Clock::now();
      cluster_->start_all();
      const int p = cluster_->wait_for_primary(180s);
      std::vector<int> replicas;
      for (int j = 0; j < cluster_->size(); ++j)
        if (j != p) replicas.push_back(j);
      cluster_->wait_for_streaming(p, replicas, 180s);
      std::printf("[  RUNBOOK ] cluster of %d TLS nodes up in %.1f s (primary %s)\n", cluster_->size(),
                  seconds_since(t0), cluster_->name(p).c_str());
    } catch (const std::exception& e) {
      *setup_error_ = std::string("cluster did not come up: ") + e.what();
      if (cluster_) *setup_error_ += "\n" + cluster_->logs(80);
    }
  }

  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    delete ctl_config_;
    ctl_config_ = nullptr;
    delete setup_error_;
    setup_error_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(setup_error_ && setup_error_->empty()) << (setup_error_ ? *setup_error_ : "no set-up");
    ASSERT_NE(cluster_, nullptr);
  }

  void TearDown() override {
    if (!cluster_) return;
    c().check_no_agent_died();
    if (HasFailure())
      std::printf("===== cluster state at the end of the failed step =====\n%s%s\n", c().describe().c_str(),
                  c().logs().c_str());
    std::fflush(stdout);
  }

  static TestCluster& c() { return *cluster_; }
  static const std::string& scope() { return cluster_->options().scope; }

  std::vector<int> others(int i) const {
    std::vector<int> v;
    for (int j = 0; j < cluster_->size(); ++j)
      if (j != i) v.push_back(j);
    return v;
  }

  // Every step starts here: one primary, every other node streaming from it. Returns the primary.
  int healthy(std::chrono::milliseconds timeout = 150s) {
    const int p = c().wait_for_primary(timeout);
    c().wait_for_streaming(p, others(p), timeout);
    return p;
  }

  // patronictl -c <ctl config> args... (stdout and stderr together), echoed into the test output.
  test::RunResult patronictl(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 120s) {
    std::vector<std::string> argv = {kPatronictl, "-c", *ctl_config_};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = test::run_command(argv, timeout,
                               {{"PYTHONNOUSERSITE", "1"}, {"PYTHONDONTWRITEBYTECODE", "1"}, {"LC_ALL", "C.UTF-8"}});
    std::printf("[  RUNBOOK ] $ patronictl");
    for (const auto& a : args) std::printf(" %s", a.c_str());
    std::printf("   -> exit %d\n%s\n", r.exit_code, r.output.c_str());
    std::fflush(stdout);
    return r;
  }

  // `patronictl list -f json`, parsed; an array of member objects (empty on any failure).
  json patronictl_list_json() {
    auto r = patronictl({"list", "-f", "json"});
    if (r.exit_code != 0) return json::array();
    std::size_t start = r.output.rfind('[', 0) == 0 ? 0 : r.output.find("\n[");
    if (start == std::string::npos) return json::array();
    auto j = json::parse(r.output.substr(start), nullptr, false);
    return j.is_array() ? j : json::array();
  }

  // curl against node i's REST API over https with the ctl client certificate; `auth` adds
  // -u user:password (the unsafe endpoints demand it).
  CurlReply curl(int i, const std::string& method, const std::string& path, const std::string& body = "",
                 bool auth = false, bool client_cert = true) {
    std::vector<std::string> argv = {kCurl, "-sS", "-i", "--max-time", "90", "--cacert", c().ca_file()};
    if (client_cert) {
      argv.insert(argv.end(), {"--cert", c().ctl_cert().cert_file, "--key", c().ctl_cert().key_file});
    }
    if (auth) argv.insert(argv.end(), {"-u", c().options().rest_user + ":" + c().options().rest_password});
    argv.insert(argv.end(), {"-X", method});
    if (!body.empty()) argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", body});
    argv.push_back(c().rest_base(i) + path);
    auto out = parse_curl(test::run_command(argv, 100s));
    std::printf("[  RUNBOOK ] $ curl%s -X %s %s%s%s   -> exit %d, HTTP %d\n%s\n", auth ? " -u operator:***" : "",
                method.c_str(), c().rest_base(i).c_str(), path.c_str(), body.empty() ? "" : (" -d '" + body + "'").c_str(),
                out.exit_code, out.status, out.output.substr(0, 1500).c_str());
    std::fflush(stdout);
    return out;
  }

  json curl_json(int i, const std::string& path) {
    auto r = curl(i, "GET", path);
    if (r.status != 200) return json::object();
    auto j = json::parse(r.body, nullptr, false);
    return j.is_discarded() ? json::object() : j;
  }

  void ensure_table(int p) {
    auto r = c().sql(p, "CREATE TABLE IF NOT EXISTS runbook_rows (id bigint PRIMARY KEY, note text)");
    if (!r.ok) throw std::runtime_error("CREATE TABLE on " + c().name(p) + ": " + r.error);
  }

  void insert_rows(int p, int64_t lo, int64_t hi) {
    ensure_table(p);
    auto r = c().sql(p,
                     "INSERT INTO runbook_rows SELECT g, 'row ' || g FROM generate_series($1::bigint, $2::bigint) g "
                     "ON CONFLICT (id) DO NOTHING",
                     {std::to_string(lo), std::to_string(hi)});
    if (!r.ok) throw std::runtime_error("insert on " + c().name(p) + ": " + r.error);
  }

  // Until `SELECT count(*) FROM runbook_rows WHERE id BETWEEN lo AND hi` on node i is hi-lo+1.
  bool rows_arrive(int i, int64_t lo, int64_t hi, std::chrono::milliseconds timeout = 30s) {
    const std::string want = std::to_string(hi - lo + 1);
    return eventually([&] {
      auto r = c().sql(i, "SELECT count(*) FROM runbook_rows WHERE id BETWEEN $1 AND $2",
                       {std::to_string(lo), std::to_string(hi)}, 3000ms);
      return r.ok && !r.rows.empty() && r.rows[0][0] && *r.rows[0][0] == want;
    }, timeout);
  }

  std::optional<double> postmaster_start_epoch(int i) {
    auto v = c().sql_value(i, "SELECT extract(epoch FROM pg_postmaster_start_time())::float8");
    if (!v) return std::nullopt;
    return std::stod(*v);
  }

  // A replica's State in `patronictl list`: patronictl 3.0.2 prints the member key's `state`
  // ("running"); later releases print the replication state ("streaming"). That it streams is
  // checked on GET /cluster and pg_stat_replication.
  static bool replica_state_ok(const std::string& state) { return state == "running" || state == "streaming"; }

  // Every member's state in GET /cluster of node i ("streaming" for a streaming replica).
  std::map<std::string, std::string> cluster_states(int i) {
    std::map<std::string, std::string> out;
    auto j = curl_json(i, "/cluster");
    if (j.contains("members") && j["members"].is_array())
      for (const auto& m : j["members"])
        if (m.is_object()) out[m.value("name", "")] = m.value("role", "") + "/" + m.value("state", "");
    return out;
  }

  // What node i's agent wrote to its log since `offset` (bytes).
  static std::string log_since(int i, std::size_t offset) {
    const std::string all = read_file(c().node(i).log_file);
    return offset < all.size() ? all.substr(offset) : std::string();
  }

  // The member's row in `patronictl list -f json`, or an empty object.
  static json member_row(const json& list, const std::string& name) {
    for (const auto& m : list)
      if (m.is_object() && m.value("Member", "") == name) return m;
    return json::object();
  }

  static TestCluster* cluster_;
  static std::string* ctl_config_;
  static std::string* setup_error_;
};

TestCluster* Acceptance::cluster_ = nullptr;
std::string* Acceptance::ctl_config_ = nullptr;
std::string* Acceptance::setup_error_ = nullptr;

// 1. The cluster bootstrapped: patronictl (etcd over https, authenticated) lists three members,
// one Leader and two streaming Replicas; replication runs over TLS; the REST API answers only
// clients with a certificate.
TEST_F(Acceptance, Step01_BootstrapListsOneLeaderAndTwoStreamingReplicas) {
  const int p = healthy();
  json list;
  ASSERT_TRUE(eventually([&] {
    list = patronictl_list_json();
    int leaders = 0, streaming = 0;
    for (const auto& m : list) {
      if (m.value("Role", "") == "Leader" && m.value("State", "") == "running") ++leaders;
      if (m.value("Role", "") == "Replica" && replica_state_ok(m.value("State", ""))) ++streaming;
    }
    return list.size() == 3u && leaders == 1 && streaming == 2;
  }, 60s)) << "patronictl list -f json: " << list.dump();
  EXPECT_EQ(member_row(list, c().name(p)).value("Role", ""), "Leader") << list.dump();
  for (int r : others(p)) EXPECT_EQ(member_row(list, c().name(r)).value("Role", ""), "Replica") << list.dump();

  // GET /cluster (over https, client certificate): the leader running, both replicas streaming.
  std::map<std::string, std::string> states;
  EXPECT_TRUE(eventually([&] {
    states = cluster_states(others(p)[0]);
    int streaming = 0;
    for (int r : others(p)) streaming += states[c().name(r)] == "replica/streaming";
    return states[c().name(p)] == "leader/running" && streaming == 2;
  }, 30s)) << "GET /cluster: " << json(states).dump();

  auto table = patronictl({"list"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_TRUE(contains(table.output, "Cluster: " + scope())) << table.output;
  for (int i = 0; i < c().size(); ++i) EXPECT_TRUE(contains(table.output, "| " + c().name(i))) << table.output;

  // Both walsenders' connections are encrypted.
  EXPECT_EQ(c().sql_value(p, "SELECT count(*) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE s.ssl")
                .value_or("?"),
            "2");
  // The REST API: https, a client certificate demanded.
  auto with_cert = curl(p, "GET", "/patroni");
  EXPECT_EQ(with_cert.status, 200);
  EXPECT_EQ(curl_json(p, "/patroni").value("role", ""), c().primary_role(p));
  auto without_cert = curl(p, "GET", "/patroni", "", false, /*client_cert=*/false);
  EXPECT_NE(without_cert.status, 200) << "the REST API answered a client without a certificate";
}

// 2. A table created and filled on the primary shows up on both replicas.
TEST_F(Acceptance, Step02_TableCreatedOnThePrimaryIsReplicatedToBothReplicas) {
  const int p = healthy();
  auto r = c().sql(p, "CREATE TABLE IF NOT EXISTS runbook_orders (id bigint PRIMARY KEY, item text NOT NULL)");
  ASSERT_TRUE(r.ok) << r.error;
  r = c().sql(p,
              "INSERT INTO runbook_orders SELECT g, 'item ' || g FROM generate_series(1, 500) g ON CONFLICT DO NOTHING");
  ASSERT_TRUE(r.ok) << r.error;
  for (int rep : others(p)) {
    EXPECT_TRUE(eventually([&] {
      return c().sql_value(rep, "SELECT count(*) || ':' || sum(id) FROM runbook_orders") == std::string("500:125250");
    }, 30s)) << c().name(rep) << " has " << c().sql_value(rep, "SELECT count(*) FROM runbook_orders").value_or("?")
             << " rows";
    auto w = c().sql(rep, "INSERT INTO runbook_orders VALUES (100000, 'must fail')");
    EXPECT_FALSE(w.ok) << c().name(rep) << " (a replica) accepted a write";
  }
}

// 3. Maintenance mode on and off again.
TEST_F(Acceptance, Step03_PauseAndResumeMaintenanceMode) {
  const int p = healthy();
  auto r = patronictl({"pause", "--wait"}, 90s);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "Success: cluster management is paused")) << r.output;
  auto t = patronictl({"list"});
  EXPECT_TRUE(contains(t.output, "Maintenance mode: on")) << t.output;
  for (int i = 0; i < c().size(); ++i) {
    json st;
    EXPECT_TRUE(eventually([&] {
      st = curl_json(i, "/patroni");
      return st.value("pause", false);
    }, 30s)) << c().name(i) << " GET /patroni: " << st.dump();
  }
  // Paused, the cluster keeps its roles.
  EXPECT_EQ(c().leader_name().value_or("(none)"), c().name(p));

  r = patronictl({"resume", "--wait"}, 90s);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "Success: cluster management is resumed")) << r.output;
  t = patronictl({"list"});
  EXPECT_FALSE(contains(t.output, "Maintenance mode")) << t.output;
  for (int i = 0; i < c().size(); ++i) {
    json st;
    EXPECT_TRUE(eventually([&] {
      st = curl_json(i, "/patroni");
      return !st.empty() && !st.value("pause", false);
    }, 30s)) << c().name(i) << " GET /patroni: " << st.dump();
  }
  healthy();
}

// 4. Dynamic configuration through PATCH /config and patronictl edit-config.
TEST_F(Acceptance, Step04_ConfigurationChangesThroughRestAndEditConfig) {
  const int p = healthy();
  const int other = others(p)[0];
  const json original = curl_json(p, "/config");
  ASSERT_TRUE(original.is_object() && original.contains("ttl") && original.contains("loop_wait") &&
              original.contains("retry_timeout"))
      << original.dump();
  const json restore = {{"ttl", original["ttl"]},
                        {"loop_wait", original["loop_wait"]},
                        {"retry_timeout", original["retry_timeout"]},
                        {"maximum_lag_on_failover", original.value("maximum_lag_on_failover", json())},
                        {"postgresql", {{"parameters", {{"work_mem", nullptr}}}}}};
  std::map<int, std::size_t> log_offset;
  for (int i = 0; i < c().size(); ++i) log_offset[i] = read_file(c().node(i).log_file).size();

  // A timing that breaks loop_wait + 2*retry_timeout <= ttl: stored as sent, adjusted by every node.
  auto r = curl(other, "PATCH", "/config", R"({"ttl": 20, "loop_wait": 10, "retry_timeout": 10})", true);
  EXPECT_EQ(r.status, 200) << r.output;
  auto stored = json::parse(r.body, nullptr, false);
  EXPECT_TRUE(stored.is_object() && stored.value("loop_wait", 0) == 10 && stored.value("retry_timeout", 0) == 10)
      << r.body;
  const std::string adjusted =
      "Violated the rule \"loop_wait + 2*retry_timeout <= ttl\", where ttl=20. Adjusting loop_wait from 10 to 1 and "
      "retry_timeout from 10 to 9";
  for (int i = 0; i < c().size(); ++i) {
    EXPECT_TRUE(eventually([&] { return contains(read_file(c().node(i).log_file).substr(log_offset[i]), adjusted); },
                           30s))
        << c().name(i) << "'s log (" << c().node(i).log_file << ") does not say: " << adjusted;
  }
  // Unauthenticated, the unsafe endpoint refuses.
  auto anon = curl(other, "PATCH", "/config", R"({"ttl": 21})", false);
  EXPECT_EQ(anon.status, 401) << anon.output;

  // An unknown key: stored (as Patroni does), with a warning header naming it.
  r = curl(p, "PATCH", "/config", R"({"runbook_unknown_setting": 1})", true);
  EXPECT_EQ(r.status, 200) << r.output;
  EXPECT_TRUE(contains(r.header("X-Custos-Warning"), "runbook_unknown_setting"))
      << "X-Custos-Warning: '" << r.header("X-Custos-Warning") << "'\n" << r.output;
  r = curl(p, "PATCH", "/config", R"({"runbook_unknown_setting": null})", true);
  EXPECT_EQ(r.status, 200) << r.output;
  EXPECT_FALSE(contains(c().get_key("config").value_or(""), "runbook_unknown_setting"));

  // Not a JSON object.
  r = curl(p, "PATCH", "/config", "[1]", true);
  EXPECT_EQ(r.status, 400) << r.output;

  // patronictl edit-config: a PostgreSQL parameter (-p) and a top-level key (-s).
  auto e = patronictl({"edit-config", "--force", "-p", "work_mem=9MB", "-s", "maximum_lag_on_failover=33554432"});
  EXPECT_EQ(e.exit_code, 0);
  auto cfg = json::parse(c().get_key("config").value_or(""), nullptr, false);
  ASSERT_TRUE(cfg.is_object());
  EXPECT_EQ(cfg.value("maximum_lag_on_failover", 0), 33554432) << cfg.dump();
  EXPECT_EQ(cfg["postgresql"]["parameters"].value("work_mem", ""), "9MB") << cfg.dump();
  auto show = patronictl({"show-config"});
  EXPECT_TRUE(contains(show.output, "work_mem: 9MB")) << show.output;
  for (int i = 0; i < c().size(); ++i) {
    EXPECT_TRUE(eventually([&] { return c().sql_value(i, "SHOW work_mem") == std::string("9MB"); }, 40s))
        << c().name(i) << ": SHOW work_mem = " << c().sql_value(i, "SHOW work_mem").value_or("?");
  }
  // work_mem is reloadable: after the reload nothing waits for a restart (as with Patroni, whose
  // postgresql.conf carries every parameter, the command-line ones too).
  std::this_thread::sleep_for(3s);
  for (int i = 0; i < c().size(); ++i) {
    auto pending = c().sql_value(i, "SELECT string_agg(name, ',') FROM pg_settings WHERE pending_restart");
    EXPECT_FALSE(pending.has_value()) << c().name(i) << ": pg_settings.pending_restart for " << pending.value_or("")
                                      << " after a reload for work_mem";
    EXPECT_FALSE(curl_json(i, "/patroni").value("pending_restart", false))
        << c().name(i) << " reports pending_restart after a reloadable change";
  }
  auto pending_list = patronictl({"list"});
  EXPECT_FALSE(contains(pending_list.output, "Pending restart")) << pending_list.output;

  // Back to the original timing and settings.
  r = curl(p, "PATCH", "/config", restore.dump(), true);
  EXPECT_EQ(r.status, 200) << r.output;
  for (int i = 0; i < c().size(); ++i) {
    json now;
    EXPECT_TRUE(eventually([&] {
      now = curl_json(i, "/config");
      return now.value("ttl", json()) == original["ttl"] && now.value("loop_wait", json()) == original["loop_wait"] &&
             now.value("retry_timeout", json()) == original["retry_timeout"];
    }, 30s)) << c().name(i) << " GET /config: " << now.dump();
    EXPECT_TRUE(eventually([&] { return c().sql_value(i, "SHOW work_mem") == std::string("4MB"); }, 40s))
        << c().name(i) << ": SHOW work_mem = " << c().sql_value(i, "SHOW work_mem").value_or("?");
  }
  healthy();
}

// 5. Planned switchover to a named candidate.
TEST_F(Acceptance, Step05_SwitchoverToANamedCandidate) {
  const int p = healthy();
  const int cand = others(p)[0];
  insert_rows(p, 5001, 5100);
  const std::size_t p_log = read_file(c().node(p).log_file).size();
  const std::size_t cand_log = read_file(c().node(cand).log_file).size();
  auto r = patronictl({"switchover", "--leader", c().name(p), "--candidate", c().name(cand), "--force"}, 120s);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(contains(lower(r.output), "failed")) << r.output;
  EXPECT_FALSE(contains(r.output, "falling back to DCS")) << "patronictl could not reach the leader's REST API\n"
                                                          << r.output;
  EXPECT_EQ(c().wait_for_primary(90s), cand);
  c().wait_for_streaming(cand, others(cand), 150s);
  EXPECT_TRUE(rows_arrive(cand, 5001, 5100));
  auto list = patronictl_list_json();
  EXPECT_EQ(member_row(list, c().name(cand)).value("Role", ""), "Leader") << list.dump();
  EXPECT_EQ(member_row(list, c().name(p)).value("Role", ""), "Replica") << list.dump();
  // The lines operators grep for, in Patroni's words, in the agents' own log files.
  const std::string old_leader = log_since(p, p_log);
  for (const char* line : {"INFO: switchover: demoting myself", "INFO: Demoting self (graceful)",
                           "INFO: Leader key released"})
    EXPECT_TRUE(contains(old_leader, line)) << c().name(p) << "'s log does not say: " << line;
  const std::string new_leader = log_since(cand, cand_log);
  for (const std::string& line : {std::string("INFO: Got response from ") + c().name(p) + " ",
                                 std::string("INFO: promoted self to leader by acquiring session lock")})
    EXPECT_TRUE(contains(new_leader, line)) << c().name(cand) << "'s log does not say: " << line;
}

// 6. Unplanned failover: the primary's machine dies (kill -9 of agent and postmaster); another
// node takes over without losing committed rows; the old node, started again, rejoins as replica.
TEST_F(Acceptance, Step06_FailoverAfterThePrimaryDiesAndTheOldPrimaryRejoins) {
  const int p = healthy();
  insert_rows(p, 6001, 6100);
  for (int r : others(p)) ASSERT_TRUE(rows_arrive(r, 6001, 6100)) << c().name(r);
  const auto t0 = Clock::now();
  c().kill_node(p);
  int np = -1;
  ASSERT_TRUE(eventually([&] {
    auto l = c().leader_name();
    return l && *l != c().name(p);
  }, 90s)) << "no new leader after the kill of " << c().name(p) << "\n" << c().describe();
  np = c().wait_for_primary(60s);
  EXPECT_NE(np, p);
  std::printf("[  RUNBOOK ] failover: %s primary %.1f s after the kill of %s\n", c().name(np).c_str(),
              seconds_since(t0), c().name(p).c_str());
  EXPECT_TRUE(rows_arrive(np, 6001, 6100, 10s)) << "committed rows lost in the failover";
  insert_rows(np, 6101, 6200);

  c().start_agent(p);
  c().wait_for_streaming(np, others(np), 180s);
  EXPECT_TRUE(rows_arrive(p, 6101, 6200)) << c().name(p) << " does not follow the new primary";
  EXPECT_EQ(c().is_primary_sql(p), std::optional<bool>(false));
  json list;
  EXPECT_TRUE(eventually([&] {
    list = patronictl_list_json();
    return member_row(list, c().name(p)).value("Role", "") == "Replica" &&
           replica_state_ok(member_row(list, c().name(p)).value("State", "")) &&
           member_row(list, c().name(np)).value("Role", "") == "Leader";
  }, 60s)) << list.dump();
  EXPECT_EQ(cluster_states(np)[c().name(p)], "replica/streaming");
}

// 7. A switchover and a restart, each scheduled a few seconds ahead: neither happens before its
// time, both happen after it.
TEST_F(Acceptance, Step07_ScheduledSwitchoverAndScheduledRestart) {
  const int p = healthy();
  const int cand = others(p)[0];
  {
    const std::size_t p_log = read_file(c().node(p).log_file).size();
    const auto at = whole_second_ahead(8s);
    auto r = patronictl({"switchover", "--scheduled", iso_utc(at), "--leader", c().name(p), "--candidate",
                         c().name(cand), "--force"},
                        60s);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_TRUE(contains(r.output, "Switchover scheduled")) << r.output;
    EXPECT_FALSE(contains(r.output, "falling back to DCS")) << r.output;
    auto t = patronictl({"list"});
    if (WallClock::now() < at) {
      EXPECT_TRUE(contains(t.output, "Switchover scheduled at:")) << t.output;
    }
    // Until the scheduled second, the old leader stays leader.
    bool early = false;
    std::string early_leader;
    while (WallClock::now() < at - 150ms) {
      auto l = c().leader_name();
      if (l && *l != c().name(p)) {
        early = true;
        early_leader = *l;
        break;
      }
      std::this_thread::sleep_for(150ms);
    }
    EXPECT_FALSE(early) << "the leader changed to " << early_leader << " before the scheduled time " << iso_utc(at);
    ASSERT_TRUE(eventually([&] { return c().leader_name() == c().name(cand); }, 60s))
        << "the scheduled switchover to " << c().name(cand) << " did not happen\n" << c().describe();
    std::printf("[  RUNBOOK ] scheduled switchover: leader %s %.1f s after the scheduled time\n",
                c().name(cand).c_str(), epoch_seconds(WallClock::now()) - epoch_seconds(at));
    EXPECT_EQ(c().wait_for_primary(60s), cand);
    c().wait_for_streaming(cand, others(cand), 150s);
    const std::string old_leader = log_since(p, p_log);
    for (const std::string& line : {"INFO: Awaiting switchover at " + iso_utc(at) + " (in ",
                                   "INFO: Manual scheduled switchover at " + iso_utc(at)})
      EXPECT_TRUE(contains(old_leader, line)) << c().name(p) << "'s log does not say: " << line;
  }
  {
    const int primary = c().wait_for_primary(30s);
    const int member = others(primary)[0];
    const auto before = postmaster_start_epoch(member);
    ASSERT_TRUE(before.has_value());
    const std::size_t member_log = read_file(c().node(member).log_file).size();
    const auto at = whole_second_ahead(8s);
    auto r = patronictl({"restart", scope(), c().name(member), "--scheduled", iso_utc(at), "--force"}, 60s);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_TRUE(contains(r.output, "Success: restart scheduled on member " + c().name(member))) << r.output;
    auto m = json::parse(c().get_key("members/" + c().name(member)).value_or(""), nullptr, false);
    if (WallClock::now() < at) {
      EXPECT_TRUE(m.is_object() && m.contains("scheduled_restart")) << "member key: " << m.dump();
    }
    bool early = false;
    while (WallClock::now() < at - 150ms) {
      auto now = postmaster_start_epoch(member);
      if (now && *now != *before) {
        early = true;
        break;
      }
      std::this_thread::sleep_for(200ms);
    }
    EXPECT_FALSE(early) << c().name(member) << "'s postmaster restarted before the scheduled time " << iso_utc(at);
    std::optional<double> after;
    ASSERT_TRUE(eventually([&] {
      after = postmaster_start_epoch(member);
      return after && *after != *before;
    }, 60s)) << c().name(member) << "'s postmaster was not restarted after " << iso_utc(at);
    EXPECT_GE(*after, epoch_seconds(at) - 0.5) << "the new postmaster started before the scheduled time";
    auto k = json::parse(c().get_key("members/" + c().name(member)).value_or(""), nullptr, false);
    EXPECT_TRUE(eventually([&] {
      k = json::parse(c().get_key("members/" + c().name(member)).value_or(""), nullptr, false);
      return k.is_object() && !k.contains("scheduled_restart");
    }, 30s)) << "member key still holds the done restart: " << k.dump();
    const std::string log = log_since(member, member_log);
    for (const std::string& line : {"INFO: Awaiting restart at " + iso_utc(at) + " (in ",
                                   "INFO: Manual scheduled restart at " + iso_utc(at)})
      EXPECT_TRUE(contains(log, line)) << c().name(member) << "'s log does not say: " << line;
    healthy();
  }
}

// 8. Reinitialize a replica from the primary.
TEST_F(Acceptance, Step08_ReinitializeAReplica) {
  const int p = healthy();
  const int rep = others(p)[0];
  insert_rows(p, 8001, 8100);
  ASSERT_TRUE(rows_arrive(rep, 8001, 8100));
  const auto before_pm = c().postmaster_pid(rep);
  const auto before = postmaster_start_epoch(rep);
  ASSERT_TRUE(before.has_value());
  auto r = patronictl({"reinit", scope(), c().name(rep), "--force"}, 120s);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "Success: reinitialize for member " + c().name(rep))) << r.output;
  std::optional<double> after;
  ASSERT_TRUE(eventually([&] {
    after = postmaster_start_epoch(rep);
    return after && *after != *before;
  }, 150s)) << c().name(rep) << " has no new postmaster after reinit";
  EXPECT_NE(c().postmaster_pid(rep), before_pm);
  c().wait_for_streaming(p, others(p), 150s);
  insert_rows(p, 8101, 8200);
  EXPECT_TRUE(rows_arrive(rep, 8001, 8200)) << c().name(rep) << " lacks rows after the reinit";
  EXPECT_TRUE(contains(read_file(c().node(rep).log_file), "basebackup") ||
              contains(lower(read_file(c().node(rep).log_file)), "reinitializ"))
      << c().name(rep) << "'s log does not mention the reinitialization";
}

// 9. A second agent started by mistake with a running member's name refuses to start.
TEST_F(Acceptance, Step09_SecondAgentWithTheNameOfARunningMemberRefusesToStart) {
  const int p = healthy();
  const int victim = others(p)[0];
  const Node& n = c().node(victim);
  // Copy the running member's YAML: same name, same certificates, other ports and directory.
  std::string yaml = read_file(n.config_file);
  ASSERT_FALSE(yaml.empty());
  const std::string dup_dir = c().dir() + "/duplicate-" + n.name;
  std::filesystem::create_directories(dup_dir);
  std::filesystem::permissions(dup_dir, std::filesystem::perms::owner_all);
  auto replace_all = [&](const std::string& from, const std::string& to) {
    for (std::size_t pos = yaml.find(from); pos != std::string::npos; pos = yaml.find(from, pos + to.size()))
      yaml.replace(pos, from.size(), to);
  };
  const int api = test::free_port(), pg = test::free_port();
  replace_all("127.0.0.1:" + std::to_string(n.api_port), "127.0.0.1:" + std::to_string(api));
  replace_all("127.0.0.1:" + std::to_string(n.pg_port), "127.0.0.1:" + std::to_string(pg));
  replace_all(n.dir + "/", dup_dir + "/");
  replace_all(n.dir + "\n", dup_dir + "\n");
  ASSERT_TRUE(contains(yaml, "name: " + n.name + "\n"));
  ASSERT_FALSE(contains(yaml, n.dir + "/")) << yaml;
  const std::string dup_config = dup_dir + "/custos.yml";
  {
    std::ofstream out(dup_config);
    out << yaml;
  }
  const std::string member_before = c().get_key("members/" + n.name).value_or("");
  const auto pm_before = c().postmaster_pid(victim);

  // What the duplicate's own member client would see: the running member's /liveness answers a
  // client presenting the certificate (encrypted key) of the copied restapi section.
  {
    auto probe = parse_curl(test::run_command(
        {kCurl, "-sS", "-i", "--max-time", "10", "--cacert", c().ca_file(), "--cert", n.rest_cert.cert_file, "--key",
         n.rest_cert.key_file, "--pass", TestCluster::rest_key_password(), c().rest_base(victim) + "/liveness"},
        20s));
    EXPECT_EQ(probe.status, 200) << "GET /liveness of the running " << n.name << " with its own REST certificate:\n"
                                 << probe.output;
  }

  // A correct agent exits within seconds; a duplicate that starts anyway is stopped after 30 s.
  auto r = test::run_command({TestCluster::custos_bin(), dup_config}, 30s);
  std::printf("[  RUNBOOK ] $ custos %s   -> exit %d\n%s\n", dup_config.c_str(), r.exit_code, r.output.c_str());
  // If the duplicate started a PostgreSQL of its own (it would take the member's slot), stop it
  // so that the remaining steps find the real member streaming again.
  {
    std::ifstream pidfile(dup_dir + "/data/postmaster.pid");
    long pm = 0;
    if (pidfile >> pm && pm > 0) {
      ADD_FAILURE() << "the duplicate " << n.name << " started its own postmaster (pid " << pm << ")";
      ::kill(static_cast<pid_t>(pm), SIGQUIT);
      eventually([&] { return ::kill(static_cast<pid_t>(pm), 0) != 0; }, 10s);
    }
  }
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "Can't start; there is already a node named '" + n.name + "' running")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dup_dir + "/data/PG_VERSION")) << "the duplicate created a data directory";

  // The running member is untouched.
  EXPECT_TRUE(c().agent_running(victim));
  EXPECT_EQ(c().postmaster_pid(victim), pm_before);
  auto m = json::parse(c().get_key("members/" + n.name).value_or(""), nullptr, false);
  EXPECT_TRUE(m.is_object() && contains(m.value("api_url", ""), ":" + std::to_string(n.api_port) + "/"))
      << "member key now: " << m.dump() << "\nbefore: " << member_before;
  healthy();
}

// 10. Rolling restart of every member at once: every postmaster is new, the cluster is healthy,
// no row lost.
TEST_F(Acceptance, Step10_RestartOfEveryMember) {
  int p = healthy();
  insert_rows(p, 10001, 10100);
  for (int r : others(p)) ASSERT_TRUE(rows_arrive(r, 10001, 10100)) << c().name(r);
  std::map<int, double> before;
  for (int i = 0; i < c().size(); ++i) {
    auto t = postmaster_start_epoch(i);
    ASSERT_TRUE(t.has_value()) << c().name(i);
    before[i] = *t;
  }
  auto r = patronictl({"restart", scope(), "--force"}, 300s);
  EXPECT_EQ(r.exit_code, 0);
  for (int i = 0; i < c().size(); ++i)
    EXPECT_TRUE(contains(r.output, "Success: restart on member " + c().name(i))) << r.output;
  for (int i = 0; i < c().size(); ++i) {
    std::optional<double> now;
    EXPECT_TRUE(eventually([&] {
      now = postmaster_start_epoch(i);
      return now && *now != before[i];
    }, 120s)) << c().name(i) << "'s postmaster was not restarted";
  }
  p = healthy();
  for (int i = 0; i < c().size(); ++i) EXPECT_TRUE(rows_arrive(i, 10001, 10100)) << c().name(i);
  insert_rows(p, 10101, 10110);
  for (int i : others(p)) EXPECT_TRUE(rows_arrive(i, 10101, 10110)) << c().name(i);
  auto list = patronictl({"list"});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_FALSE(contains(list.output, "Pending restart")) << list.output;
}

}  // namespace
}  // namespace custos::e2e
