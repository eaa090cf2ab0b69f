// ha::next_timeout_at: the moment a timeout rule of decide() changes its answer, checked
// against decide() itself just before and at that moment.
#include "builders.h"
#include "ha/timeouts.h"

namespace custos::ha::test {
namespace {

TEST(Timeouts, StartingPrimaryWakesAtItsStartTimeout) {
  LocalState me = primary_state("node1");
  me.process = PgProcess::starting;
  me.state = PgState::starting;
  DecisionInput in = input(healthy_cluster().build(), me);
  in.members = {replica_status("node2", 1000)};
  in.local.state_since = in.now - 200;  // primary_start_timeout 300: 100 s left
  const auto at = next_timeout_at(in.local, in.settings, true, in.now);
  ASSERT_TRUE(at);
  EXPECT_DOUBLE_EQ(*at, in.now + 100);
  // decide() agrees: still waiting just before, stopping PostgreSQL at that moment.
  DecisionInput before = in;
  before.now = *at - 0.01;
  EXPECT_FALSE(decide(before).resolve({true}).find<step::Demote>());
  DecisionInput then = in;
  then.now = *at;
  EXPECT_EQ(decide(then).resolve({true}).message, "stopped PostgreSQL because of startup timeout");
  // A restart's own timeout counts instead of primary_start_timeout.
  in.local.start_timeout = 250;
  EXPECT_DOUBLE_EQ(*next_timeout_at(in.local, in.settings, true, in.now), in.now + 50);
}

TEST(Timeouts, CrashRecoveryWakesAtPrimaryStartTimeout) {
  LocalState me = primary_state("node1");
  me.process = PgProcess::stopped;
  me.async = AsyncTask{AsyncKind::crash_recovery, ""};
  DecisionInput in = input(healthy_cluster().build(), me);
  in.members = {replica_status("node2", 1000)};
  in.local.crash_recovery_started = in.now - 290;
  const auto at = next_timeout_at(in.local, in.settings, true, in.now);
  ASSERT_TRUE(at);
  EXPECT_DOUBLE_EQ(*at, in.now + 10);
  DecisionInput before = in;
  before.now = *at - 0.01;
  EXPECT_FALSE(decide(before).resolve({true}).find<step::Demote>());
  DecisionInput then = in;
  then.now = *at;
  EXPECT_EQ(decide(then).resolve({true}).message, "terminated crash recovery because of startup timeout");
}

TEST(Timeouts, NoneWithoutTheLockWhenPausedOrWhenPast) {
  LocalState me = primary_state("node1");
  me.process = PgProcess::starting;
  me.state = PgState::starting;
  me.state_since = 1000;
  HaSettings s;
  s.primary_start_timeout = 300;
  EXPECT_TRUE(next_timeout_at(me, s, true, 1100));
  EXPECT_FALSE(next_timeout_at(me, s, false, 1100));  // not the lock holder
  EXPECT_FALSE(next_timeout_at(me, s, true, 1300));   // the time is up already: the cycle acts
  s.pause = true;
  EXPECT_FALSE(next_timeout_at(me, s, true, 1100));
  s.pause = false;
  me.process = PgProcess::running;
  me.state = PgState::running;
  EXPECT_FALSE(next_timeout_at(me, s, true, 1100));  // nothing starting
}

}  // namespace
}  // namespace custos::ha::test
