// End-to-end test of custosctl (spec/ctl.md) against a live three-node custos cluster with
// basic authentication on its REST API: every command an operator runs, through the real
// agents (custosctl reads the node's own YAML, so it takes the credentials from
// restapi.authentication), with the outcome checked on the cluster itself, not only in the
// command's output.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cluster_fixture.h"

namespace custos::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class CtlE2E : public ClusterFixture {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.scope = "e2e-ctl";
    o.rest_user = "operator";
    o.rest_password = "pa55";
    make_cluster(o);
    c().start_all();
    const int p = c().wait_for_primary(150s);
    c().wait_for_streaming(p, others(p), 150s);
  }

  // custosctl -c <node 0's config> args...
  test::RunResult ctl(std::vector<std::string> args, std::chrono::milliseconds timeout = 120s) {
    return TestCluster::custosctl(c().node(0).config_file, args, timeout);
  }

  bool has(const test::RunResult& r, const std::string& text) { return r.output.find(text) != std::string::npos; }
};

TEST_F(CtlE2E, EveryOperationThroughCustosctl) {
  const std::string scope = c().options().scope;
  int p = c().index_of(*c().leader_name());

  auto r = ctl({"list"});
  ASSERT_EQ(r.exit_code, 0);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(has(r, c().name(i)));
  EXPECT_TRUE(has(r, "Leader"));

  // switchover to a named candidate, then failover to the third node
  const int cand = others(p)[0];
  r = ctl({"switchover", "--force", "--candidate", c().name(cand)});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(has(r, "Successfully switched over to \"" + c().name(cand) + "\""));
  EXPECT_EQ(c().wait_for_primary(60s), cand);
  c().wait_for_streaming(cand, others(cand), 90s);
  const int third = 3 - p - cand;
  r = ctl({"failover", "--force", "--candidate", c().name(third)});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(has(r, "Successfully failed over to \"" + c().name(third) + "\""));
  p = c().wait_for_primary(60s);
  EXPECT_EQ(p, third);
  c().wait_for_streaming(p, others(p), 90s);
  r = ctl({"switchover", "--force", "--candidate", c().name(p)});
  EXPECT_NE(r.exit_code, 0);  // the candidate is already the leader

  // restart of one member: a new postmaster
  const int rep = others(p)[0];
  const auto started_before = c().postmaster_start_time(rep);
  r = ctl({"restart", scope, c().name(rep), "--force"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(has(r, "Success: restart on member " + c().name(rep)));
  EXPECT_TRUE(eventually([&] { return c().postmaster_start_time(rep) && c().postmaster_start_time(rep) != started_before; }, 30s));

  // reload of every member
  r = ctl({"reload", scope, "--force"});
  EXPECT_EQ(r.exit_code, 0);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(has(r, c().name(i))) << i;

  // reinit of a replica, waiting for it
  r = ctl({"reinit", scope, c().name(rep), "--force", "--wait"}, 240s);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(has(r, "Success: reinitialize for member " + c().name(rep)));
  c().wait_for_streaming(p, others(p), 120s);
  r = ctl({"reinit", scope, c().name(p), "--force"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(has(r, "No replica among provided members"));  // reinit is for replicas (ctl.md §5)

  // edit-config --strict: a value the nodes would refuse writes nothing; a parameter reaches
  // every node
  const auto config_before = c().get_key("config");
  r = ctl({"edit-config", "--force", "--strict", "-s", "loop_wait=often"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(has(r, "loop_wait"));
  EXPECT_EQ(c().get_key("config"), config_before);
  r = ctl({"edit-config", "--force", "-p", "work_mem=9MB"});
  EXPECT_EQ(r.exit_code, 0);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(eventually([&] { return c().sql_value(i, "SHOW work_mem") == std::string("9MB"); }, 30s)) << i;
  r = ctl({"show-config"});
  EXPECT_TRUE(has(r, "work_mem: 9MB"));

  // pause / resume --wait, shown by list, and what pause refuses
  r = ctl({"pause", "--wait"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(has(r, "Success: cluster management is paused"));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(patroni(i).value("pause", false)) << i;
  EXPECT_TRUE(has(ctl({"list"}), "Maintenance mode: on"));
  r = ctl({"pause"});
  EXPECT_NE(r.exit_code, 0);  // already paused
  r = ctl({"resume", "--wait"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(has(r, "Success: cluster management is resumed"));
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(patroni(i).value("pause", false)) << i;

  // scheduled restart and scheduled switchover, then flushed
  r = ctl({"restart", scope, c().name(rep), "--force", "--scheduled", "2099-01-01T00:00:00+00:00"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(has(r, "Success: restart scheduled on member " + c().name(rep)));
  EXPECT_TRUE(eventually([&] { return has(ctl({"list"}), "2099-01-01"); }, 20s));
  r = ctl({"flush", scope, "restart", "--force"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(eventually([&] { return !has(ctl({"list"}), "2099-01-01"); }, 20s));
  r = ctl({"switchover", "--force", "--candidate", c().name(rep), "--scheduled", "2099-01-01T00:00:00+00:00"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(has(r, "Switchover scheduled"));
  EXPECT_TRUE(has(ctl({"list"}), "Switchover scheduled at"));
  r = ctl({"flush", scope, "switchover", "--force"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(has(ctl({"list"}), "Switchover scheduled at"));

  // read-only commands
  r = ctl({"history"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(has(r, "no recovery target specified"));
  r = ctl({"dsn"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(has(r, "port=" + std::to_string(c().node(p).pg_port)));
  r = ctl({"version", scope});
  EXPECT_EQ(r.exit_code, 0);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(has(r, c().name(i) + ": Patroni")) << i;
  // query connects with libpq defaults for the password (as patronictl does without --password).
  ::setenv("PGPASSWORD", "e2e-super-pw", 1);  // test_cluster.cpp kSuperuserPassword
  r = ctl({"query", "-c", "SELECT 40 + 2 AS answer", "-U", "postgres"});
  ::unsetenv("PGPASSWORD");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(has(r, "42"));

  // bad arguments: usage errors, clear messages
  r = ctl({"switchover", "--force", "--candidate", "nobody"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(has(r, "nobody"));
  r = ctl({"restart", scope, "--role", "boss"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(c().index_of(*c().leader_name()), p);
}

}  // namespace
}  // namespace custos::e2e
