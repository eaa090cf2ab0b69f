// ha.md §2.4-2.5, §3.9, §3.11: the lock holder.
#include <algorithm>
#include "builders.h"

namespace custos::ha::test {
namespace {

DecisionInput leader_input() {
  DecisionInput in = input(healthy_cluster().build(), primary_state("node1"));
  in.members = {replica_status("node2", 1000), replica_status("node3", 1000)};
  return in;
}

TEST(LockHolder, SteadyPrimaryRefreshesLock) {
  Decision d = decide(leader_input());
  ASSERT_TRUE(d.is_conditional());
  EXPECT_EQ(d.action, Action::update_lock);
  Decision ok = d.resolve({true});
  EXPECT_EQ(ok.message, "no action. I am (node1), the leader with the lock");
  EXPECT_TRUE(ok.has(Action::watchdog_keepalive));
  EXPECT_TRUE(ok.has(Action::manage_sync_replication));
  EXPECT_TRUE(ok.has(Action::update_history));
  EXPECT_TRUE(ok.has(Action::sync_replication_slots));
  EXPECT_FALSE(ok.has(Action::promote));
  EXPECT_EQ(ok.steps.back().action(), Action::touch_member);
}

TEST(LockHolder, RefreshFailureDemotesPrimary) {
  Decision fail = decide(leader_input()).resolve({false});
  EXPECT_EQ(fail.action, Action::demote);
  EXPECT_EQ(fail.find<step::Demote>()->mode, DemoteMode::immediate_nolock);
  EXPECT_EQ(fail.message, "demoted self because failed to update leader lock in DCS");
  EXPECT_TRUE(logs(fail, "error: failed to update leader lock"));
  EXPECT_FALSE(logs(decide(leader_input()).resolve({true}), "error: failed to update leader lock"));
}

TEST(LockHolder, ReplicaWithLockPromotesAfterRefresh) {
  DecisionInput in = input(healthy_cluster("node2").build(), replica_state("node2"));
  Decision d = decide(in);
  Decision ok = d.resolve({true});
  EXPECT_EQ(ok.action, Action::promote);
  EXPECT_EQ(ok.message, "promoted self to leader because I had the session lock");
  Decision fail = d.resolve({false});
  EXPECT_FALSE(fail.has(Action::promote));
  EXPECT_EQ(fail.message, "not promoting because failed to update leader lock in DCS");
}

TEST(LockHolder, PromotedRoleOnlyManagesSync) {
  DecisionInput in = input(healthy_cluster("node2").build(), replica_state("node2"));
  in.local.role = Role::promoted;
  Decision ok = decide(in).resolve({true});
  EXPECT_FALSE(ok.has(Action::promote));
  EXPECT_TRUE(ok.has(Action::manage_sync_replication));
}

TEST(LockHolder, PrePromoteFailureReleasesLock) {
  DecisionInput in = input(healthy_cluster("node2").build(), replica_state("node2"));
  in.local.pre_promote_failed = true;
  Decision d = decide(in);
  Decision ok = d.resolve({true});
  EXPECT_TRUE(ok.has(Action::release_lock));
  EXPECT_TRUE(ok.has(Action::remember_pre_promote_release));
  EXPECT_FALSE(ok.has(Action::promote));
  // Patroni's words: the cycle line and the warning before it.
  EXPECT_EQ(ok.message, "Promotion cancelled because the pre-promote script failed");
  EXPECT_TRUE(logs(ok, "warning: Releasing the leader key voluntarily because the pre-promote script failed"));
  EXPECT_FALSE(logs(d.resolve({false}), "warning: Releasing the leader key voluntarily because the pre-promote script failed", &d));
}

TEST(LockHolder, WatchdogActivationFailure) {
  DecisionInput in = leader_input();
  in.settings.watchdog_enabled = true;
  Decision d = decide(in);
  Decision fail = d.resolve({true, false});
  EXPECT_EQ(fail.find<step::Demote>()->mode, DemoteMode::immediate);
  EXPECT_EQ(fail.message, "Demoting self because watchdog could not be activated");
  in.local = replica_state("node1");
  Decision rel = decide(in).resolve({true, false});
  EXPECT_TRUE(rel.has(Action::release_lock));
  EXPECT_FALSE(rel.has(Action::promote));
  in.local.watchdog_running = true;
  EXPECT_TRUE(decide(in).resolve({true}).has(Action::promote));
}

TEST(LockHolder, WritesMissingInitializeAndConfig) {
  ClusterBuilder b;
  b.member("node1", "master").member("node2").leader("node1");
  DecisionInput in = input(b.build(), primary_state("node1"));
  Decision d = decide(in);
  const auto* init = d.find<step::WriteInitialize>();
  ASSERT_NE(init, nullptr);
  EXPECT_TRUE(init->create_new);  // create: key absent
  EXPECT_TRUE(d.has(Action::write_config));
  ClusterBuilder b2 = healthy_cluster();
  b2.raw("initialize", "");
  Decision d2 = decide(input(b2.build(), primary_state("node1")));
  ASSERT_NE(d2.find(Action::write_initialize), nullptr);
  EXPECT_FALSE(d2.find<step::WriteInitialize>()->create_new);  // update the existing key
  EXPECT_FALSE(d2.has(Action::write_config));
}

TEST(LockHolder, NonHolderDoesNotWriteInitialize) {
  ClusterBuilder b;
  b.member("node1", "master").member("node2").leader("node1").initialize("");
  Decision d = decide(input(b.build(), replica_state("node2")));
  EXPECT_FALSE(d.has(Action::write_initialize));
}

TEST(LockHolder, UpdateLockCarriesFailsafeFlag) {
  DecisionInput in = leader_input();
  in.settings.failsafe_mode = true;
  ASSERT_NE(decide(in).steps.back().get<step::UpdateLock>(), nullptr);
  EXPECT_TRUE(decide(in).steps.back().get<step::UpdateLock>()->write_failsafe);
}

TEST(LockHolder, HistoryAndSyncOnlyForRunningPrimary) {
  Decision ok = decide(leader_input()).resolve({true});
  EXPECT_EQ(ok.find<step::SetRole>()->role, Role::primary);
}

}  // namespace
}  // namespace custos::ha::test
