// The custosctl commands beyond list/topology against a real etcd: show-config, edit-config
// (--set, --pg, --apply -, --replace, --force, the editor, invalid values refused, CAS
// conflicts), history, dsn, remove (confirmations), version, flush switchover, pause/resume,
// switchover/failover, demote-cluster / promote-cluster (refusals, confirmation, an
// unreachable leader). Members' REST APIs point at closed ports, so the REST-unreachable paths
// and their DCS fallbacks are what is exercised here.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "child_process.h"
#include "dcs/etcd3/etcd3_dcs.h"
#include "etcd_server.h"

namespace custos::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using dcs::etcd3::Etcd3Dcs;

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

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs the built custosctl with `input` on stdin, stdout and stderr kept apart.
CtlResult run_ctl(const std::vector<std::string>& args, const std::string& input = "",
                  const std::map<std::string, std::string>& env = {},
                  std::chrono::milliseconds timeout = 60s) {
  static std::atomic<int> n{0};
  const std::string base =
      "/tmp/custosctl-cmd-it-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
  const std::string err_file = base + ".err", in_file = base + ".in";
  std::ofstream(in_file) << input;
  std::string cmd = "exec " + shell_quote(CUSTOSCTL_PATH);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " <" + shell_quote(in_file) + " 2>" + shell_quote(err_file);
  std::map<std::string, std::string> full_env = {{"PATRONICTL_CONFIG_FILE", ""},
                                                 {"DCS_URL", ""},
                                                 {"XDG_CONFIG_HOME", "/nonexistent-custosctl-test"},
                                                 {"EDITOR", "/bin/false"}};
  for (const auto& [k, v] : env) full_env[k] = v;
  RunResult r = run_command({"sh", "-c", cmd}, timeout, full_env);
  CtlResult out{r.exit_code, r.output, slurp(err_file)};
  std::filesystem::remove(err_file);
  std::filesystem::remove(in_file);
  return out;
}

class CtlCommands : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    become_subreaper();
    server_ = new EtcdServer();
    dir_ = make_temp_dir("custosctl-cmd-it");
    config_file_ = dir_ + "/patronictl.yaml";
    std::ofstream(config_file_) << "scope: demo\nretry_timeout: 5\netcd3:\n  hosts: "
                                << server_->host_port() << "\n";
  }
  static void TearDownTestSuite() {
    for (auto* m : members_) delete m;
    members_.clear();
    delete server_;
    server_ = nullptr;
    std::filesystem::remove_all(dir_);
  }

  static Etcd3Dcs* member(const std::string& scope, const std::string& name) {
    json cfg = {{"scope", scope},     {"name", name},
                {"ttl", 120},         {"loop_wait", 10},
                {"retry_timeout", 5}, {"etcd3", {{"hosts", server_->host_port()}}}};
    auto d = Etcd3Dcs::from_config(cfg);
    if (!d) throw std::runtime_error(d.error());
    members_.push_back(std::move(d).value().release());
    return members_.back();
  }

  static std::string member_value(int pg_port, const std::string& role,
                                  json extra = json::object()) {
    json m = {{"conn_url", "postgres://127.0.0.1:" + std::to_string(pg_port) + "/postgres"},
              {"api_url", "http://127.0.0.1:" + std::to_string(closed_port()) + "/patroni"},
              {"state", "running"},
              {"role", role},
              {"version", "3.3.1"},
              {"timeline", 2},
              {"xlog_location", 1000}};
    for (auto& [k, v] : extra.items()) m[k] = v;
    return m.dump();
  }

  static int closed_port() {
    static int port = free_port();
    return port;
  }

  // A cluster `scope`: node1 leader (5432), node2 replica (5433), node3 replica tagged nofailover
  // (5434), `config` as given. Returns the leader's Dcs.
  static Etcd3Dcs* make_cluster(const std::string& scope, const std::string& config) {
    auto* leader = member(scope, "node1");
    expect(leader->initialize(true, "7000000000000000001").ok(), "initialize");
    if (!config.empty()) expect(leader->set_config_value(config, std::nullopt).ok(), "config");
    expect(leader->attempt_to_acquire_leader().ok(), "acquire");
    expect(leader->touch_member(json::parse(member_value(5432, "master"))).ok(), "node1");
    expect(member(scope, "node2")->touch_member(json::parse(member_value(5433, "replica"))).ok(),
           "node2");
    expect(member(scope, "node3")
               ->touch_member(
                   json::parse(member_value(5434, "replica", {{"tags", {{"nofailover", true}}}})))
               .ok(),
           "node3");
    return leader;
  }

  static dcs::Cluster read(const std::string& scope) {
    json cfg = {{"scope", scope},
                {"name", "reader"},
                {"retry_timeout", 5},
                {"etcd3", {{"hosts", server_->host_port()}}}};
    auto d = Etcd3Dcs::from_config(cfg);
    if (!d) throw std::runtime_error(d.error());
    auto c = (*d)->get_cluster();
    if (!c) throw std::runtime_error("get_cluster failed");
    return *c;
  }

  static json config_of(const std::string& scope) {
    auto c = read(scope);
    return c.config() ? c.config()->data() : json();
  }

  static void expect(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("setting up the cluster failed at ") + what);
  }

  static std::vector<std::string> with_config(std::vector<std::string> args) {
    args.insert(args.begin(), {"-c", config_file_});
    return args;
  }

  static EtcdServer* server_;
  static std::vector<Etcd3Dcs*> members_;
  static std::string dir_;
  static std::string config_file_;
};
EtcdServer* CtlCommands::server_ = nullptr;
std::vector<Etcd3Dcs*> CtlCommands::members_;
std::string CtlCommands::dir_;
std::string CtlCommands::config_file_;

