// The custosctl binary against a real etcd: a Patroni-shaped cluster written by three Etcd3Dcs
// members (leader lock, member keys on leases, initialize, config, status), read back with
// `list`/`topology` through -c CONFIG and through --dcs-url, in every format; Citus groups
// from raw keys; watch mode stopped by Ctrl-C; DCS down (exit 1) and usage errors (exit 2).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "child_process.h"
#include "dcs/etcd3/etcd3_dcs.h"
#include "etcd_server.h"

namespace custos::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using dcs::etcd3::Etcd3Dcs;

constexpr int64_t kMiB = 1024 * 1024;
const char* const kSysid = "7312345678901234567";

struct CtlResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs the built custosctl with stdout and stderr kept apart (bounded by `timeout`).
CtlResult run_ctl(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                  std::chrono::milliseconds timeout = 30s) {
  static int n = 0;
  const std::string err_file = "/tmp/custosctl-it-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".err";
  std::string cmd = "exec " + shell_quote(CUSTOSCTL_PATH);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " 2>" + shell_quote(err_file);
  std::map<std::string, std::string> full_env = {{"PATRONICTL_CONFIG_FILE", ""}, {"DCS_URL", ""},
                                                 {"XDG_CONFIG_HOME", "/nonexistent-custosctl-test"}};
  for (const auto& [k, v] : env) full_env[k] = v;
  RunResult r = run_command({"sh", "-c", cmd}, timeout, full_env);
  CtlResult out{r.exit_code, r.output, read_file(err_file)};
  std::filesystem::remove(err_file);
  return out;
}

std::string member_value(int port, const std::string& role, std::optional<int64_t> xlog, json extra = json::object()) {
  json m = {{"conn_url", "postgres://127.0.0.1:" + std::to_string(port) + "/postgres"},
            {"api_url", "http://127.0.0.1:" + std::to_string(port + 2576) + "/patroni"},
            {"state", "running"},
            {"role", role},
            {"version", "3.3.1"},
            {"timeline", 2}};
  if (xlog) m["xlog_location"] = *xlog;
  for (auto& [k, v] : extra.items()) m[k] = v;
  return m.dump();
}

class CtlIntegration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    become_subreaper();
    server_ = new EtcdServer();
    dir_ = make_temp_dir("custosctl-it");
    // Three members as agents write them: node1 holds the lock; node2 streams; node3 cascades
    // from node2 and is 3 MB behind.
    for (const char* name : {"node1", "node2", "node3"}) {
      json cfg = {{"scope", "demo"}, {"name", name}, {"ttl", 60}, {"loop_wait", 10}, {"retry_timeout", 5},
                  {"etcd3", {{"hosts", server_->host_port()}}}};
      auto d = Etcd3Dcs::from_config(cfg);
      if (!d) throw std::runtime_error(d.error());
      members_.push_back(std::move(d).value().release());
    }
    const int64_t lsn = 64 * kMiB;
    auto& leader = *members_[0];
    expect_ok(leader.initialize(true, kSysid).ok(), "initialize");
    expect_ok(leader.set_config_value(R"({"ttl":60,"loop_wait":10,"postgresql":{"use_pg_rewind":true}})", std::nullopt).ok(),
              "config");
    expect_ok(leader.attempt_to_acquire_leader().ok(), "acquire");
    expect_ok(leader.touch_member(json::parse(member_value(5432, "master", lsn))).ok(), "member1");
    (void)leader.get_cluster();
    dcs::LeaderRefresh refresh;
    refresh.last_lsn = lsn;
    expect_ok(leader.update_leader(refresh).ok(), "status");
    expect_ok(members_[1]->touch_member(json::parse(member_value(5433, "replica", lsn, {{"replication_state", "streaming"}}))).ok(),
              "member2");
    expect_ok(members_[2]
                  ->touch_member(json::parse(member_value(5434, "replica", lsn - 3 * kMiB,
                                                          {{"replication_state", "streaming"},
                                                           {"tags", {{"replicatefrom", "node2"}}}})))
                  .ok(),
              "member3");

    config_file_ = dir_ + "/patronictl.yaml";
    // Presenting Patroni 3.3: patronictl 3.3's "Lag in MB" table; the tests through --dcs-url
    // (no configuration) get 4.1's LSN columns.
    std::ofstream(config_file_) << "scope: demo\nretry_timeout: 5\ncustos:\n  compat: '3.3'\netcd3:\n  hosts: "
                                << server_->host_port() << "\n";
  }
  static void TearDownTestSuite() {
    for (auto* m : members_) delete m;
    members_.clear();
    delete server_;
    server_ = nullptr;
    std::filesystem::remove_all(dir_);
  }
  static void expect_ok(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("setting up the cluster failed at ") + what);
  }
  static std::string url() { return "etcd3://" + server_->host_port(); }
  static void put(const std::string& key, const std::string& value) {
    auto r = server_->etcdctl({"put", key, value});
    if (r.exit_code != 0) throw std::runtime_error("etcdctl put failed: " + r.output);
  }

  static EtcdServer* server_;
  static std::vector<Etcd3Dcs*> members_;
  static std::string dir_;
  static std::string config_file_;
};
EtcdServer* CtlIntegration::server_ = nullptr;
std::vector<Etcd3Dcs*> CtlIntegration::members_;
std::string CtlIntegration::dir_;
std::string CtlIntegration::config_file_;


