// `custosctl demote-cluster` / `promote-cluster` (patronictl 4.1): the command line, the
// standby_cluster section built from the options, the refusals, the status line of each DCS
// reading while waiting, and the whole exchange (prompt, PATCH /config on the leader, readings
// until done, member tables) driven over scripted DCS reads and a stand-in for the REST API.
#include <gtest/gtest.h>

#include <cstdlib>
#include <deque>
#include <sstream>
#include <string>
#include <vector>

#include "ctl/cli.h"
#include "ctl/cluster_role.h"
#include "ctl/command_context.h"
#include "ctl/commands.h"
#include "ctl_test_util.h"

namespace custos::ctl {
namespace {

using namespace custos::ctl::test;

// ---- the command line ----

ParseOutcome parse(std::vector<std::string> args) {
  ::unsetenv("PATRONICTL_CONFIG_FILE");
  ::unsetenv("DCS_URL");
  args.insert(args.begin(), "custosctl");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

void expect_usage_error(std::vector<std::string> args, const std::string& message) {
  auto p = parse(args);
  EXPECT_FALSE(p.invocation);
  EXPECT_EQ(p.exit_code, 2);
  EXPECT_NE(p.err.find("Error: "), std::string::npos) << p.err;
  EXPECT_NE(p.err.find(message), std::string::npos) << p.err;
}

TEST(CtlClusterRoleCli, DemoteClusterOptions) {
  auto p = parse({"demote-cluster", "demo", "--host", "10.0.0.9", "--port", "5433",
                  "--restore-command", "cp /arch/%f %p", "--primary-slot-name", "dc2", "--force"});
  ASSERT_TRUE(p.invocation) << p.err;
  const Invocation& inv = *p.invocation;
  EXPECT_EQ(inv.command, Command::kDemoteCluster);
  EXPECT_EQ(inv.cluster.value_or(""), "demo");
  EXPECT_EQ(inv.demote.host.value_or(""), "10.0.0.9");
  EXPECT_EQ(inv.demote.port.value_or(0), 5433);
  EXPECT_EQ(inv.demote.restore_command.value_or(""), "cp /arch/%f %p");
  EXPECT_EQ(inv.demote.primary_slot_name.value_or(""), "dc2");
  EXPECT_TRUE(inv.force);

  auto bare = parse({"demote-cluster"});
  ASSERT_TRUE(bare.invocation) << bare.err;  // the missing source is the command's refusal (exit 1)
  EXPECT_FALSE(bare.invocation->cluster);
  EXPECT_FALSE(bare.invocation->demote.host);
  EXPECT_FALSE(bare.invocation->demote.port);
  EXPECT_FALSE(bare.invocation->force);
  EXPECT_EQ(std::string(command_name(Command::kDemoteCluster)), "demote-cluster");
}

TEST(CtlClusterRoleCli, DemoteClusterBadArguments) {
  expect_usage_error({"demote-cluster", "--port", "abc"}, "--port: 'abc' is not a valid integer");
  expect_usage_error({"demote-cluster", "--port", "5432x"}, "--port: '5432x' is not a valid integer");
  expect_usage_error({"demote-cluster", "--port", "70000"},
                     "--port: '70000' is not a port number (1 to 65535)");
  expect_usage_error({"demote-cluster", "--port", "0"}, "--port: '0' is not a port number");
  expect_usage_error({"demote-cluster", "--port", "-1"}, "--port: '-1' is not a port number");
  EXPECT_EQ(parse({"demote-cluster", "--port", "65535"}).invocation->demote.port.value_or(0), 65535);
  EXPECT_EQ(parse({"demote-cluster", "--port", "1"}).invocation->demote.port.value_or(0), 1);
  expect_usage_error({"demote-cluster", "--host"}, "--host");
  expect_usage_error({"demote-cluster", "--group", "1"}, "--group");  // no --group, as patronictl
  expect_usage_error({"demote-cluster", "--wait"}, "--wait");
  expect_usage_error({"demote-cluster", "a", "b"}, "b");
}

TEST(CtlClusterRoleCli, PromoteCluster) {
  auto p = parse({"promote-cluster", "demo", "--force"});
  ASSERT_TRUE(p.invocation) << p.err;
  EXPECT_EQ(p.invocation->command, Command::kPromoteCluster);
  EXPECT_EQ(p.invocation->cluster.value_or(""), "demo");
  EXPECT_TRUE(p.invocation->force);
  EXPECT_EQ(std::string(command_name(Command::kPromoteCluster)), "promote-cluster");
  expect_usage_error({"promote-cluster", "--host", "h"}, "--host");
  expect_usage_error({"promote-cluster", "--group", "0"}, "--group");
}

TEST(CtlClusterRoleCli, Help) {
  auto top = parse({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("demote-cluster"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("promote-cluster"), std::string::npos) << top.out;
  auto demote = parse({"demote-cluster", "--help"});
  EXPECT_EQ(demote.exit_code, 0);
  for (const char* option : {"--host", "--port", "--restore-command", "--primary-slot-name", "--force"})
    EXPECT_NE(demote.out.find(option), std::string::npos) << option << "\n" << demote.out;
}

// ---- the standby_cluster section ----

TEST(CtlClusterRole, StandbySectionHoldsTheGivenValues) {
  DemoteClusterArgs a;
  a.host = "10.0.0.9";
  a.port = 5433;
  a.restore_command = "cp /arch/%f %p";
  a.primary_slot_name = "dc2";
  auto s = standby_cluster_section(a);
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->dump(),
            R"({"host":"10.0.0.9","port":5433,"primary_slot_name":"dc2","restore_command":"cp /arch/%f %p"})");

  DemoteClusterArgs only_restore;
  only_restore.restore_command = "true";
  EXPECT_EQ(standby_cluster_section(only_restore)->dump(), R"({"restore_command":"true"})");
  DemoteClusterArgs only_port;
  only_port.port = 5432;
  EXPECT_EQ(standby_cluster_section(only_port)->dump(), R"({"port":5432})");
  DemoteClusterArgs empty_values;  // empty values are left out, as patronictl drops falsy ones
  empty_values.host = "h";
  empty_values.restore_command = "";
  empty_values.primary_slot_name = "";
  EXPECT_EQ(standby_cluster_section(empty_values)->dump(), R"({"host":"h"})");
}

TEST(CtlClusterRole, StandbySectionNeedsASource) {
  const std::string message = "At least --host, --port or --restore-command should be specified";
  EXPECT_EQ(standby_cluster_section({}).error(), message);
  DemoteClusterArgs slot_only;
  slot_only.primary_slot_name = "dc2";
  EXPECT_EQ(standby_cluster_section(slot_only).error(), message);
  DemoteClusterArgs blank;
  blank.host = "";
  blank.restore_command = "";
  blank.port = 0;
  EXPECT_EQ(standby_cluster_section(blank).error(), message);
}

// ---- refusals and readings ----

std::string leader_member(const std::string& port, const std::string& role,
                          const std::string& state) {
  return member_value("127.0.0.1:" + port, role, state, 1000, 2);
}

// node1 (5432) and node2 (5433); `leader` holds the lock (none when empty).
dcs::Cluster two_nodes(const std::string& leader, const std::string& role1,
                       const std::string& state1, const std::string& role2,
                       const std::string& state2) {
  std::vector<std::pair<std::string, std::string>> kv = {
      {"initialize", "7312345678901234567"},
      {"members/node1", leader_member("5432", role1, state1)},
      {"members/node2", leader_member("5433", role2, state2)}};
  if (!leader.empty()) kv.emplace_back("leader", leader);
  return cluster(kv);
}

TEST(CtlClusterRole, RefusalsWithoutALeaderOrWhenAlreadyThere) {
  auto unlocked = two_nodes("", "replica", "running", "replica", "running");
  EXPECT_EQ(role_change_refusal(unlocked, true).value_or(""),
            "Cluster has no leader, demotion is not possible");
  EXPECT_EQ(role_change_refusal(unlocked, false).value_or(""),
            "Cluster has no leader, promotion is not possible");

  const std::string already = "Cluster is already in the required state";
  auto standby = two_nodes("node1", "standby_leader", "running", "replica", "running");
  EXPECT_EQ(role_change_refusal(standby, true).value_or(""), already);
  EXPECT_FALSE(role_change_refusal(standby, false));
  for (const char* primary : {"primary", "master"}) {
    SCOPED_TRACE(primary);
    auto c = two_nodes("node1", primary, "running", "replica", "running");
    EXPECT_EQ(role_change_refusal(c, false).value_or(""), already);
    EXPECT_FALSE(role_change_refusal(c, true));
  }
  // The role is what counts, not the state: a stopped standby leader is still "there".
  EXPECT_EQ(role_change_refusal(two_nodes("node1", "standby_leader", "stopped", "replica", "running"), true)
                .value_or(""),
            already);
  // A lock holder without a member key (role unknown): the change may go on.
  auto bare = cluster({{"leader", "ghost"}, {"members/node2", leader_member("5433", "replica", "running")}});
  EXPECT_FALSE(role_change_refusal(bare, true));
  EXPECT_FALSE(role_change_refusal(bare, false));
}

TEST(CtlClusterRole, DemotionReadings) {
  struct Case {
    dcs::Cluster cluster;
    bool done;
    std::string line;
  };
  const std::vector<Case> cases = {
      {two_nodes("node1", "master", "running", "replica", "running"), false,
       "cluster is unlocked: False, leader role: master, leader state: running"},
      {two_nodes("", "replica", "stopping", "replica", "running"), false,
       "cluster is unlocked: True, leader role: None, leader state: None"},
      {two_nodes("node1", "standby_leader", "starting", "replica", "running"), false,
       "cluster is unlocked: False, leader role: standby_leader, leader state: starting"},
      // The lock moved: the old leader's state is shown until it runs again.
      {two_nodes("node2", "replica", "stopping", "standby_leader", "running"), false,
       "cluster is unlocked: False, leader role: standby_leader, leader state: running, "
       "previous leader state: 'stopping'"},
      {two_nodes("node2", "replica", "running", "standby_leader", "running"), true,
       "cluster is successfully demoted"},
      {two_nodes("node1", "standby_leader", "running", "replica", "streaming"), true,
       "cluster is successfully demoted"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    auto r = read_role_change(c.cluster, "node1", true);
    EXPECT_EQ(r.done, c.done);
    EXPECT_EQ(r.line, c.line);
  }
  // The old leader's member key gone: not done (it must run again), no previous state shown.
  auto gone = cluster({{"leader", "node2"},
                       {"members/node2", leader_member("5433", "standby_leader", "running")}});
  auto r = read_role_change(gone, "node1", true);
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.line, "cluster is unlocked: False, leader role: standby_leader, leader state: running");
  // A lock holder without a member key.
  r = read_role_change(cluster({{"leader", "node2"}}), "node1", true);
  EXPECT_EQ(r.line, "cluster is unlocked: False, leader role: None, leader state: None");
  // A state with a quote is shown as Python's repr shows it.
  auto quoted = two_nodes("node2", "replica", "it's", "standby_leader", "running");
  EXPECT_EQ(read_role_change(quoted, "node1", true).line,
            "cluster is unlocked: False, leader role: standby_leader, leader state: running, "
            "previous leader state: \"it's\"");
}

TEST(CtlClusterRole, PromotionReadings) {
  auto r = read_role_change(two_nodes("node1", "standby_leader", "running", "replica", "running"),
                            "node1", false);
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.line, "cluster is unlocked: False, leader role: standby_leader, leader state: running");
  r = read_role_change(two_nodes("node1", "primary", "starting", "replica", "running"), "node1", false);
  EXPECT_FALSE(r.done);
  for (const char* primary : {"primary", "master"}) {
    r = read_role_change(two_nodes("node1", primary, "running", "replica", "stopped"), "node1", false);
    EXPECT_TRUE(r.done) << primary;
    EXPECT_EQ(r.line, "cluster is successfully promoted");
  }
  // Another member took the lock: fine for a promotion, and no previous leader state is shown.
  r = read_role_change(two_nodes("node2", "replica", "stopping", "primary", "starting"), "node1", false);
  EXPECT_EQ(r.line, "cluster is unlocked: False, leader role: primary, leader state: starting");
  r = read_role_change(two_nodes("node2", "replica", "stopped", "primary", "running"), "node1", false);
  EXPECT_TRUE(r.done);
}

// ---- the whole exchange ----

struct Call {
  std::string member, method, endpoint;
  std::optional<nlohmann::json> body;
  std::chrono::milliseconds timeout;
};

class FakeApi : public MemberApi {
 public:
  Result<RestReply, std::string> reply = RestReply{200, R"({"standby_cluster":{}})"};
  std::vector<Call> calls;
  Result<RestReply, std::string> call(const dcs::Member& member, const std::string& method,
                                      const std::string& endpoint,
                                      const std::optional<nlohmann::json>& body,
                                      std::chrono::milliseconds timeout) override {
    calls.push_back({member.name(), method, endpoint, body, timeout});
    return reply;
  }
};

class CtlClusterRoleRun : public ::testing::Test {
 protected:
  // The DCS reads in order; the last one repeats.
  std::deque<dcs::Cluster> reads;
  int read_count = 0;
  int pauses = 0;
  int tables = 0;
  std::optional<int> interrupt_after;  // pauses before Ctrl-C
  FakeApi api;
  std::ostringstream out;

  void run(const RoleChangeRequest& request, const std::string& input = "") {
    std::istringstream in(input);
    Prompter prompter(in, out);
    RoleChangeEnv env;
    env.read_cluster = [&] {
      ++read_count;
      dcs::Cluster c = reads.front();
      if (reads.size() > 1) reads.pop_front();
      return c;
    };
    env.print_members = [&](const dcs::Cluster& c) {
      out << "[table " << ++tables << ": leader " << c.leader_name().value_or("none") << "]\n";
    };
    env.pause = [&] {
      if (interrupt_after && pauses >= *interrupt_after) throw PromptAborted();
      ++pauses;
    };
    env.timestamp = [] { return std::string("2025-09-23 10:11:12"); };
    change_cluster_role(request, api, prompter, out, env);
  }

  static RoleChangeRequest demote(bool force = false) {
    return {"demo", force, nlohmann::json{{"host", "10.0.0.9"}, {"port", 5432}}};
  }
  static RoleChangeRequest promote(bool force = false) { return {"demo", force, std::nullopt}; }

  std::string error_of(const RoleChangeRequest& request, const std::string& input = "") {
    try {
      run(request, input);
    } catch (const CtlError& e) {
      return e.what();
    }
    return "(no error)";
  }
};

TEST_F(CtlClusterRoleRun, DemoteAsksPatchesTheLeaderAndWaits) {
  reads = {two_nodes("node1", "master", "running", "replica", "running"),
           two_nodes("node1", "master", "running", "replica", "running"),
           two_nodes("", "replica", "stopping", "replica", "running"),
           two_nodes("node2", "replica", "stopping", "standby_leader", "running"),
           two_nodes("node2", "replica", "running", "standby_leader", "running")};
  run(demote(), "y\n");
  EXPECT_EQ(out.str(),
            "Current cluster topology\n"
            "[table 1: leader node1]\n"
            "Are you sure you want to demote demo cluster? [y/N]: "
            "2025-09-23 10:11:12 cluster is unlocked: False, leader role: master, leader state: running\n"
            "2025-09-23 10:11:12 cluster is unlocked: True, leader role: None, leader state: None\n"
            "2025-09-23 10:11:12 cluster is unlocked: False, leader role: standby_leader, leader state: "
            "running, previous leader state: 'stopping'\n"
            "2025-09-23 10:11:12 cluster is successfully demoted\n"
            "[table 2: leader node2]\n");
  ASSERT_EQ(api.calls.size(), 1u);
  EXPECT_EQ(api.calls[0].member, "node1");
  EXPECT_EQ(api.calls[0].method, "PATCH");
  EXPECT_EQ(api.calls[0].endpoint, "config");
  ASSERT_TRUE(api.calls[0].body);
  EXPECT_EQ(api.calls[0].body->dump(), R"({"standby_cluster":{"host":"10.0.0.9","port":5432}})");
  EXPECT_EQ(read_count, 5);
  EXPECT_EQ(pauses, 3);  // one between two readings, none after the last
}

TEST_F(CtlClusterRoleRun, PromoteWithForceRemovesTheSection) {
  reads = {two_nodes("node1", "standby_leader", "running", "replica", "streaming"),
           two_nodes("node1", "master", "running", "replica", "streaming")};
  run(promote(true));
  EXPECT_EQ(out.str(),
            "Current cluster topology\n"
            "[table 1: leader node1]\n"
            "2025-09-23 10:11:12 cluster is successfully promoted\n"
            "[table 2: leader node1]\n");
  ASSERT_EQ(api.calls.size(), 1u);
  EXPECT_EQ(api.calls[0].body->dump(), R"({"standby_cluster":null})");
  EXPECT_EQ(pauses, 0);
}

TEST_F(CtlClusterRoleRun, RefusalsComeBeforeAnyQuestionOrCall) {
  reads = {two_nodes("node1", "standby_leader", "running", "replica", "running")};
  EXPECT_EQ(error_of(demote()), "Cluster is already in the required state");
  reads = {two_nodes("node1", "primary", "running", "replica", "running")};
  EXPECT_EQ(error_of(promote()), "Cluster is already in the required state");
  reads = {two_nodes("", "replica", "running", "replica", "running")};
  EXPECT_EQ(error_of(demote(true)), "Cluster has no leader, demotion is not possible");
  EXPECT_EQ(error_of(promote(true)), "Cluster has no leader, promotion is not possible");
  EXPECT_TRUE(api.calls.empty());
  EXPECT_EQ(out.str(), "");
}

TEST_F(CtlClusterRoleRun, AnsweringNoAborts) {
  reads = {two_nodes("node1", "master", "running", "replica", "running")};
  EXPECT_EQ(error_of(demote(), "n\n"), "Aborted cluster demotion");
  reads = {two_nodes("node1", "standby_leader", "running", "replica", "running")};
  EXPECT_EQ(error_of(promote(), "\n"), "Aborted cluster promotion");  // the default is no
  EXPECT_TRUE(api.calls.empty());
  EXPECT_NE(out.str().find("Are you sure you want to promote demo cluster? [y/N]: "), std::string::npos);
  // End of input at the question: click's Abort.
  EXPECT_THROW(run(promote(), ""), PromptAborted);
  EXPECT_TRUE(api.calls.empty());
}

TEST_F(CtlClusterRoleRun, FailedPatch) {
  reads = {two_nodes("node1", "master", "running", "replica", "running")};
  api.reply = RestReply{503, "not now"};
  EXPECT_EQ(error_of(demote(true)),
            "Failed to demote demo cluster: /config PATCH status code=503, (not now)");
  reads = {two_nodes("node1", "standby_leader", "running", "replica", "running")};
  api.reply = Err<std::string>{"connection refused"};
  EXPECT_EQ(error_of(promote(true)), "Failed to promote demo cluster: connection refused");
  EXPECT_EQ(read_count, 2);  // no waiting after a failed call
  EXPECT_EQ(pauses, 0);
}

TEST_F(CtlClusterRoleRun, CtrlCWhileWaiting) {
  reads = {two_nodes("node1", "master", "running", "replica", "running")};
  interrupt_after = 2;
  EXPECT_THROW(run(demote(true)), PromptAborted);
  EXPECT_EQ(pauses, 2);
  EXPECT_EQ(read_count, 4);  // the first read, then three readings
}

// ---- through the command layer (no server needed before the source is checked) ----

TEST(CtlClusterRoleCommand, DemoteWithoutASourceIsRefusedBeforeReadingTheDcs) {
  ::unsetenv("PATRONICTL_CONFIG_FILE");
  ::unsetenv("DCS_URL");
  ::setenv("XDG_CONFIG_HOME", "/nonexistent-custosctl-unit", 1);
  const char* argv[] = {"custosctl", "--dcs-url", "etcd3://127.0.0.1:1", "demote-cluster", "demo",
                        "--primary-slot-name", "dc2", "--force"};
  std::ostringstream out, err;
  EXPECT_EQ(run_ctl(8, argv, out, err), 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(), "Error: At least --host, --port or --restore-command should be specified\n");
}

}  // namespace
}  // namespace custos::ctl
