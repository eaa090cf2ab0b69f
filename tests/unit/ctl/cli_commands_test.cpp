// Command-line parsing of the commands beyond list/topology: arguments, options, defaults and
// usage errors (exit 2).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "ctl/cli.h"

namespace custos::ctl {
namespace {

ParseOutcome parse(std::vector<std::string> args) {
  args.insert(args.begin(), "custosctl");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

class CtlCliCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("PATRONICTL_CONFIG_FILE");
    ::unsetenv("DCS_URL");
  }
  static Invocation ok(std::vector<std::string> args) {
    auto p = parse(args);
    EXPECT_TRUE(p.invocation) << p.err;
    return p.invocation.value_or(Invocation{});
  }
  static void usage_error(std::vector<std::string> args, const std::string& message) {
    auto p = parse(args);
    EXPECT_FALSE(p.invocation);
    EXPECT_EQ(p.exit_code, 2);
    EXPECT_NE(p.err.find("Error: "), std::string::npos) << p.err;
    EXPECT_NE(p.err.find(message), std::string::npos) << p.err;
  }
};

TEST_F(CtlCliCommands, ShowConfigHistoryDsn) {
  auto s = ok({"show-config"});
  EXPECT_EQ(s.command, Command::kShowConfig);
  EXPECT_FALSE(s.cluster);
  s = ok({"show-config", "demo", "--group", "1"});
  EXPECT_EQ(s.cluster.value_or(""), "demo");
  EXPECT_EQ(s.group.value_or(-1), 1);

  auto h = ok({"history", "demo", "-f", "json"});
  EXPECT_EQ(h.command, Command::kHistory);
  EXPECT_EQ(h.format, OutputFormat::kJson);
  EXPECT_EQ(ok({"history"}).format, OutputFormat::kPretty);
  usage_error({"history", "-f", "xml"}, "--format: xml not in");

  auto d = ok({"dsn", "demo", "-r", "standby-leader"});
  EXPECT_EQ(d.command, Command::kDsn);
  EXPECT_EQ(d.role.value_or(""), "standby-leader");
  EXPECT_FALSE(d.member);
  d = ok({"dsn", "--member", "node2"});
  EXPECT_EQ(d.member.value_or(""), "node2");
  EXPECT_FALSE(d.role);
  // -r with -m parses; the command refuses it (exit 1, as patronictl).
  EXPECT_TRUE(parse({"dsn", "-r", "replica", "-m", "x"}).invocation);
  usage_error({"dsn", "-r", "boss"}, "--role: boss not in");
  for (const char* r : {"leader", "primary", "master", "replica", "standby", "any"})
    EXPECT_EQ(ok({"dsn", "-r", r}).role.value_or(""), r);
}

TEST_F(CtlCliCommands, EditConfig) {
  auto e = ok({"edit-config", "-s", "a.b=1", "--set", "c=x", "demo", "-p", "work_mem=8MB", "--pg",
               "x.y=1", "-q", "--apply", "-", "--replace", "f.yaml", "--force", "--group", "0"});
  EXPECT_EQ(e.command, Command::kEditConfig);
  EXPECT_EQ(e.cluster.value_or(""), "demo");
  EXPECT_EQ(e.edit.set, (std::vector<std::string>{"a.b=1", "c=x"}));
  EXPECT_EQ(e.edit.pg, (std::vector<std::string>{"work_mem=8MB", "x.y=1"}));
  EXPECT_TRUE(e.edit.quiet);
  EXPECT_EQ(e.edit.apply.value_or(""), "-");
  EXPECT_EQ(e.edit.replace.value_or(""), "f.yaml");
  EXPECT_TRUE(e.force);
  EXPECT_EQ(e.group.value_or(-1), 0);
  auto plain = ok({"edit-config"});
  EXPECT_TRUE(plain.edit.set.empty());
  EXPECT_FALSE(plain.edit.apply);
  EXPECT_FALSE(plain.force);
  usage_error({"edit-config", "--set"}, "--set");
  usage_error({"edit-config", "--apply"}, "--apply");
  usage_error({"edit-config", "--bogus"}, "--bogus");
}

TEST_F(CtlCliCommands, PauseResume) {
  auto p = ok({"pause", "demo", "--wait"});
  EXPECT_EQ(p.command, Command::kPause);
  EXPECT_TRUE(p.wait);
  auto r = ok({"resume"});
  EXPECT_EQ(r.command, Command::kResume);
  EXPECT_FALSE(r.wait);
  usage_error({"pause", "--force"}, "--force");
}

TEST_F(CtlCliCommands, SwitchoverAndFailover) {
  auto s = ok({"switchover", "demo", "--primary", "node1", "--candidate", "node2", "--scheduled",
               "now", "--force"});
  EXPECT_EQ(s.command, Command::kSwitchover);
  EXPECT_EQ(s.switchover.leader.value_or(""), "node1");
  EXPECT_EQ(s.switchover.candidate.value_or(""), "node2");
  EXPECT_EQ(s.switchover.scheduled.value_or(""), "now");
  EXPECT_TRUE(s.force);
  EXPECT_EQ(ok({"switchover", "--master", "m"}).switchover.leader.value_or(""), "m");
  EXPECT_EQ(ok({"switchover", "--leader", "l"}).switchover.leader.value_or(""), "l");
  auto f = ok({"failover", "--candidate", "node3"});
  EXPECT_EQ(f.command, Command::kFailover);
  EXPECT_FALSE(f.switchover.leader);
  EXPECT_EQ(ok({"failover", "--leader", "x"}).switchover.leader.value_or(""), "x");
  usage_error({"failover", "--scheduled", "now"}, "--scheduled");
  usage_error({"switchover", "--candidate"}, "--candidate");
}

TEST_F(CtlCliCommands, Restart) {
  auto r = ok({"restart", "demo", "node1", "node2", "-r", "replica", "--any", "--scheduled",
               "2030-01-01T10:00", "--pg-version", "16.2", "--pending", "--timeout", "30",
               "--force", "--group", "2"});
  EXPECT_EQ(r.command, Command::kRestart);
  EXPECT_EQ(r.cluster.value_or(""), "demo");
  EXPECT_EQ(r.members, (std::vector<std::string>{"node1", "node2"}));
  EXPECT_EQ(r.role.value_or(""), "replica");
  EXPECT_TRUE(r.restart.any);
  EXPECT_EQ(r.restart.scheduled.value_or(""), "2030-01-01T10:00");
  EXPECT_EQ(r.restart.pg_version.value_or(""), "16.2");
  EXPECT_TRUE(r.restart.pending);
  EXPECT_EQ(r.restart.timeout.value_or(""), "30");
  EXPECT_TRUE(r.force);
  EXPECT_EQ(r.group.value_or(-1), 2);
  auto d = ok({"restart", "demo"});
  EXPECT_FALSE(d.role);  // the command defaults to any
  EXPECT_TRUE(d.members.empty());
  usage_error({"restart"}, "CLUSTER_NAME is required");
  usage_error({"restart", "demo", "-r", "x"}, "--role: x not in");
  usage_error({"restart", "demo", "--group", "g"}, "--group");
}

TEST_F(CtlCliCommands, ReinitReloadRemove) {
  auto i = ok({"reinit", "demo", "node2", "--force", "--wait"});
  EXPECT_EQ(i.command, Command::kReinit);
  EXPECT_EQ(i.members, (std::vector<std::string>{"node2"}));
  EXPECT_TRUE(i.force);
  EXPECT_TRUE(i.wait);
  usage_error({"reinit"}, "CLUSTER_NAME is required");
  usage_error({"reinit", "demo", "-r", "replica"}, "-r");

  auto l = ok({"reload", "demo", "-r", "leader", "--force"});
  EXPECT_EQ(l.command, Command::kReload);
  EXPECT_EQ(l.role.value_or(""), "leader");
  usage_error({"reload"}, "CLUSTER_NAME is required");

  auto m = ok({"remove", "demo", "-f", "tsv"});
  EXPECT_EQ(m.command, Command::kRemove);
  EXPECT_EQ(m.format, OutputFormat::kTsv);
  usage_error({"remove"}, "CLUSTER_NAME is required");
  usage_error({"remove", "demo", "--force"}, "--force");
}

TEST_F(CtlCliCommands, Flush) {
  auto f = ok({"flush", "demo", "restart"});
  EXPECT_EQ(f.command, Command::kFlush);
  EXPECT_EQ(f.cluster.value_or(""), "demo");
  EXPECT_TRUE(f.members.empty());
  EXPECT_EQ(f.flush_target, "restart");
  f = ok({"flush", "demo", "node1", "node2", "switchover", "-r", "replica", "--force"});
  EXPECT_EQ(f.members, (std::vector<std::string>{"node1", "node2"}));
  EXPECT_EQ(f.flush_target, "switchover");
  EXPECT_EQ(f.role.value_or(""), "replica");
  EXPECT_TRUE(f.force);
  usage_error({"flush", "demo"}, "Missing argument '{restart|switchover}'");
  usage_error({"flush"}, "required");
  usage_error({"flush", "demo", "node1", "everything"},
              "'everything' is not one of 'restart', 'switchover'");
}

TEST_F(CtlCliCommands, Query) {
  auto q = ok({"query", "demo", "-c", "SELECT 1", "-U", "postgres", "--password", "-d", "db", "-r",
               "replica", "--format", "json", "--delimiter", ",", "-w", "3"});
  EXPECT_EQ(q.command, Command::kQuery);
  EXPECT_EQ(q.cluster.value_or(""), "demo");
  EXPECT_EQ(q.query.command.value_or(""), "SELECT 1");
  EXPECT_EQ(q.query.username.value_or(""), "postgres");
  EXPECT_TRUE(q.query.password);
  EXPECT_EQ(q.query.dbname.value_or(""), "db");
  EXPECT_EQ(q.role.value_or(""), "replica");
  EXPECT_EQ(q.query.format, "json");
  EXPECT_EQ(q.query.delimiter, ",");
  EXPECT_DOUBLE_EQ(q.query.watch.value_or(0), 3.0);
  auto f = ok({"query", "-f", "x.sql", "-m", "node1", "-W"});
  EXPECT_EQ(f.query.file.value_or(""), "x.sql");
  EXPECT_EQ(f.member.value_or(""), "node1");
  EXPECT_DOUBLE_EQ(f.query.watch.value_or(0), 2.0);
  EXPECT_EQ(f.query.format, "tsv");
  EXPECT_EQ(f.query.delimiter, "\t");
  usage_error({"query", "--format", "xml"}, "--format: xml not in");
  usage_error({"query", "-c"}, "-c");
}

TEST_F(CtlCliCommands, VersionWithClusterAndMembers) {
  auto v = ok({"version"});
  EXPECT_EQ(v.command, Command::kVersion);
  EXPECT_FALSE(v.cluster);
  v = ok({"version", "demo", "node1", "node2", "--group", "1"});
  EXPECT_EQ(v.cluster.value_or(""), "demo");
  EXPECT_EQ(v.members, (std::vector<std::string>{"node1", "node2"}));
  EXPECT_EQ(v.group.value_or(-1), 1);
}

TEST_F(CtlCliCommands, GlobalOptionsReachEveryCommand) {
  auto e =
      ok({"-c", "/x.yml", "-k", "--dcs-url", "etcd3://h:2379", "edit-config", "demo", "-s", "a=1"});
  EXPECT_EQ(e.global.config_file.value_or(""), "/x.yml");
  EXPECT_TRUE(e.global.insecure);
  EXPECT_EQ(e.global.dcs_url.value_or(""), "etcd3://h:2379");
  EXPECT_EQ(std::string(command_name(Command::kEditConfig)), "edit-config");
  EXPECT_EQ(std::string(command_name(Command::kShowConfig)), "show-config");
}

TEST_F(CtlCliCommands, HelpOfACommand) {
  auto p = parse({"switchover", "--help"});
  EXPECT_FALSE(p.invocation);
  EXPECT_EQ(p.exit_code, 0);
  EXPECT_NE(p.out.find("--candidate"), std::string::npos) << p.out;
}

}  // namespace
}  // namespace custos::ctl
