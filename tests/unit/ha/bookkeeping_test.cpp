// ha/bookkeeping: what the agent remembers between cycles, changed by bookkeeping steps and by
// the end of async tasks (pure functions, applied by the executor).
#include "ha/bookkeeping.h"

#include <gtest/gtest.h>

#include "builders.h"

namespace custos::ha::test {
namespace {

AsyncResult done(AsyncKind kind, bool ok) {
  AsyncResult r;
  r.task = AsyncTask{kind, ""};
  r.ok = ok;
  if (!ok) r.error = "simulated failure";
  return r;
}

TEST(Bookkeeping, OnlyBookkeepingStepsAreApplied) {
  LocalState l = replica_state();
  const LocalState before = l;
  EXPECT_FALSE(apply_bookkeeping(step::Promote{}, l, HaSettings{}, 5));
  EXPECT_FALSE(apply_bookkeeping(step::TouchMember{}, l, HaSettings{}, 5));
  EXPECT_FALSE(apply_bookkeeping(step::Follow{"node1"}, l, HaSettings{}, 5));
  EXPECT_EQ(l.role, before.role);
  EXPECT_EQ(l.last_lock_write, before.last_lock_write);
  for (Action a : {Action::set_is_leader, Action::failsafe_active, Action::reset_rewind_state,
                   Action::reset_recovery_state, Action::trigger_rewind_check, Action::remember_pre_promote_release,
                   Action::delete_scheduled_restart, Action::fire_on_start, Action::finish_bootstrap,
                   Action::set_role})
    EXPECT_TRUE(is_bookkeeping(a)) << to_string(a);
  for (Action a : {Action::promote, Action::demote, Action::update_lock, Action::take_leader, Action::sleep})
    EXPECT_FALSE(is_bookkeeping(a)) << to_string(a);
}

TEST(Bookkeeping, IsLeaderAndFailsafe) {
  LocalState l = replica_state();
  ASSERT_TRUE(apply_bookkeeping(step::SetIsLeader{true}, l, HaSettings{}, 42));
  EXPECT_EQ(l.last_lock_write, 42);
  EXPECT_TRUE(l.is_leader(50, 30));
  apply_bookkeeping(step::SetIsLeader{false}, l, HaSettings{}, 43);
  EXPECT_FALSE(l.last_lock_write.has_value());
  apply_bookkeeping(step::SetFailsafeActive{true}, l, HaSettings{}, 44);
  EXPECT_TRUE(l.failsafe_active);
  apply_bookkeeping(step::SetFailsafeActive{false}, l, HaSettings{}, 45);
  EXPECT_FALSE(l.failsafe_active);
}

TEST(Bookkeeping, RewindAndRecoveryState) {
  HaSettings s;
  LocalState l = replica_state();
  l.can_rewind = false;
  apply_bookkeeping(step::TriggerRewindCheck{}, l, s, 1);
  EXPECT_EQ(l.rewind, RewindState::initial);  // nothing could act on the verdict
  s.remove_data_directory_on_diverged_timelines = true;
  apply_bookkeeping(step::TriggerRewindCheck{}, l, s, 1);
  EXPECT_EQ(l.rewind, RewindState::check);
  l.rewind_executed = true;
  apply_bookkeeping(step::ResetRewindState{}, l, s, 2);
  EXPECT_EQ(l.rewind, RewindState::initial);
  EXPECT_FALSE(l.rewind_executed);

  l.recovering = true;
  l.crash_recovery_started = 7;
  l.start_timeout = 30;
  l.rewind = RewindState::success;
  apply_bookkeeping(step::ResetRecoveryState{}, l, s, 3);
  EXPECT_FALSE(l.recovering);
  EXPECT_EQ(l.crash_recovery_started, 0);
  EXPECT_FALSE(l.start_timeout.has_value());
  EXPECT_EQ(l.rewind, RewindState::initial);
  l.rewind = RewindState::need;
  apply_bookkeeping(step::ResetRecoveryState{}, l, s, 3);
  EXPECT_EQ(l.rewind, RewindState::need);  // only a successful rewind is forgotten
}

TEST(Bookkeeping, PrePromoteScheduledRestartStartAndRole) {
  LocalState l = replica_state();
  l.pre_promote_failed = true;
  apply_bookkeeping(step::RememberPrePromoteRelease{}, l, HaSettings{}, 9);
  EXPECT_EQ(l.released_lock_after_pre_promote, 9);
  EXPECT_FALSE(l.pre_promote_failed);
  l.scheduled_restart = ScheduledRestart{};
  apply_bookkeeping(step::DeleteScheduledRestart{}, l, HaSettings{}, 9);
  EXPECT_FALSE(l.scheduled_restart.has_value());
  apply_bookkeeping(step::FireOnStart{}, l, HaSettings{}, 9);
  EXPECT_TRUE(l.on_start_fired);
  l.bootstrapping = true;
  apply_bookkeeping(step::FinishBootstrap{}, l, HaSettings{}, 9);
  EXPECT_FALSE(l.bootstrapping);
  apply_bookkeeping(step::SetRole{Role::demoted, true}, l, HaSettings{}, 9);
  EXPECT_EQ(l.role, Role::demoted);
}

TEST(Bookkeeping, StateKeepsItsSinceUntilItChanges) {
  LocalState l = replica_state();
  l.state = PgState::running;
  l.state_since = 1;
  set_pg_state(l, PgState::running, 5);
  EXPECT_EQ(l.state_since, 1);
  set_pg_state(l, PgState::crashed, 6);
  EXPECT_EQ(l.state, PgState::crashed);
  EXPECT_EQ(l.state_since, 6);
}

TEST(AsyncResult, BootstrapAndPostBootstrap) {
  LocalState l = primary_state();
  apply_async_result(done(AsyncKind::bootstrap, false), l, HaSettings{}, 3);
  EXPECT_EQ(l.bootstrap_result, BootstrapResult::failed);
  EXPECT_EQ(l.state, PgState::initdb_failed);
  l = primary_state();
  AsyncFollowUp f = apply_async_result(done(AsyncKind::post_bootstrap, true), l, HaSettings{}, 3);
  EXPECT_EQ(l.bootstrap_result, BootstrapResult::succeeded);
  EXPECT_TRUE(f.run_next_cycle_now);
  f = apply_async_result(done(AsyncKind::post_bootstrap, false), l, HaSettings{}, 3);
  EXPECT_EQ(l.bootstrap_result, BootstrapResult::failed);
  EXPECT_FALSE(f.run_next_cycle_now);
}

TEST(AsyncResult, PromoteCloneRestartAndCrashRecovery) {
  LocalState l = replica_state();
  l.checkpoint_after_promote_pending = true;
  apply_async_result(done(AsyncKind::promote, true), l, HaSettings{}, 1);
  EXPECT_EQ(l.role, Role::primary);
  EXPECT_FALSE(l.checkpoint_after_promote_pending);
  apply_async_result(done(AsyncKind::promote, false), l, HaSettings{}, 1);
  EXPECT_EQ(l.role, Role::replica);

  l.role = Role::uninitialized;
  apply_async_result(done(AsyncKind::clone, true), l, HaSettings{}, 2);
  EXPECT_EQ(l.role, Role::replica);
  EXPECT_EQ(l.state, PgState::starting);
  apply_async_result(done(AsyncKind::reinitialize, false), l, HaSettings{}, 2);
  EXPECT_EQ(l.state, PgState::stopped);

  apply_async_result(done(AsyncKind::restart, false), l, HaSettings{}, 3);
  EXPECT_EQ(l.state, PgState::restart_failed_start);
  EXPECT_EQ(to_string(l.state), "restart failed (start failed)");
  AsyncResult stop = done(AsyncKind::restart, false);
  stop.error = kStopFailed;
  apply_async_result(stop, l, HaSettings{}, 3);
  EXPECT_EQ(to_string(l.state), "restart failed (stop failed)");
  AsyncResult slow = done(AsyncKind::restart, false);
  slow.error = kRestartStartTimedOut;
  apply_async_result(slow, l, HaSettings{}, 3);
  EXPECT_EQ(l.state, PgState::starting);  // as Patroni: still starting
  EXPECT_TRUE(l.recovering);
  apply_async_result(done(AsyncKind::start_primary, false), l, HaSettings{}, 3);
  EXPECT_EQ(l.state, PgState::start_failed);
  AsyncResult demote_stop = done(AsyncKind::demote, false);
  demote_stop.error = kStopFailed;
  apply_async_result(demote_stop, l, HaSettings{}, 4);
  EXPECT_EQ(to_string(l.state), "stop failed");  // a graceful demote whose PostgreSQL kept running

  HaSettings s;
  l.can_rewind = true;
  apply_async_result(done(AsyncKind::crash_recovery, true), l, s, 4);
  EXPECT_EQ(l.state, PgState::stopped);
  EXPECT_EQ(l.rewind, RewindState::check);
}

TEST(AsyncResult, FailedRewindMovesTheDataDirectoryOnlyWhenConfigured) {
  LocalState l = replica_state();
  HaSettings s;
  AsyncFollowUp f = apply_async_result(done(AsyncKind::rewind, false), l, s, 1);
  EXPECT_FALSE(f.move_data_dir_aside);
  EXPECT_EQ(l.rewind, RewindState::failed);
  EXPECT_TRUE(l.rewind_executed);
  s.remove_data_directory_on_rewind_failure = true;
  f = apply_async_result(done(AsyncKind::rewind, false), l, s, 1);
  EXPECT_TRUE(f.move_data_dir_aside);
  EXPECT_EQ(l.rewind, RewindState::initial);
  f = apply_async_result(done(AsyncKind::rewind, true), l, s, 1);
  EXPECT_FALSE(f.move_data_dir_aside);
  EXPECT_EQ(l.rewind, RewindState::success);
}

TEST(AsyncResult, AGracefulDemoteThatRejoinedSettlesTheTimelineQuestion) {
  LocalState l = primary_state();
  l.rewind = RewindState::check;
  AsyncResult r = done(AsyncKind::demote, true);
  r.rewind = RewindState::not_needed;
  r.started_replica = true;
  apply_async_result(r, l, HaSettings{}, 5);
  EXPECT_EQ(l.rewind, RewindState::not_needed);
  EXPECT_EQ(l.role, Role::replica);
  EXPECT_EQ(l.state, PgState::starting);
  r.rewind = RewindState::success;
  apply_async_result(r, l, HaSettings{}, 6);
  EXPECT_TRUE(l.rewind_executed);
  // Not settled (no leader in time): the check stays armed.
  LocalState m = primary_state();
  m.rewind = RewindState::check;
  apply_async_result(done(AsyncKind::demote, true), m, HaSettings{}, 7);
  EXPECT_EQ(m.rewind, RewindState::check);
}

TEST(PgStateText, PatroniStringsRoundTrip) {
  for (PgState s : {PgState::stopped, PgState::starting, PgState::running, PgState::stopping, PgState::stop_failed,
                    PgState::crashed, PgState::restarting, PgState::restart_failed_stop, PgState::restart_failed_start, PgState::start_failed,
                    PgState::initializing_new_cluster, PgState::initdb_failed,
                    PgState::running_custom_bootstrap_script, PgState::custom_bootstrap_failed,
                    PgState::creating_replica})
    EXPECT_EQ(parse_pg_state(to_string(s)), s) << to_string(s);
  EXPECT_EQ(to_string(PgState::initializing_new_cluster), "initializing new cluster");
  EXPECT_EQ(parse_pg_state("restart failed (stopped)"), PgState::restart_failed_start);
  EXPECT_EQ(parse_pg_state("restart failed"), PgState::restart_failed_start);  // Patroni 4
  EXPECT_EQ(parse_pg_state("something else"), PgState::unknown);
}

TEST(StepText, NamesAndArguments) {
  EXPECT_EQ(to_string(Step(step::Demote{DemoteMode::graceful})), "demote(graceful)");
  EXPECT_EQ(to_string(Step(step::Follow{"node1", false, Role::replica})), "follow(node1, replica)");
  EXPECT_EQ(to_string(Step(step::Follow{})), "follow(<none>, replica)");
  EXPECT_EQ(to_string(Step(step::TouchMember{})), "touch_member");
  EXPECT_EQ(Step(step::Rewind{"n"}).action(), Action::rewind);
  EXPECT_TRUE(is_conditional(Action::take_leader));
  EXPECT_TRUE(is_async(Action::crash_recovery));
}

}  // namespace
}  // namespace custos::ha::test
