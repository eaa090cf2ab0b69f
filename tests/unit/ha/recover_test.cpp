// ha.md §2.9, §2.12, §3.3, §5: PostgreSQL is not running.
#include "builders.h"

namespace custos::ha::test {
namespace {

LocalState stopped(LocalState s, PgState state = PgState::stopped) {
  s.process = PgProcess::stopped;
  s.state = state;
  return s;
}

TEST(Recover, StoppedReplicaStartsAsSecondary) {
  LocalState me = stopped(replica_state("node2"));
  me.control_state = ControlState::shut_down_in_recovery;
  Decision d = decide(input(healthy_cluster().build(), me));
  EXPECT_EQ(d.action, Action::follow);
  EXPECT_EQ(d.message, "starting as a secondary");
  EXPECT_EQ(d.find<step::Follow>()->member, "node1");
  EXPECT_TRUE(d.has(Action::watchdog_disable));
}

TEST(Recover, CrashedPrimaryWithLockRestartsAsPrimary) {
  LocalState me = stopped(primary_state("node1"), PgState::running);
  me.control_state = ControlState::in_production;
  Decision d = decide(input(healthy_cluster().build(), me));
  ASSERT_TRUE(d.is_conditional());
  Decision ok = d.resolve({true});
  EXPECT_EQ(ok.action, Action::start_primary);
  EXPECT_EQ(ok.find<step::StartPrimary>()->timeout, 300);
  EXPECT_EQ(ok.message, "starting primary after failure");
  Decision fail = d.resolve({false});
  EXPECT_EQ(fail.message, "starting as readonly because i had the session lock");
  EXPECT_EQ(fail.find<step::Follow>()->member, "");
  EXPECT_FALSE(fail.has(Action::promote));
}

TEST(Recover, ZeroPrimaryStartTimeoutFailsOverWhenPossible) {
  LocalState me = stopped(primary_state("node1"), PgState::running);
  me.control_state = ControlState::in_production;
  DecisionInput in = input(healthy_cluster().build(), me);
  in.settings.primary_start_timeout = 0;
  in.members = {replica_status("node2", 1000)};
  Decision ok = decide(in).resolve({true});
  EXPECT_EQ(ok.find<step::Demote>()->mode, DemoteMode::immediate);
  EXPECT_EQ(ok.message, "stopped PostgreSQL to fail over after a crash");
  EXPECT_TRUE(logs(ok, "info: Primary crashed. Failing over."));
  in.members = {unreachable("node2"), unreachable("node3")};
  EXPECT_NE(decide(in).resolve({true}).action, Action::demote);
}

TEST(Recover, CrashRecoveryWhenUnlocked) {
  LocalState me = stopped(primary_state("node1"), PgState::running);
  me.control_state = ControlState::in_production;
  Decision d = decide(input(leaderless_cluster().build(), me));
  EXPECT_EQ(d.action, Action::crash_recovery);
  EXPECT_EQ(d.message, "doing crash recovery in a single user mode");
  me.crash_recovery_started = 123;  // once per episode
  EXPECT_NE(decide(input(leaderless_cluster().build(), me)).action, Action::crash_recovery);
}

TEST(Recover, CrashRecoveryWithLeaderOnlyIfRewindPossible) {
  LocalState me = stopped(replica_state("node2"), PgState::crashed);
  me.control_state = ControlState::in_production;
  EXPECT_EQ(decide(input(healthy_cluster().build(), me)).action, Action::follow);
  me.can_rewind = true;
  EXPECT_EQ(decide(input(healthy_cluster().build(), me)).action, Action::crash_recovery);
}

TEST(Recover, RewindBeforeStart) {
  LocalState me = stopped(replica_state("node2"));
  me.control_state = ControlState::shut_down;
  me.rewind = RewindState::need;
  me.can_rewind = true;
  Decision d = decide(input(healthy_cluster().build(), me));
  EXPECT_EQ(d.action, Action::rewind);
  EXPECT_FALSE(d.has(Action::follow));
}

TEST(Recover, SyncModeClearsSynchronousStandbyNames) {
  LocalState me = stopped(replica_state("node2"));
  DecisionInput in = input(healthy_cluster().build(), me);
  in.settings.synchronous_mode = true;
  const auto* s = decide(in).find<step::SetSynchronousStandbyNames>();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->value, "");
}

TEST(Recover, FailedStartReportedAndLockReleased) {
  LocalState me = stopped(replica_state("node2"));
  me.recovering = true;
  Decision d = decide(input(healthy_cluster().build(), me));
  EXPECT_EQ(d.message, "failed to start postgres");
  LocalState lp = stopped(primary_state("node1"));
  lp.recovering = true;
  Decision d2 = decide(input(healthy_cluster().build(), lp));
  EXPECT_TRUE(d2.has(Action::release_lock));
  EXPECT_EQ(d2.find<step::SetRole>()->role, Role::demoted);
  EXPECT_EQ(d2.message, "removed leader key after trying and failing to start postgres");
}

TEST(Recover, SuccessfulStartResetsRecoveryState) {
  LocalState me = replica_state("node2");
  me.recovering = true;
  Decision d = decide(input(healthy_cluster().build(), me));
  EXPECT_TRUE(d.has(Action::reset_recovery_state));
  EXPECT_EQ(d.action, Action::follow);
}

}  // namespace
}  // namespace custos::ha::test