TEST_F(CtlIntegration, ListWithConfigFile) {
  auto r = run_ctl({"-c", config_file_, "list"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "+ Cluster: demo (7312345678901234567) ----------+----+-----------+----------------------+\n"
            "| Member | Host           | Role    | State     | TL | Lag in MB | Tags                 |\n"
            "+--------+----------------+---------+-----------+----+-----------+----------------------+\n"
            "| node1  | 127.0.0.1:5432 | Leader  | running   |  2 |           |                      |\n"
            "| node2  | 127.0.0.1:5433 | Replica | streaming |  2 |         0 |                      |\n"
            "| node3  | 127.0.0.1:5434 | Replica | streaming |  2 |         3 | replicatefrom: node2 |\n"
            "+--------+----------------+---------+-----------+----+-----------+----------------------+\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(CtlIntegration, ConfigFileFromEnvironmentAndDcsUrlFromEnvironment) {
  auto a = run_ctl({"list"}, {{"PATRONICTL_CONFIG_FILE", config_file_}});
  EXPECT_EQ(a.exit_code, 0) << a.err;
  EXPECT_NE(a.out.find("| node3  | 127.0.0.1:5434 |"), std::string::npos) << a.out;
  auto b = run_ctl({"list", "demo", "-f", "tsv"}, {{"DCS_URL", url()}});
  EXPECT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NE(b.out.find("demo\tnode1\t127.0.0.1:5432\tLeader\trunning\t2\t\t\t\t\t\n"), std::string::npos) << b.out;
}

TEST_F(CtlIntegration, JsonThroughDcsUrl) {
  auto r = run_ctl({"--dcs-url", url(), "list", "demo", "-f", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json expected = json::parse(R"([
    {"Cluster": "demo", "Member": "node1", "Host": "127.0.0.1:5432", "Role": "Leader", "State": "running", "TL": 2},
    {"Cluster": "demo", "Member": "node2", "Host": "127.0.0.1:5433", "Role": "Replica", "State": "streaming", "TL": 2,
     "Receive LSN": "0/4000000", "Receive Lag": 0, "Replay LSN": "unknown"},
    {"Cluster": "demo", "Member": "node3", "Host": "127.0.0.1:5434", "Role": "Replica", "State": "streaming", "TL": 2,
     "Receive LSN": "0/3D00000", "Receive Lag": 3, "Replay LSN": "unknown", "Tags": {"replicatefrom": "node2"}}])");
  EXPECT_EQ(json::parse(r.out), expected) << r.out;
  // Python's json.dumps layout: one line, ", " and ": " separators, columns in order.
  EXPECT_EQ(r.out.rfind("[{\"Cluster\": \"demo\", \"Member\": \"node1\", \"Host\": \"127.0.0.1:5432\"", 0), 0u) << r.out;
}

TEST_F(CtlIntegration, YamlAndTsv) {
  auto y = run_ctl({"--dcs-url", url(), "list", "demo", "--format", "yaml"});
  ASSERT_EQ(y.exit_code, 0) << y.err;
  YAML::Node doc = YAML::Load(y.out);
  ASSERT_TRUE(doc.IsSequence());
  ASSERT_EQ(doc.size(), 3u);
  EXPECT_EQ(doc[0]["Role"].as<std::string>(), "Leader");
  EXPECT_FALSE(doc[0]["Receive Lag"]);
  EXPECT_EQ(doc[2]["Receive Lag"].as<int>(), 3);
  EXPECT_EQ(doc[2]["Receive LSN"].as<std::string>(), "0/3D00000");
  EXPECT_EQ(doc[2]["Tags"]["replicatefrom"].as<std::string>(), "node2");

  auto t = run_ctl({"-d", url(), "list", "demo", "-f", "tsv"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_EQ(t.out,
            "Cluster\tMember\tHost\tRole\tState\tTL\tReceive LSN\tReceive Lag\tReplay LSN\tReplay Lag\tTags\n"
            "demo\tnode1\t127.0.0.1:5432\tLeader\trunning\t2\t\t\t\t\t\n"
            "demo\tnode2\t127.0.0.1:5433\tReplica\tstreaming\t2\t0/4000000\t0\tunknown\t\t\n"
            "demo\tnode3\t127.0.0.1:5434\tReplica\tstreaming\t2\t0/3D00000\t3\tunknown\t\t{replicatefrom: node2}\n");
}

TEST_F(CtlIntegration, TopologyNestsTheCascadingReplica) {
  auto r = run_ctl({"-c", config_file_, "topology"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "+ Cluster: demo (7312345678901234567) -+-----------+----+-----------+------------------------+\n"
            "| Member    | Host           | Role    | State     | TL | Lag in MB | Tags                   |\n"
            "+-----------+----------------+---------+-----------+----+-----------+------------------------+\n"
            "| node1     | 127.0.0.1:5432 | Leader  | running   |  2 |           |                        |\n"
            "| + node2   | 127.0.0.1:5433 | Replica | streaming |  2 |         0 |                        |\n"
            "|   + node3 | 127.0.0.1:5434 | Replica | streaming |  2 |         3 | {replicatefrom: node2} |\n"
            "+-----------+----------------+---------+-----------+----+-----------+------------------------+\n");
}

TEST_F(CtlIntegration, TimestampExtendedAndUnknownCluster) {
  auto r = run_ctl({"-c", config_file_, "list", "-t", "-e", "demo", "ghost"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\n\\+ Cluster: demo ")))
      << r.out;
  EXPECT_NE(r.out.find("| Pending restart | Pending restart reason | Scheduled restart |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("+ Cluster: ghost (uninitialized) "), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("ghost"), std::string::npos) << r.err;  // a warning, not an error
}

TEST_F(CtlIntegration, NamespaceFromDcsUrlPath) {
  put("/custom-ns/other/initialize", "7000000000000000042");
  put("/custom-ns/other/members/solo", member_value(5440, "master", 100));
  put("/custom-ns/other/leader", "solo");
  auto r = run_ctl({"--dcs-url", url() + "/custom-ns", "list", "other", "-f", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["Member"], "solo");
  EXPECT_EQ(j[0]["Host"], "127.0.0.1:5440");  // not the default port: shown
}

TEST_F(CtlIntegration, CitusGroups) {
  put("/service/cit/0/initialize", "7000000000000000000");
  put("/service/cit/0/leader", "coord");
  put("/service/cit/0/members/coord", member_value(6432, "master", 100));
  put("/service/cit/1/initialize", "7000000000000000001");
  put("/service/cit/1/leader", "worker");
  put("/service/cit/1/members/worker", member_value(6433, "master", 100));
  const std::string cfg = dir_ + "/citus.yaml";
  std::ofstream(cfg) << "scope: cit\ncustos:\n  compat: 3.3\ncitus:\n  group: 1\n  database: citus\netcd3:\n  hosts: " << server_->host_port()
                     << "\n";
  auto all = run_ctl({"-c", cfg, "list", "-f", "tsv"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(all.out,
            "Cluster\tGroup\tMember\tHost\tRole\tState\tTL\tLag in MB\n"
            "cit\t0\tcoord\t127.0.0.1:6432\tLeader\trunning\t2\t\n"
            "cit\t1\tworker\t127.0.0.1:6433\tLeader\trunning\t2\t\n");
  auto one = run_ctl({"-c", cfg, "list", "--group", "1"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.out.rfind("+ Citus cluster: cit (group: 1, 7000000000000000001) ", 0), 0u) << one.out;
  EXPECT_EQ(one.out.find("coord"), std::string::npos) << one.out;
}

TEST_F(CtlIntegration, WatchRefreshesUntilCtrlC) {
  const std::string out_file = dir_ + "/watch.out";
  SpawnOptions o;
  o.argv = {CUSTOSCTL_PATH, "-c", config_file_, "list", "-w", "0.2"};
  o.output_file = out_file;
  ChildProcess child(o);
  std::this_thread::sleep_for(1500ms);
  ASSERT_TRUE(child.running());
  child.signal(SIGINT);
  auto status = child.wait_for(5s);
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 1);  // click's "Aborted!"
  const std::string text = read_file(out_file);
  size_t tables = 0;
  for (size_t p = text.find("+ Cluster: demo"); p != std::string::npos; p = text.find("+ Cluster: demo", p + 1)) ++tables;
  EXPECT_GE(tables, 3u) << text;
  EXPECT_NE(text.find("Aborted!"), std::string::npos);
}

TEST_F(CtlIntegration, DcsDownIsAClearErrorWithExitOne) {
  const std::string cfg = dir_ + "/down.yaml";
  std::ofstream(cfg) << "scope: demo\nretry_timeout: 2\netcd3:\n  hosts: 127.0.0.1:" << free_port() << "\n";
  auto start = std::chrono::steady_clock::now();
  auto r = run_ctl({"-c", cfg, "list"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("Error: cannot read cluster \"demo\" from the DCS: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("unreachable"), std::string::npos) << r.err;
}

TEST_F(CtlIntegration, BadArgumentsAndConfiguration) {
  struct Case {
    std::vector<std::string> args;
    int code;
    const char* message;
  };
  const std::string consul = "consul://127.0.0.1";
  const std::vector<Case> cases = {
      {{"list", "-f", "xml"}, 2, "Error: --format: xml not in"},
      {{"list", "--no-such-option"}, 2, "Error: "},
      {{"frobnicate"}, 2, "Error: "},
      {{}, 2, "Error: "},
      {{"-c", config_file_, "list", "--group", "one"}, 2, "Error: "},
      {{"--dcs-url", "foo://h", "list", "demo"}, 1, "Error: Unknown dcs scheme: foo"},
      {{"--dcs-url", "etcd3://h:notaport", "list", "demo"}, 1, "Error: Invalid DCS URL"},
      {{"--dcs-url", consul, "list", "demo"}, 1, "not supported by custosctl yet"},
      {{"-c", dir_ + "/missing.yaml", "list"}, 1, "not existing or no read rights"},
  };
  for (const auto& c : cases) {
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    SCOPED_TRACE(joined);
    auto r = run_ctl(c.args);
    EXPECT_EQ(r.exit_code, c.code) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST_F(CtlIntegration, NoClusterNameIsAWarningOnly) {
  auto r = run_ctl({"--dcs-url", url(), "list"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("Listing members: No cluster names were provided"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace custos::test
