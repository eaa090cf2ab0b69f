// The user's callbacks at Patroni's moments, through the real loop and executor on simulated
// nodes (RecordingHooks keeps what was fired): none during a bootstrap and on_start after it, on_start
// for a new replica, on_stop/on_role_change for a demoted primary and pre_promote/
// on_role_change for the new one in a switchover, on_role_change for a failover, on_restart
// for a restart, on_reload for a reload, on_stop for a clean stop.
#include <gtest/gtest.h>

#include <algorithm>

#include "sim_cluster.h"

namespace custos::test {
namespace {

bool follows(SimNode& n, const std::string& leader) {
  const auto s = n.pg.server();
  return s.running && s.in_recovery && s.upstream && s.upstream->name == leader;
}

void bring_up(SimCluster& c) {
  ASSERT_TRUE(c.rounds_until(
      [&] { return c.leader() == "node1" && follows(c.node("node2"), "node1") && follows(c.node("node3"), "node1"); },
      60));
  c.round();
}

std::vector<std::string> since(SimNode& n, std::size_t from) {
  auto all = n.hooks.fired();
  return std::vector<std::string>(all.begin() + static_cast<std::ptrdiff_t>(std::min(from, all.size())), all.end());
}

int count(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<int>(std::count(v.begin(), v.end(), s));
}

TEST(Callbacks, BootstrapFiresOnStartOnceAfterItAndReplicasGetOnStart) {
  SimCluster c(3);
  bring_up(c);
  const auto n1 = c.node("node1").hooks.fired();
  ASSERT_FALSE(n1.empty());
  EXPECT_EQ(n1.front(), "on_start master");  // nothing while bootstrapping
  EXPECT_EQ(count(n1, "on_start master"), 1);
  const auto n2 = c.node("node2").hooks.fired();
  EXPECT_EQ(count(n2, "on_start replica"), 1) << ::testing::PrintToString(n2);
  EXPECT_EQ(count(n2, "on_role_change replica"), 0);
}

TEST(Callbacks, ASwitchoverStopsAndDemotesTheOldPrimaryAndPromotesTheNew) {
  SimCluster c(3);
  bring_up(c);
  const auto n1_before = c.node("node1").hooks.fired().size();
  const auto n2_before = c.node("node2").hooks.fired().size();
  c.store.put("failover", R"({"leader":"node1","member":"node2"})");
  ASSERT_TRUE(c.rounds_until([&] { return c.leader() == "node2" && c.node("node2").is_primary(); }, 30));
  ASSERT_TRUE(c.rounds_until([&] { return follows(c.node("node1"), "node2"); }, 30));
  const auto n1 = since(c.node("node1"), n1_before);
  EXPECT_EQ(count(n1, "before_stop"), 1) << ::testing::PrintToString(n1);
  EXPECT_EQ(count(n1, "on_stop master"), 1) << ::testing::PrintToString(n1);
  EXPECT_EQ(count(n1, "on_role_change replica"), 1) << ::testing::PrintToString(n1);
  EXPECT_EQ(count(n1, "on_start replica"), 0) << ::testing::PrintToString(n1);
  const auto n2 = since(c.node("node2"), n2_before);
  ASSERT_GE(n2.size(), 2u) << ::testing::PrintToString(n2);
  EXPECT_EQ(count(n2, "pre_promote"), 1);
  EXPECT_EQ(count(n2, "on_role_change master"), 1) << ::testing::PrintToString(n2);
  EXPECT_LT(std::find(n2.begin(), n2.end(), "pre_promote"), std::find(n2.begin(), n2.end(), "on_role_change master"));
}

TEST(Callbacks, AFailoverPromotesWithOnRoleChange) {
  SimCluster c(3);
  bring_up(c);
  const auto n2_before = c.node("node2").hooks.fired().size();
  const auto n3_before = c.node("node3").hooks.fired().size();
  c.node("node1").pg.crash();
  auto n1 = std::move(c.nodes[0]);
  c.nodes.erase(c.nodes.begin());
  ASSERT_TRUE(c.rounds_until([&] { return c.leader() && *c.leader() != "node1"; }, 60, 5));
  const std::string winner = *c.leader();
  ASSERT_TRUE(c.rounds_until([&] { return c.node(winner).is_primary(); }, 20));
  auto w = since(c.node(winner), winner == "node2" ? n2_before : n3_before);
  EXPECT_EQ(count(w, "on_role_change master"), 1) << ::testing::PrintToString(w);
}

TEST(Callbacks, RestartReloadAndStop) {
  SimCluster c(2);
  ASSERT_TRUE(c.rounds_until([&] { return c.leader() == "node1" && follows(c.node("node2"), "node1"); }, 60));
  SimNode& n2 = c.node("node2");
  ASSERT_TRUE(c.rounds_until([&] { return !n2.agent->worker().busy(); }, 10));
  auto before = n2.hooks.fired().size();
  ASSERT_TRUE(n2.agent->executor().start_restart(std::nullopt));
  n2.settle();
  c.round();
  auto got = since(n2, before);
  EXPECT_EQ(count(got, "on_restart replica"), 1) << ::testing::PrintToString(got);
  EXPECT_EQ(count(got, "on_stop replica"), 0) << ::testing::PrintToString(got);
  EXPECT_EQ(count(got, "on_start replica"), 0) << ::testing::PrintToString(got);
  before = n2.hooks.fired().size();
  n2.agent->request_reload();
  c.round();
  got = since(n2, before);
  EXPECT_EQ(count(got, "on_reload replica"), 1) << ::testing::PrintToString(got);
  before = n2.hooks.fired().size();
  n2.agent->shutdown();
  got = since(n2, before);
  EXPECT_EQ(count(got, "on_stop replica"), 1) << ::testing::PrintToString(got);
}

}  // namespace
}  // namespace custos::test
