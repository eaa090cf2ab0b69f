// ha.md §8 and the standby branches of §3.3, §3.4, §3.9, §3.12.
#include "builders.h"

namespace custos::ha::test {
namespace {

DecisionInput standby(const dcs::Cluster& c, const LocalState& me) {
  DecisionInput in = input(c, me);
  in.settings.standby_cluster.active = true;
  in.settings.standby_cluster.host = "remote-host";
  return in;
}

TEST(StandbyCluster, StandbyLeaderFollowsRemote) {
  ClusterBuilder b = healthy_cluster();
  b.member("node1", "standby_leader");
  Decision ok = decide(standby(b.build(), replica_state("node1"))).resolve({true});
  EXPECT_FALSE(ok.has(Action::promote));
  const auto* f = ok.find<step::Follow>();
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->remote);
  EXPECT_EQ(f->member, "remote-host");
  EXPECT_EQ(f->role, Role::standby_leader);
  EXPECT_EQ(ok.message, "no action. I am (node1), the standby leader with the lock");
}

TEST(StandbyCluster, ReplicaFollowsStandbyLeader) {
  Decision d = decide(standby(healthy_cluster().build(), replica_state("node2")));
  EXPECT_EQ(d.find<step::Follow>()->member, "node1");
  EXPECT_EQ(d.message, "no action. I am (node2), a secondary, and following a standby leader (node1)");
}

TEST(StandbyCluster, RaceWinnerBecomesStandbyLeader) {
  DecisionInput in = standby(leaderless_cluster().build(), replica_state("node2"));
  Decision d = decide(in);
  Decision won = d.resolve({true});
  EXPECT_FALSE(won.has(Action::promote));
  EXPECT_EQ(won.find<step::Follow>()->role, Role::standby_leader);
  EXPECT_EQ(won.message, "promoted self to a standby leader by acquiring session lock");
}

TEST(StandbyCluster, SyncModeIgnored) {
  DecisionInput in = standby(leaderless_cluster().sync("node1", "node3").build(), replica_state("node2"));
  in.settings.synchronous_mode = true;
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(StandbyCluster, PrimaryInStandbyClusterDemotes) {
  Decision d = decide(standby(healthy_cluster().build(), primary_state("node2")));
  EXPECT_EQ(d.action, Action::demote);
  EXPECT_EQ(d.message, "cannot be a real primary in a standby cluster");
}

TEST(StandbyCluster, StoppedLockHolderStartsAsStandbyLeader) {
  LocalState me = replica_state("node1");
  me.process = PgProcess::stopped;
  Decision ok = decide(standby(healthy_cluster().build(), me)).resolve({true});
  EXPECT_EQ(ok.message, "starting as a standby leader because i had the session lock");
  EXPECT_EQ(ok.find<step::Follow>()->role, Role::standby_leader);
}

TEST(StandbyCluster, LeaderWithoutConnUrlKeepsOldConfig) {
  ClusterBuilder b;
  b.initialize().config().member("node2").leader("ghost");
  Decision d = decide(standby(b.build(), replica_state("node2")));
  EXPECT_EQ(d.message, "continue following the old known standby leader");
}

}  // namespace
}  // namespace custos::ha::test
