// ha.md §2.1-2.3, §2.14, §3.12: a member that does not hold the lock of a locked cluster.
#include "builders.h"

namespace custos::ha::test {
namespace {

TEST(Replica, SteadyReplicaFollowsLeader) {
  Decision d = decide(input(healthy_cluster().build(), replica_state("node2")));
  EXPECT_FALSE(d.is_conditional());
  EXPECT_EQ(d.action, Action::follow);
  EXPECT_EQ(d.message, "no action. I am (node2), a secondary, and following a leader (node1)");
  const auto* f = d.find<step::Follow>();
  EXPECT_EQ(f->member, "node1");
  EXPECT_EQ(f->role, Role::replica);
  EXPECT_FALSE(f->refresh_target);
  EXPECT_FALSE(d.has(Action::update_lock));
  EXPECT_TRUE(d.has(Action::sync_replication_slots));
  EXPECT_EQ(d.steps.back().action(), Action::touch_member);
}

TEST(Replica, ReplicatefromTag) {
  LocalState me = replica_state("node2");
  me.tags.replicatefrom = "node3";
  EXPECT_EQ(decide(input(healthy_cluster().build(), me)).find<step::Follow>()->member, "node3");
  me.tags.replicatefrom = "gone";  // falls back to the leader
  EXPECT_EQ(decide(input(healthy_cluster().build(), me)).find<step::Follow>()->member, "node1");
  me.tags.replicatefrom = "node2";  // self -> leader
  EXPECT_EQ(decide(input(healthy_cluster().build(), me)).find<step::Follow>()->member, "node1");
}

TEST(Replica, NostreamFollowsNobody) {
  LocalState me = replica_state("node2");
  me.tags.nostream = true;
  EXPECT_EQ(decide(input(healthy_cluster().build(), me)).find<step::Follow>()->member, "");
}

TEST(Replica, PrimaryWithoutLockDemotes) {
  Decision d = decide(input(healthy_cluster().build(), primary_state("node2")));
  EXPECT_EQ(d.action, Action::demote);
  EXPECT_EQ(d.find<step::Demote>()->mode, DemoteMode::immediate_nolock);
  EXPECT_EQ(d.message, "demoting self because I do not have the lock and I was a leader");
  EXPECT_FALSE(d.has(Action::promote));
}

TEST(Replica, RewindWhenNeeded) {
  LocalState me = replica_state("node2");
  me.rewind = RewindState::need;
  me.can_rewind = true;
  Decision d = decide(input(healthy_cluster().build(), me));
  EXPECT_EQ(d.action, Action::rewind);
  EXPECT_EQ(d.find<step::Rewind>()->member, "node1");
  EXPECT_EQ(d.message, "running pg_rewind from node1");
}

TEST(Replica, ReinitializeOnDivergedTimelinesWithoutRewind) {
  LocalState me = replica_state("node2");
  me.rewind = RewindState::need;
  DecisionInput in = input(healthy_cluster().build(), me);
  EXPECT_EQ(decide(in).action, Action::follow);
  in.settings.remove_data_directory_on_diverged_timelines = true;
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::reinitialize);
  EXPECT_EQ(d.message, "reinitializing due to diverged timelines");
}

TEST(Replica, FirstCycleFiresOnStartAndArmsRewindCheck) {
  LocalState me = replica_state("node2");
  me.on_start_fired = false;
  Decision d = decide(input(healthy_cluster().build(), me));
  EXPECT_TRUE(d.has(Action::fire_on_start));
  EXPECT_TRUE(d.has(Action::trigger_rewind_check));
}

TEST(Replica, MissingOwnMemberKeyIsWrittenFirst) {
  Decision d = decide(input(healthy_cluster().build(), replica_state("node4")));
  EXPECT_EQ(d.steps.front().action(), Action::touch_member);
}

TEST(Replica, IsLeaderClearedWithoutLock) {
  DecisionInput in = input(healthy_cluster().build(), replica_state("node2"));
  in.local.last_lock_write = in.now - 5;
  const auto* s = decide(in).find<step::SetIsLeader>();
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->value);
}

TEST(Replica, FailsafeLeaderInjectedIntoUnlockedView) {
  DecisionInput in = input(leaderless_cluster().build(), replica_state("node2"));
  in.settings.failsafe_mode = true;
  in.local.failsafe_leader = LocalState::FailsafeLeader{"node1", "postgres://a:5432/postgres", "http://a/patroni", {}, in.now - 5};
  Decision d = decide(in);
  EXPECT_FALSE(d.is_conditional());  // no race
  EXPECT_EQ(d.find<step::Follow>()->member, "node1");
  in.local.failsafe_leader->received_at = in.now - 31;  // older than ttl
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(Replica, StartingReplicaContinuesNormally) {
  LocalState me = replica_state("node2");
  me.process = PgProcess::starting;
  me.state = PgState::starting;
  Decision d = decide(input(healthy_cluster().build(), me));
  EXPECT_EQ(d.action, Action::follow);
  EXPECT_FALSE(d.has(Action::sync_replication_slots));
}

}  // namespace
}  // namespace custos::ha::test
