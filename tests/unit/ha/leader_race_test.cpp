// ha.md §3.4-§3.6: the leader race of an unlocked cluster.
#include "builders.h"

namespace custos::ha::test {
namespace {

DecisionInput race_input(int64_t my_lsn = 1000) {
  DecisionInput in = input(leaderless_cluster().build(), replica_state("node2", my_lsn));
  in.members = {unreachable("node1"), replica_status("node3", 1000)};
  return in;
}

TEST(LeaderRace, HealthiestReplicaRacesAndPromotesOnWin) {
  Decision d = decide(race_input());
  ASSERT_TRUE(d.is_conditional());
  EXPECT_EQ(d.action, Action::acquire_lock);
  Decision won = d.resolve({true});
  EXPECT_EQ(won.action, Action::promote);
  EXPECT_EQ(won.message, "promoted self to leader by acquiring session lock");
  EXPECT_TRUE(won.has(Action::reload_cluster));
  EXPECT_FALSE(won.has(Action::clear_failover_key));
  EXPECT_EQ(won.steps.back().action(), Action::touch_member);
  Decision lost = d.resolve({false});
  EXPECT_FALSE(lost.has(Action::promote));
  EXPECT_EQ(lost.message, "following new leader after trying and failing to obtain lock");
  const auto* f = lost.find<step::Follow>();
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->refresh_target);  // the winner is only in the re-read view
}

TEST(LeaderRace, GivingWayIsLoggedInPatronisWords) {
  DecisionInput in = race_input(1000);
  in.members = {unreachable("node1"), replica_status("node3", 1001)};
  Decision d = decide(in);
  EXPECT_EQ(d.log, (std::vector<std::pair<std::string, bool>>{{"Wal position of node3 is ahead of my wal position", false}}));
  // Equal position: the higher failover_priority wins.
  in.members = {unreachable("node1"), replica_status("node3", 1000)};
  in.members[1].failover_priority = 5;
  d = decide(in);
  EXPECT_EQ(d.log, (std::vector<std::pair<std::string, bool>>{
                       {"node3 has equally tolerable WAL position and priority 5, while this node has priority 1", false}}));
  // A cluster with a leader: Patroni's "Lock owner" line.
  Decision steady = decide(input(healthy_cluster().build(), replica_state("node2", 1000)));
  EXPECT_EQ(steady.log, (std::vector<std::pair<std::string, bool>>{{"Lock owner: node1; I am node2", false}}));
}

TEST(LeaderRace, HigherWalPositionElsewhereMeansNoRace) {
  DecisionInput in = race_input(1000);
  in.members = {unreachable("node1"), replica_status("node3", 1001)};
  Decision d = decide(in);
  EXPECT_FALSE(d.is_conditional());
  EXPECT_FALSE(d.has(Action::acquire_lock));
  EXPECT_EQ(d.message, "following a different leader because i am not the healthiest node");
}

TEST(LeaderRace, EqualWalHigherPriorityElsewhereMeansNoRace) {
  DecisionInput in = race_input(1000);
  in.members = {unreachable("node1"), replica_status("node3", 1000, 5)};
  EXPECT_FALSE(decide(in).is_conditional());
}

TEST(LeaderRace, EqualWalLowerPriorityElsewhereStillRaces) {
  DecisionInput in = race_input(1000);
  in.local.tags.failover_priority = 3;
  in.members = {unreachable("node1"), replica_status("node3", 1000, 2)};
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(LeaderRace, LowerWalElsewhereStillRaces) {
  DecisionInput in = race_input(1000);
  in.members = {unreachable("node1"), replica_status("node3", 900, 10)};
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(LeaderRace, LaggingBeyondMaximumLagOnFailoverMeansNoRace) {
  DecisionInput in = input(leaderless_cluster().status(5'000'000).build(), replica_state("node2", 1000));
  in.members = {unreachable("node1"), unreachable("node3")};
  EXPECT_FALSE(decide(in).is_conditional());
  in.settings.maximum_lag_on_failover = 10'000'000;
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(LeaderRace, NofailoverNeverRaces) {
  DecisionInput in = race_input();
  in.local.tags.nofailover = true;
  in.members = {unreachable("node1"), unreachable("node3")};
  Decision d = decide(in);
  EXPECT_FALSE(d.is_conditional());
  EXPECT_EQ(d.message, "following a different leader because I am not allowed to promote");
  const auto* sl = d.find<step::Sleep>();
  ASSERT_NE(sl, nullptr);
  EXPECT_EQ(sl->seconds, 2);
  EXPECT_TRUE(d.has(Action::trigger_rewind_check));
}

TEST(LeaderRace, FailoverPriorityZeroIsNofailover) {
  DecisionInput in = race_input();
  in.local.tags.failover_priority = 0;
  EXPECT_FALSE(decide(in).is_conditional());
}

TEST(LeaderRace, CheckTimelineBehindClusterMeansNoRace) {
  DecisionInput in = input(leaderless_cluster().history(R"([[1,100,"no recovery target specified"]])").build(),
                           replica_state("node2", 1000));
  in.members = {unreachable("node1"), unreachable("node3")};
  in.settings.check_timeline = true;
  in.local.timeline = 1;  // cluster timeline is 2
  EXPECT_FALSE(decide(in).is_conditional());
  in.local.timeline = std::nullopt;
  EXPECT_FALSE(decide(in).is_conditional());
  in.local.timeline = 2;
  EXPECT_TRUE(decide(in).is_conditional());
  in.settings.check_timeline = false;
  in.local.timeline = 1;
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(LeaderRace, OldPrimaryStillAliveMeansNoRace) {
  DecisionInput in = race_input();
  in.members = {primary_status("node1", 900), replica_status("node3", 900)};
  EXPECT_FALSE(decide(in).is_conditional());
}

TEST(LeaderRace, UnreachableAndMissingMembersAreIgnored) {
  DecisionInput in = race_input();
  in.members = {};  // nobody answered
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(LeaderRace, NofailoverAndWatchdogFailedAnswersAreIgnored) {
  DecisionInput in = race_input(1000);
  MemberStatus a = replica_status("node3", 5000);
  a.nofailover = true;
  MemberStatus b = replica_status("node1", 5000);
  b.watchdog_failed = true;
  in.members = {a, b};
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(LeaderRace, MembersOfOldClusterJoinTheHealthCheck) {
  DecisionInput in = input(ClusterBuilder().initialize().config().status(1000)
                               .member("node2", "replica", 1000).build(),
                           replica_state("node2", 1000));
  in.old_cluster = healthy_cluster().build();
  in.members = {unreachable("node1"), replica_status("node3", 2000)};
  EXPECT_FALSE(decide(in).is_conditional());
}

TEST(LeaderRace, RunningPrimaryWithoutLockReacquiresWithoutPromote) {
  DecisionInput in = input(leaderless_cluster().build(), primary_state("node1", 1000));
  in.members = {replica_status("node2", 900), replica_status("node3", 900)};
  Decision d = decide(in);
  ASSERT_TRUE(d.is_conditional());
  Decision won = d.resolve({true});
  EXPECT_FALSE(won.has(Action::promote));
  EXPECT_EQ(won.message, "acquired session lock as a leader");
  EXPECT_TRUE(won.has(Action::manage_sync_replication));
  EXPECT_TRUE(won.has(Action::update_history));
  Decision lost = d.resolve({false});
  const auto* dm = lost.find<step::Demote>();
  ASSERT_NE(dm, nullptr);
  EXPECT_EQ(dm->mode, DemoteMode::immediate_nolock);
  EXPECT_EQ(lost.message, "demoted self after trying and failing to obtain lock");
}

TEST(LeaderRace, PrimaryBehindClusterTimelineDemotes) {
  DecisionInput in = input(leaderless_cluster().history(R"([[1,100,"x"],[2,200,"y"]])").build(),
                           primary_state("node1", 1000));
  in.local.timeline = 2;  // cluster timeline 3: someone else was promoted meanwhile
  Decision d = decide(in);
  EXPECT_FALSE(d.is_conditional());
  EXPECT_EQ(d.action, Action::demote);
  EXPECT_EQ(d.find<step::Demote>()->mode, DemoteMode::immediate_nolock);
  EXPECT_EQ(d.message, "demoting self because i am not the healthiest node");
}

TEST(LeaderRace, WinnerCleansUpFailoverKey) {
  DecisionInput in = input(leaderless_cluster().failover(R"({"member":"node2"})").build(),
                           replica_state("node2"));
  Decision won = decide(in).resolve({true});
  const auto* c = won.find<step::ClearFailoverKey>();
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->unconditional);  // unconditional cleanup right after winning
  EXPECT_LT(step_index(won.steps, Action::clear_failover_key), step_index(won.steps, Action::promote));
}

TEST(LeaderRace, SyncModeOnlySyncStandbysRace) {
  DecisionInput in = input(leaderless_cluster().sync("node1", "node3").build(), replica_state("node2"));
  in.settings.synchronous_mode = true;
  EXPECT_FALSE(decide(in).is_conditional());
  in.local.name = "node3";
  in.members = {unreachable("node1"), replica_status("node2", 5000)};  // node2 is not in /sync
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(LeaderRace, SyncModeFormerLeaderAheadIsIgnored) {
  DecisionInput in = input(leaderless_cluster().sync("node1", "node2").build(), replica_state("node2", 1000));
  in.settings.synchronous_mode = true;
  MemberStatus old = replica_status("node1", 2000);  // restarted as replica, ahead
  in.members = {old};
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(LeaderRace, SyncModeWinnerWritesSyncStateBeforePromote) {
  DecisionInput in = input(leaderless_cluster().sync("node1", "node2").build(), replica_state("node2"));
  in.settings.synchronous_mode = true;
  in.settings.synchronous_mode_strict = true;
  Decision d = decide(in);
  Decision won = d.on_success();
  ASSERT_TRUE(won.is_conditional());
  EXPECT_EQ(won.steps.back().action(), Action::write_sync_state);
  Decision promoted = d.resolve({true, true});
  EXPECT_TRUE(promoted.has(Action::promote));
  EXPECT_EQ(promoted.find<step::SetSynchronousStandbyNames>()->value, "*");
  Decision postponed = d.resolve({true, false});
  EXPECT_FALSE(postponed.has(Action::promote));
  EXPECT_EQ(postponed.message,
            "Postponing promotion because synchronous replication state was updated by somebody else");
}

TEST(LeaderRace, FailsafeKeyWithoutMeMeansNoRace) {
  DecisionInput in = input(leaderless_cluster().failsafe(R"({"node1":"http://a/patroni","node3":"http://c/patroni"})").build(),
                           replica_state("node2"));
  in.settings.failsafe_mode = true;
  EXPECT_FALSE(decide(in).is_conditional());
  in.settings.failsafe_mode = false;
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(LeaderRace, FailsafeMembersJoinTheHealthCheck) {
  DecisionInput in = input(leaderless_cluster().failsafe(R"({"node2":"http://b/patroni","node9":"http://z/patroni"})").build(),
                           replica_state("node2", 1000));
  in.settings.failsafe_mode = true;
  in.members = {replica_status("node9", 3000)};
  EXPECT_FALSE(decide(in).is_conditional());
}

TEST(LeaderRace, BackoffAfterPrePromoteFailure) {
  DecisionInput in = race_input();
  in.local.released_lock_after_pre_promote = in.now - 10;
  EXPECT_FALSE(decide(in).is_conditional());
  in.local.released_lock_after_pre_promote = in.now - 31;
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(LeaderRace, UnusableWatchdogMeansNoRace) {
  DecisionInput in = race_input();
  in.local.watchdog_healthy = false;
  EXPECT_FALSE(decide(in).is_conditional());
}

}  // namespace
}  // namespace custos::ha::test