const char* const kConfig =
    R"({"ttl":60,"loop_wait":10,"postgresql":{"use_pg_rewind":true,"parameters":{"work_mem":"4MB"}}})";

TEST_F(CtlCommands, ShowConfig) {
  make_cluster("show", kConfig);
  auto r = run_ctl(with_config({"show-config", "show"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "loop_wait: 10\n"
            "postgresql:\n"
            "  parameters:\n"
            "    work_mem: 4MB\n"
            "  use_pg_rewind: true\n"
            "ttl: 60\n\n");
}

TEST_F(CtlCommands, EditConfigSetAndPg) {
  make_cluster("edit1", kConfig);
  auto r = run_ctl(with_config({"edit-config", "edit1", "-s", "ttl=40", "--pg",
                                "pg_stat_statements.max=5000", "-p", "work_mem=null", "--force"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("--- \n+++ \n@@ "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-ttl: 60\n+ttl: 40\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-    work_mem: 4MB\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Configuration changed\n"), std::string::npos) << r.out;
  EXPECT_EQ(config_of("edit1"), json::parse(R"({"ttl":40,"loop_wait":10,
      "postgresql":{"use_pg_rewind":true,"parameters":{"pg_stat_statements.max":5000}}})"));

  auto same = run_ctl(with_config({"edit-config", "edit1", "-s", "ttl=40", "--force"}));
  EXPECT_EQ(same.exit_code, 0) << same.err;
  EXPECT_EQ(same.out, "Not changed\n");
  auto quiet = run_ctl(with_config({"edit-config", "edit1", "-s", "ttl=41", "--force", "-q"}));
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.out, "Configuration changed\n");
}

TEST_F(CtlCommands, EditConfigConfirmation) {
  make_cluster("edit2", kConfig);
  auto no = run_ctl(with_config({"edit-config", "edit2", "-s", "ttl=40"}), "n\n");
  EXPECT_EQ(no.exit_code, 0) << no.err;
  EXPECT_NE(no.out.find("Apply these changes? [y/N]: "), std::string::npos) << no.out;
  EXPECT_EQ(config_of("edit2")["ttl"], 60);
  auto yes = run_ctl(with_config({"edit-config", "edit2", "-s", "ttl=40"}), "y\n");
  EXPECT_EQ(yes.exit_code, 0) << yes.err;
  EXPECT_NE(yes.out.find("Configuration changed"), std::string::npos) << yes.out;
  EXPECT_EQ(config_of("edit2")["ttl"], 40);
}

TEST_F(CtlCommands, EditConfigApplyFromStdinNeedsForce) {
  make_cluster("edit3", kConfig);
  const std::string patch = "loop_wait: 5\npostgresql:\n  parameters:\n    work_mem: 8MB\n";
  auto without = run_ctl(with_config({"edit-config", "edit3", "--apply", "-"}), patch);
  EXPECT_EQ(without.exit_code, 0) << without.err;
  EXPECT_NE(without.out.find("+    work_mem: 8MB"), std::string::npos) << without.out;
  EXPECT_NE(without.out.find("Use --force option to apply changes\n"), std::string::npos)
      << without.out;
  EXPECT_EQ(config_of("edit3")["loop_wait"], 10);
  auto with = run_ctl(with_config({"edit-config", "edit3", "--apply", "-", "--force"}), patch);
  EXPECT_EQ(with.exit_code, 0) << with.err;
  auto cfg = config_of("edit3");
  EXPECT_EQ(cfg["loop_wait"], 5);
  EXPECT_EQ(cfg["ttl"], 60);
  EXPECT_EQ(cfg["postgresql"]["parameters"]["work_mem"], "8MB");
}

TEST_F(CtlCommands, EditConfigReplaceFromFile) {
  make_cluster("edit4", kConfig);
  const std::string file = dir_ + "/replace.yaml";
  std::ofstream(file) << "ttl: 30\nloop_wait: 10\n";
  auto r = run_ctl(with_config(
      {"edit-config", "edit4", "--replace", file, "--force", "-s", "retry_timeout=10"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(config_of("edit4"), json::parse(R"({"ttl":30,"loop_wait":10,"retry_timeout":10})"));
  auto missing =
      run_ctl(with_config({"edit-config", "edit4", "--apply", dir_ + "/nope.yaml", "--force"}));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nope.yaml"), std::string::npos) << missing.err;
}

TEST_F(CtlCommands, EditConfigWarnsAsPatroniWritesAndRefusesOnlyWhenStrict) {
  make_cluster("edit5", kConfig);
  // --strict (custos only): refused, naming the key, nothing written.
  auto r = run_ctl(with_config({"edit-config", "edit5", "-s", "ttl=soon", "--force", "--strict"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("Error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("ttl: not an integer"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("Configuration changed"), std::string::npos);
  EXPECT_EQ(config_of("edit5"), json::parse(kConfig));
  // Without it: written as Patroni writes it, the problems named as warnings.
  auto loose = run_ctl(with_config({"edit-config", "edit5", "-s", "ttl=soon", "-s", "typo_key=1", "--force"}));
  EXPECT_EQ(loose.exit_code, 0) << loose.err;
  EXPECT_NE(loose.err.find("Warning: ttl: not an integer"), std::string::npos) << loose.err;
  EXPECT_NE(loose.err.find("Warning: typo_key: unknown key (ignored)"), std::string::npos) << loose.err;
  EXPECT_NE(loose.out.find("Configuration changed"), std::string::npos) << loose.out;
  EXPECT_EQ(config_of("edit5")["ttl"], "soon");
  EXPECT_EQ(config_of("edit5")["typo_key"], 1);
  // An editor leaving a list: Patroni writes it; custos too, with a warning, unless --strict.
  const std::string editor = dir_ + "/list-editor.sh";
  std::ofstream(editor) << "#!/bin/sh\nprintf -- '- 1\\n- 2\\n' > \"$1\"\n";
  std::filesystem::permissions(editor, std::filesystem::perms::owner_all);
  auto strict_list = run_ctl(with_config({"edit-config", "edit5", "--force", "--strict"}), "", {{"EDITOR", editor}});
  EXPECT_EQ(strict_list.exit_code, 1) << strict_list.out << strict_list.err;
  EXPECT_EQ(config_of("edit5")["typo_key"], 1);
  auto list = run_ctl(with_config({"edit-config", "edit5", "--force"}), "", {{"EDITOR", editor}});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.err.find("Warning: (root): expected a mapping"), std::string::npos) << list.err;
  EXPECT_EQ(config_of("edit5"), json::object());  // stored; every reader takes it as empty, as Patroni's
  auto bad_pair = run_ctl(with_config({"edit-config", "edit5", "-s", "ttl", "--force"}));
  EXPECT_EQ(bad_pair.exit_code, 1);
  EXPECT_NE(bad_pair.err.find("Invalid parameter setting ttl"), std::string::npos) << bad_pair.err;
}

TEST_F(CtlCommands, EditConfigWithoutConfigKey) {
  make_cluster("edit6", "");
  auto r = run_ctl(with_config({"edit-config", "edit6", "-s", "ttl=40", "--force"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("The config key does not exist in the cluster edit6"), std::string::npos)
      << r.err;
}

TEST_F(CtlCommands, EditConfigThroughTheEditorAndCasConflict) {
  auto* leader = make_cluster("edit7", kConfig);
  const std::string script = dir_ + "/editor.sh";
  std::ofstream(script) << "#!/bin/sh\nsed -i 's/ttl: 60/ttl: 70/' \"$1\"\ntouch " << dir_
                        << "/edit-started\nwhile [ ! -f " << dir_
                        << "/edit-go ]; do sleep 0.05; done\n";
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  // First, an uncontested edit.
  std::ofstream(dir_ + "/edit-go") << "";
  auto plain = run_ctl(with_config({"edit-config", "edit7", "--force"}), "", {{"EDITOR", script}});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(config_of("edit7")["ttl"], 70);
  std::filesystem::remove(dir_ + "/edit-go");
  std::filesystem::remove(dir_ + "/edit-started");

  // Then someone changes the config while the editor is open.
  std::ofstream(script) << "#!/bin/sh\nsed -i 's/ttl: 70/ttl: 80/' \"$1\"\ntouch " << dir_
                        << "/edit-started\nwhile [ ! -f " << dir_
                        << "/edit-go ]; do sleep 0.05; done\n";
  CtlResult r;
  std::thread t([&] {
    r = run_ctl(with_config({"edit-config", "edit7", "--force"}), "", {{"EDITOR", script}});
  });
  for (int i = 0; i < 400 && !std::filesystem::exists(dir_ + "/edit-started"); ++i)
    std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(leader->set_config_value(R"({"ttl":90,"loop_wait":10})", std::nullopt).ok());
  std::ofstream(dir_ + "/edit-go") << "";
  t.join();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("Config modification aborted due to concurrent changes"), std::string::npos)
      << r.err;
  EXPECT_EQ(config_of("edit7"), json::parse(R"({"ttl":90,"loop_wait":10})"));

  auto failing = run_ctl(with_config({"edit-config", "edit7"}), "", {{"EDITOR", "/bin/false"}});
  EXPECT_EQ(failing.exit_code, 1);
  EXPECT_NE(failing.err.find("Editor exited with return code 1"), std::string::npos) << failing.err;
}

TEST_F(CtlCommands, History) {
  auto* leader = make_cluster("hist", kConfig);
  ASSERT_TRUE(
      leader
          ->set_history_value(
              R"([[1,25165984,"no recovery target specified","2024-01-02T03:04:05+00:00","node2"],[2,50331744,"no recovery target specified"]])")
          .ok());
  auto r = run_ctl(with_config({"history", "hist"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      "+----+----------+------------------------------+---------------------------+------------+\n"
      "| TL |      LSN | Reason                       | Timestamp                 | New Leader |\n"
      "+----+----------+------------------------------+---------------------------+------------+\n"
      "|  1 | 25165984 | no recovery target specified | 2024-01-02T03:04:05+00:00 | node2      |\n"
      "|  2 | 50331744 | no recovery target specified |                           |            |\n"
      "+----+----------+------------------------------+---------------------------+------------+"
      "\n");
  auto j = run_ctl(with_config({"history", "hist", "-f", "json"}));
  ASSERT_EQ(j.exit_code, 0) << j.err;
  EXPECT_EQ(json::parse(j.out)[1]["TL"], 2);
}

TEST_F(CtlCommands, Dsn) {
  make_cluster("dsn", kConfig);
  auto leader = run_ctl(with_config({"dsn", "dsn"}));
  EXPECT_EQ(leader.exit_code, 0) << leader.err;
  EXPECT_EQ(leader.out, "host=127.0.0.1 port=5432\n");
  EXPECT_EQ(run_ctl(with_config({"dsn", "dsn", "-r", "replica"})).out,
            "host=127.0.0.1 port=5433\n");
  EXPECT_EQ(run_ctl(with_config({"dsn", "dsn", "-r", "primary"})).out,
            "host=127.0.0.1 port=5432\n");
  EXPECT_EQ(run_ctl(with_config({"dsn", "dsn", "-m", "node3"})).out, "host=127.0.0.1 port=5434\n");
  auto none = run_ctl(with_config({"dsn", "dsn", "-r", "standby-leader"}));
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err, "Error: Can not find a suitable member\n");
  auto both = run_ctl(with_config({"dsn", "dsn", "-r", "replica", "-m", "node2"}));
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_EQ(both.err, "Error: --role and --member are mutually exclusive options\n");
}

TEST_F(CtlCommands, RemoveNeedsEveryConfirmation) {
  make_cluster("rm1", kConfig);
  auto wrong_name = run_ctl(with_config({"remove", "rm1"}), "other\n");
  EXPECT_EQ(wrong_name.exit_code, 1);
  EXPECT_NE(wrong_name.out.find("| node1  |"), std::string::npos) << wrong_name.out;
  EXPECT_NE(wrong_name.err.find("Cluster names specified do not match"), std::string::npos)
      << wrong_name.err;
  auto wrong_phrase = run_ctl(with_config({"remove", "rm1"}), "rm1\nyes\n");
  EXPECT_EQ(wrong_phrase.exit_code, 1);
  EXPECT_NE(wrong_phrase.err.find("You did not exactly type \"Yes I am aware\""), std::string::npos)
      << wrong_phrase.err;
  auto wrong_leader = run_ctl(with_config({"remove", "rm1"}), "rm1\nYes I am aware\nnode2\n");
  EXPECT_EQ(wrong_leader.exit_code, 1);
  EXPECT_NE(wrong_leader.err.find("You did not specify the current leader of the cluster"),
            std::string::npos);
  auto eof = run_ctl(with_config({"remove", "rm1"}), "rm1\n");
  EXPECT_EQ(eof.exit_code, 1);
  EXPECT_NE(eof.err.find("Aborted!"), std::string::npos) << eof.err;
  EXPECT_FALSE(read("rm1").is_empty());

  auto r = run_ctl(with_config({"remove", "rm1"}), "rm1\nYes I am aware\nnode1\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Please confirm the cluster name to remove: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("please type: \"Yes I am aware\": "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Please specify the leader name to continue: "), std::string::npos) << r.out;
  EXPECT_TRUE(read("rm1").is_empty());
}

TEST_F(CtlCommands, VersionOfUnreachableMembers) {
  make_cluster("ver", kConfig);
  auto r = run_ctl(with_config({"version", "ver", "node1", "node3"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("custosctl version "), std::string::npos);
  EXPECT_NE(r.out.find("\nnode1: failed to get version: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nnode3: failed to get version: "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("node2:"), std::string::npos) << r.out;
}

TEST_F(CtlCommands, FlushSwitchoverFallsBackToTheDcs) {
  auto* leader = make_cluster("flush", kConfig);
  auto nothing = run_ctl(with_config({"flush", "flush", "switchover"}));
  EXPECT_EQ(nothing.exit_code, 0) << nothing.err;
  EXPECT_EQ(nothing.out, "No pending scheduled switchover\n");

  ASSERT_TRUE(
      leader
          ->set_failover_value(
              R"({"leader":"node1","member":"node2","scheduled_at":"2099-01-01T00:00:00+00:00"})",
              std::nullopt)
          .ok());
  auto r = run_ctl(with_config({"flush", "flush", "switchover"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Could not find any accessible member of cluster flush"), std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("Member node1 is not accessible"), std::string::npos) << r.err;
  auto c = read("flush");
  ASSERT_TRUE(c.failover());
  EXPECT_TRUE(c.failover()->is_empty());
  EXPECT_FALSE(c.failover()->scheduled_at);
}

TEST_F(CtlCommands, FlushRestartWithoutScheduledRestarts) {
  make_cluster("flushr", kConfig);
  auto r = run_ctl(with_config({"flush", "flushr", "restart", "--force"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("No scheduled restart for member node1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("No scheduled restart for member node3\n"), std::string::npos) << r.out;
}

TEST_F(CtlCommands, PauseWithoutReachableMembers) {
  make_cluster("pause", kConfig);
  auto r = run_ctl(with_config({"pause", "pause"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Error: Can not find accessible cluster member"), std::string::npos)
      << r.err;
  auto resume = run_ctl(with_config({"resume", "pause"}));
  EXPECT_EQ(resume.exit_code, 1);
  EXPECT_NE(resume.err.find("Error: Cluster is not paused"), std::string::npos) << resume.err;
}

TEST_F(CtlCommands, SwitchoverFallsBackToTheFailoverKey) {
  make_cluster("sw", kConfig);
  auto r = run_ctl(with_config({"switchover", "sw", "--candidate", "node2", "--force"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Current cluster topology\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" Could not switchover using Patroni api, falling back to DCS\n"),
            std::string::npos)
      << r.out;
  auto c = read("sw");
  ASSERT_TRUE(c.failover());
  EXPECT_EQ(c.failover()->leader.value_or(""), "node1");
  EXPECT_EQ(c.failover()->candidate.value_or(""), "node2");
  EXPECT_FALSE(c.failover()->scheduled_at);

  auto scheduled = run_ctl(
      with_config({"switchover", "sw", "--force", "--scheduled", "2099-01-02T03:04:05+00:00"}));
  EXPECT_EQ(scheduled.exit_code, 0) << scheduled.err;
  c = read("sw");
  ASSERT_TRUE(c.failover());
  EXPECT_EQ(c.failover()->leader.value_or(""), "node1");
  EXPECT_FALSE(c.failover()->candidate);
  ASSERT_TRUE(c.failover()->scheduled_at);
  // The scheduled switchover now shows in the member table.
  EXPECT_NE(run_ctl(with_config({"list", "sw"}))
                .out.find("Switchover scheduled at: 2099-01-02T03:04:05+00:00"),
            std::string::npos);
}

TEST_F(CtlCommands, FailoverFallsBackToTheFailoverKey) {
  make_cluster("fo", kConfig);
  auto r = run_ctl(with_config({"failover", "fo", "--candidate", "node2", "--force"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(" Could not failover using Patroni api, falling back to DCS\n"),
            std::string::npos)
      << r.out;
  auto c = read("fo");
  ASSERT_TRUE(c.failover());
  EXPECT_FALSE(c.failover()->leader);
  EXPECT_EQ(c.failover()->candidate.value_or(""), "node2");
}

TEST_F(CtlCommands, SwitchoverAndFailoverRefusals) {
  make_cluster("swr", kConfig);
  struct Case {
    std::vector<std::string> args;
    std::string input;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"failover", "swr", "--force"},
       "",
       "Failover could be performed only to a specific candidate"},
      {{"failover", "swr", "--candidate", "node1", "--force"},
       "",
       "Member node1 is already the leader of cluster swr"},
      {{"failover", "swr", "--candidate", "node3", "--force"},
       "",
       "Member node3 does not exist in cluster swr or is tagged as nofailover"},
      {{"switchover", "swr", "--leader", "node2", "--force"},
       "",
       "Member node2 is not the leader of cluster swr"},
      {{"switchover", "swr", "--force", "--scheduled", "soon"},
       "",
       "Unable to parse scheduled timestamp (soon)"},
      {{"switchover", "swr", "--candidate", "node2"}, "\nnow\nn\n", "Aborting switchover"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.error);
    auto r = run_ctl(with_config(c.args), c.input);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.err.find("Error: " + c.error), std::string::npos) << r.err;
  }
  auto c = read("swr");
  EXPECT_FALSE(c.failover());
}

TEST_F(CtlCommands, RestartAndReloadNeedReachableMembers) {
  make_cluster("rst", kConfig);
  auto r = run_ctl(with_config({"restart", "rst", "node2", "--force"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Error: cannot call POST /restart on member node2"), std::string::npos)
      << r.err;
  auto none = run_ctl(with_config({"reload", "rst", "node1", "-r", "replica", "--force"}));
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("Error: No replica among provided members"), std::string::npos)
      << none.err;
  auto abort = run_ctl(with_config({"reload", "rst"}), "n\n");
  EXPECT_EQ(abort.exit_code, 1);
  EXPECT_NE(abort.out.find("Are you sure you want to reload members node1, node2, node3? [y/N]: "),
            std::string::npos)
      << abort.out;
  EXPECT_NE(abort.err.find("Error: Aborted reload"), std::string::npos) << abort.err;
  auto badver = run_ctl(with_config({"restart", "rst", "--force", "--pg-version", "9.6"}));
  EXPECT_EQ(badver.exit_code, 1);
  EXPECT_NE(badver.err.find("Invalid PostgreSQL format"), std::string::npos) << badver.err;
}

TEST_F(CtlCommands, QueryWithoutAServer) {
  make_cluster("q1", kConfig);
  auto r = run_ctl(with_config({"query", "q1", "-c", "SELECT 1"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_match(
      r.out, std::regex(R"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\tERROR, SQLSTATE: [^\n]+\n)")))
      << r.out;
  auto role = run_ctl(with_config({"query", "q1", "-c", "SELECT 1", "-r", "standby-leader"}));
  EXPECT_EQ(role.exit_code, 0) << role.err;
  EXPECT_NE(role.out.find("\tNo connection to role=standby-leader is available\n"),
            std::string::npos)
      << role.out;
  auto member = run_ctl(with_config({"query", "q1", "-c", "SELECT 1", "-m", "ghost"}));
  EXPECT_NE(member.out.find("\tNo connection to member ghost is available\n"), std::string::npos)
      << member.out;
  auto neither = run_ctl(with_config({"query", "q1"}));
  EXPECT_EQ(neither.exit_code, 1);
  EXPECT_EQ(neither.err, "Error: You need to specify either --command or --file\n");
  auto both = run_ctl(with_config({"query", "q1", "-c", "SELECT 1", "-f", "/dev/null"}));
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_EQ(both.err, "Error: --file and --command are mutually exclusive options\n");
}

TEST_F(CtlCommands, DemoteClusterRefusalsAndAnUnreachableLeader) {
  make_cluster("dem", kConfig);
  auto no_source = run_ctl(with_config({"demote-cluster", "dem", "--primary-slot-name", "s", "--force"}));
  EXPECT_EQ(no_source.exit_code, 1);
  EXPECT_EQ(no_source.out, "");
  EXPECT_EQ(no_source.err, "Error: At least --host, --port or --restore-command should be specified\n");

  auto bad_port = run_ctl(with_config({"demote-cluster", "dem", "--port", "99999"}));
  EXPECT_EQ(bad_port.exit_code, 2);
  EXPECT_NE(bad_port.err.find("Error: --port: '99999' is not a port number"), std::string::npos)
      << bad_port.err;

  // The leader's role is master: promoting has nothing to do.
  auto promote = run_ctl(with_config({"promote-cluster", "dem", "--force"}));
  EXPECT_EQ(promote.exit_code, 1);
  EXPECT_EQ(promote.err, "Error: Cluster is already in the required state\n");

  auto no = run_ctl(with_config({"demote-cluster", "dem", "--host", "10.0.0.9"}), "n\n");
  EXPECT_EQ(no.exit_code, 1);
  EXPECT_EQ(no.out.rfind("Current cluster topology\n+ Cluster: dem ", 0), 0u) << no.out;
  EXPECT_NE(no.out.find("| node1  | 127.0.0.1:5432 | Leader  |"), std::string::npos) << no.out;
  EXPECT_NE(no.out.find("Are you sure you want to demote dem cluster? [y/N]: "), std::string::npos)
      << no.out;
  EXPECT_EQ(no.err, "Error: Aborted cluster demotion\n");

  // The leader's REST API does not answer: nothing is written, nothing is waited for.
  auto r = run_ctl(with_config({"demote-cluster", "dem", "--host", "10.0.0.9", "--port", "5433",
                                "--force"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("Error: Failed to demote dem cluster: ", 0), 0u) << r.err;
  EXPECT_EQ(r.out.find("Are you sure"), std::string::npos) << r.out;
  EXPECT_EQ(config_of("dem"), json::parse(kConfig));
}

TEST_F(CtlCommands, PromoteClusterOfAStandbyCluster) {
  const std::string standby_config =
      R"({"ttl":60,"loop_wait":10,"standby_cluster":{"host":"10.0.0.9","port":5432}})";
  auto* leader = member("stb", "node1");
  ASSERT_TRUE(leader->initialize(true, "7000000000000000002").ok());
  ASSERT_TRUE(leader->set_config_value(standby_config, std::nullopt).ok());
  ASSERT_TRUE(leader->attempt_to_acquire_leader().ok());
  ASSERT_TRUE(leader->touch_member(json::parse(member_value(5432, "standby_leader"))).ok());
  ASSERT_TRUE(member("stb", "node2")->touch_member(json::parse(member_value(5433, "replica"))).ok());

  auto demote = run_ctl(with_config({"demote-cluster", "stb", "--host", "10.0.0.8", "--force"}));
  EXPECT_EQ(demote.exit_code, 1);
  EXPECT_EQ(demote.err, "Error: Cluster is already in the required state\n");

  auto abort = run_ctl(with_config({"promote-cluster", "stb"}), "no\n");
  EXPECT_EQ(abort.exit_code, 1);
  EXPECT_NE(abort.out.find("| node1  | 127.0.0.1:5432 | Standby Leader |"), std::string::npos)
      << abort.out;
  EXPECT_NE(abort.out.find("Are you sure you want to promote stb cluster? [y/N]: "), std::string::npos)
      << abort.out;
  EXPECT_EQ(abort.err, "Error: Aborted cluster promotion\n");

  auto r = run_ctl(with_config({"promote-cluster", "stb", "--force"}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("Error: Failed to promote stb cluster: ", 0), 0u) << r.err;
  EXPECT_EQ(config_of("stb"), json::parse(standby_config));
}

TEST_F(CtlCommands, DemoteAndPromoteClusterWithoutALeader) {
  auto* first = member("nolead", "node1");
  ASSERT_TRUE(first->initialize(true, "7000000000000000003").ok());
  ASSERT_TRUE(first->set_config_value(kConfig, std::nullopt).ok());
  ASSERT_TRUE(first->touch_member(json::parse(member_value(5432, "replica"))).ok());
  auto demote = run_ctl(with_config({"demote-cluster", "nolead", "--host", "h", "--force"}));
  EXPECT_EQ(demote.exit_code, 1);
  EXPECT_EQ(demote.err, "Error: Cluster has no leader, demotion is not possible\n");
  EXPECT_EQ(demote.out, "");
  auto promote = run_ctl(with_config({"promote-cluster", "nolead", "--force"}));
  EXPECT_EQ(promote.exit_code, 1);
  EXPECT_EQ(promote.err, "Error: Cluster has no leader, promotion is not possible\n");
}

// A throw-away PostgreSQL run as the postgres user (the tests run as root).
class ScratchPostgres {
 public:
  explicit ScratchPostgres(const std::string& dir) : dir_(dir + "/pg"), port_(free_port()) {
    const std::string bin = "/usr/lib/postgresql/15/bin";
    if (!std::filesystem::exists(bin + "/initdb") || ::getuid() != 0) return;
    std::filesystem::create_directories(dir_);
    run_command({"chown", "-R", "postgres", dir_}, 10s);
    std::filesystem::permissions(dir, std::filesystem::perms::all);
    auto init = run_command({"runuser", "-u", "postgres", "--", bin + "/initdb", "-D",
                             dir_ + "/data", "-U", "postgres", "--auth=trust"},
                            120s);
    if (init.exit_code != 0) return;
    auto start = run_command(
        {"runuser", "-u", "postgres", "--", bin + "/pg_ctl", "-D", dir_ + "/data", "-l",
         dir_ + "/log", "-w", "-o",
         "-p " + std::to_string(port_) + " -k " + dir_ + " -c listen_addresses=127.0.0.1", "start"},
        120s);
    ok_ = start.exit_code == 0;
  }
  ~ScratchPostgres() {
    if (ok_)
      run_command({"runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/pg_ctl", "-D",
                   dir_ + "/data", "-m", "immediate", "stop"},
                  60s);
  }
  bool ok() const { return ok_; }
  int port() const { return port_; }

 private:
  std::string dir_;
  int port_;
  bool ok_ = false;
};

TEST_F(CtlCommands, QueryARealServer) {
  ScratchPostgres pg(dir_);
  if (!pg.ok()) GTEST_SKIP() << "cannot start PostgreSQL 15 here";
  auto* leader = member("q2", "solo");
  ASSERT_TRUE(leader->initialize(true, "7000000000000000009").ok());
  ASSERT_TRUE(leader->attempt_to_acquire_leader().ok());
  ASSERT_TRUE(leader->touch_member(json::parse(member_value(pg.port(), "master"))).ok());

  auto r = run_ctl(with_config({"query", "q2", "-U", "postgres", "-d", "postgres", "-c",
                                "SELECT 1 AS one, NULL AS nothing, 'x' AS letter"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "one\tnothing\tletter\n1\tNone\tx\n");
  auto app =
      run_ctl(with_config({"query", "q2", "-U", "postgres", "-d", "postgres", "--format", "json",
                           "-c", "SELECT current_setting('application_name') AS app"}));
  EXPECT_EQ(app.out, "[{\"app\": \"Patroni ctl\"}]\n") << app.err;
  auto csv = run_ctl(with_config({"query", "q2", "-U", "postgres", "-d", "postgres", "--delimiter",
                                  ",", "-c", "SELECT 1 AS a, 2 AS b"}));
  EXPECT_EQ(csv.out, "a,b\n1,2\n");
  auto bad = run_ctl(
      with_config({"query", "q2", "-U", "postgres", "-d", "postgres", "-c", "SELECT * FROM nope"}));
  EXPECT_EQ(bad.exit_code, 0);
  EXPECT_TRUE(std::regex_match(
      bad.out, std::regex(R"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\tERROR, SQLSTATE: 42P01\n)")))
      << bad.out;
  auto replica =
      run_ctl(with_config({"query", "q2", "-U", "postgres", "-r", "replica", "-c", "SELECT 1"}));
  EXPECT_NE(replica.out.find("No connection to role=replica is available"), std::string::npos)
      << replica.out;
  auto primary = run_ctl(
      with_config({"query", "q2", "-U", "postgres", "-r", "primary", "-c", "SELECT 2 AS two"}));
  EXPECT_EQ(primary.out, "two\n2\n") << primary.err;
}

}  // namespace
}  // namespace custos::test
