// ha.md §9 (and §3.5.3, §3.8, §3.9, §3.12 pause branches).
#include "builders.h"

namespace custos::ha::test {
namespace {

DecisionInput paused(const dcs::Cluster& c, const LocalState& me) {
  DecisionInput in = input(c, me);
  in.settings.pause = true;
  return in;
}

TEST(Pause, ReplicasDoNotRace) {
  Decision d = decide(paused(leaderless_cluster().build(), replica_state("node2")));
  EXPECT_FALSE(d.is_conditional());
  EXPECT_EQ(d.message, "PAUSE: no action. I am (node2)");
  EXPECT_TRUE(d.has(Action::watchdog_disable));
}

TEST(Pause, RunningPrimaryTakesLockWithMatchingSysid) {
  Decision d = decide(paused(leaderless_cluster().build(), primary_state("node1")));
  ASSERT_TRUE(d.is_conditional());
  Decision won = d.resolve({true});
  EXPECT_FALSE(won.has(Action::promote));
  EXPECT_FALSE(won.has(Action::activate_watchdog));
  EXPECT_EQ(won.message, "PAUSE: acquired session lock as a leader");
  Decision lost = d.resolve({false});
  EXPECT_FALSE(lost.has(Action::demote));
  EXPECT_EQ(lost.message, "PAUSE: continue to run as primary without lock");
}

TEST(Pause, PrimaryWithOtherSysidDoesNotTakeLock) {
  ClusterBuilder b = leaderless_cluster();
  b.initialize("7000000000000000009");
  DecisionInput in = paused(b.build(), primary_state("node1"));
  Decision d = decide(in);
  EXPECT_FALSE(d.is_conditional());
  EXPECT_FALSE(d.has(Action::demote));
}

TEST(Pause, PrimaryWithoutLockKeepsRunning) {
  Decision d = decide(paused(healthy_cluster().build(), primary_state("node2")));
  EXPECT_FALSE(d.has(Action::demote));
  EXPECT_EQ(d.message, "PAUSE: continue to run as primary without lock");
}

TEST(Pause, LockHolderNotPrimaryReleasesLock) {
  Decision d = decide(paused(healthy_cluster().build(), replica_state("node1")));
  EXPECT_TRUE(d.has(Action::release_lock));
  EXPECT_FALSE(d.has(Action::promote));
  EXPECT_EQ(d.message, "PAUSE: removed leader lock because postgres is not running as primary");
}

TEST(Pause, LockRefreshFailureKeepsPrimary) {
  Decision fail = decide(paused(healthy_cluster().build(), primary_state("node1"))).resolve({false});
  EXPECT_FALSE(fail.has(Action::demote));
  EXPECT_EQ(fail.message, "PAUSE: continue to run as primary after failing to update leader lock in DCS");
}

TEST(Pause, StoppedPostgresIsNotStarted) {
  LocalState me = replica_state("node2");
  me.process = PgProcess::stopped;
  Decision d = decide(paused(healthy_cluster().build(), me));
  EXPECT_EQ(d.message, "PAUSE: postgres is not running");
  EXPECT_FALSE(d.has(Action::follow));
  LocalState lp = primary_state("node1");
  lp.process = PgProcess::stopped;
  Decision d2 = decide(paused(healthy_cluster().build(), lp));
  EXPECT_TRUE(d2.has(Action::release_lock));
  EXPECT_FALSE(d2.has(Action::start_primary));
}

TEST(Pause, ManualFailoverToCandidateAllowed) {
  Decision d = decide(paused(leaderless_cluster().failover(R"({"member":"node2"})").build(), replica_state("node2")));
  ASSERT_TRUE(d.is_conditional());
  EXPECT_TRUE(d.resolve({true}).has(Action::promote));
}

TEST(Pause, SwitchoverWinnerRewritesFailoverKey) {
  Decision d = decide(paused(leaderless_cluster().failover(R"({"leader":"node1","member":"node2"})").build(),
                             replica_state("node2")));
  const auto* r = d.resolve({true}).find<step::RewriteFailoverKey>();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->candidate, "node2");
}

TEST(Pause, PrimaryClearsKeyOfVanishedCandidate) {
  Decision d = decide(paused(leaderless_cluster().failover(R"({"member":"gone"})").build(), primary_state("node1")));
  EXPECT_TRUE(d.has(Action::clear_failover_key));
  EXPECT_TRUE(d.is_conditional());  // then races as a paused primary with matching sysid
}

TEST(Pause, FailoverWithoutCandidateRefusedByLeader) {
  DecisionInput in = paused(healthy_cluster().failover(R"({"leader":"node1"})").build(), primary_state("node1"));
  in.members = {replica_status("node2", 1000)};
  Decision ok = decide(in).resolve({true});
  EXPECT_FALSE(ok.has(Action::demote));
  EXPECT_TRUE(ok.has(Action::clear_failover_key));
}

TEST(Pause, ScheduledRestartNotRun) {
  DecisionInput in = paused(healthy_cluster().build(), replica_state("node2"));
  in.local.scheduled_restart = ScheduledRestart{in.now, std::nullopt, std::nullopt, std::nullopt, false};
  EXPECT_FALSE(decide(in).has(Action::restart));
}

TEST(Pause, LeavingPauseSchedulesSanityChecks) {
  DecisionInput in = input(healthy_cluster().build(), replica_state("node2"));
  in.local.was_paused = true;
  Decision d = decide(in);
  EXPECT_TRUE(d.has(Action::sanity_checks));
  EXPECT_TRUE(d.has(Action::reset_rewind_state));
}

}  // namespace
}  // namespace custos::ha::test
