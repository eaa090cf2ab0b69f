// ha.md §0, §2 E, §7, §14: the DCS cannot be read.
#include "builders.h"

namespace custos::ha::test {
namespace {

DecisionInput unreachable_input(const LocalState& me) {
  DecisionInput in = input(dcs::Cluster::empty(), me);
  in.cluster = std::nullopt;
  in.old_cluster = healthy_cluster(me.name).build();
  return in;
}

TEST(DcsError, PrimaryDemotesOffline) {
  Decision d = decide(unreachable_input(primary_state("node1")));
  EXPECT_EQ(d.action, Action::demote);
  EXPECT_EQ(d.find<step::Demote>()->mode, DemoteMode::offline);
  EXPECT_EQ(d.message, "demoting self because DCS is not accessible and I was a leader");
  EXPECT_FALSE(d.has(Action::touch_member));
}

TEST(DcsError, DemotionHappensBeforeTheLockExpires) {
  // The last successful refresh was at T; the next cycle starts at T + loop_wait and its load
  // fails after retry_timeout: the node demotes while others still see our lock (ttl).
  DecisionInput in = unreachable_input(primary_state("node1"));
  const double t = in.now;
  in.local.last_lock_write = t;
  in.now = t + in.settings.loop_wait + in.settings.retry_timeout;
  EXPECT_LE(in.settings.loop_wait + 2 * in.settings.retry_timeout, in.settings.ttl);
  EXPECT_TRUE(in.local.is_leader(in.now, in.settings.ttl));
  EXPECT_EQ(decide(in).action, Action::demote);
}

TEST(DcsError, ReplicaKeepsRunning) {
  Decision d = decide(unreachable_input(replica_state("node2")));
  EXPECT_EQ(d.message, "DCS is not accessible");
  EXPECT_FALSE(d.has(Action::demote));
  EXPECT_TRUE(d.has(Action::sync_replication_slots));
}

TEST(DcsError, PausedPrimaryKeepsRunning) {
  DecisionInput in = unreachable_input(primary_state("node1"));
  in.settings.pause = true;
  Decision d = decide(in);
  EXPECT_EQ(d.message, "PAUSE: DCS is not accessible");
  EXPECT_FALSE(d.has(Action::demote));
}

TEST(DcsError, FailsafeContinuesWhenAllMembersAnswer) {
  DecisionInput in = unreachable_input(primary_state("node1"));
  in.settings.failsafe_mode = true;
  in.old_cluster = healthy_cluster().failsafe(R"({"node1":"http://a/patroni","node2":"http://b/patroni"})").build();
  Decision d = decide(in);
  ASSERT_TRUE(d.is_conditional());
  EXPECT_EQ(d.action, Action::check_failsafe_topology);
  Decision ok = d.resolve({true});
  EXPECT_EQ(ok.message, "continue to run as a leader because failsafe mode is enabled and all members are accessible");
  // is_leader comes from the check's success (from the moment the members were asked).
  EXPECT_EQ(ok.find<step::SetIsLeader>(), nullptr);
  EXPECT_TRUE(ok.find<step::SetFailsafeActive>()->value);
  EXPECT_TRUE(ok.has(Action::watchdog_keepalive));
  Decision fail = d.resolve({false});
  EXPECT_EQ(fail.find<step::Demote>()->mode, DemoteMode::offline);
}

TEST(DcsError, FailsafeSingleNodeContinues) {
  DecisionInput in = unreachable_input(primary_state("node1"));
  in.settings.failsafe_mode = true;
  in.old_cluster = healthy_cluster().failsafe(R"({"node1":"http://a/patroni"})").build();
  Decision d = decide(in);
  // Nobody to ask: the check succeeds at once (the executor), the leader stays the leader.
  ASSERT_TRUE(d.is_conditional());
  EXPECT_EQ(d.action, Action::check_failsafe_topology);
  EXPECT_FALSE(d.resolve({true}).has(Action::demote));
}

TEST(DcsError, FailsafeWithoutMeDemotes) {
  DecisionInput in = unreachable_input(primary_state("node1"));
  in.settings.failsafe_mode = true;
  in.old_cluster = healthy_cluster().failsafe(R"({"node2":"http://b/patroni"})").build();
  EXPECT_EQ(decide(in).action, Action::demote);
}

}  // namespace
}  // namespace custos::ha::test
