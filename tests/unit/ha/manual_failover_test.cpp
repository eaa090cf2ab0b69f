// ha.md §3.7, §3.8, §3.10, §3.16: switchover/failover requests and scheduled actions.
#include "builders.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace custos::ha::test {
namespace {

std::string iso(double epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return buf;
}

DecisionInput leader_with_failover(const std::string& key) {
  DecisionInput in = input(healthy_cluster().failover(key).build(), primary_state("node1"));
  in.members = {replica_status("node2", 1000), replica_status("node3", 1000)};
  return in;
}

TEST(Switchover, LeaderDemotesGracefullyToHealthyCandidate) {
  Decision ok = decide(leader_with_failover(R"({"leader":"node1","member":"node2"})")).resolve({true});
  EXPECT_EQ(ok.find<step::Demote>()->mode, DemoteMode::graceful);
  EXPECT_EQ(ok.message, "switchover: demoting myself");
  EXPECT_FALSE(ok.has(Action::clear_failover_key));
}

TEST(Switchover, ManualFailoverMessage) {
  Decision ok = decide(leader_with_failover(R"({"member":"node2"})")).resolve({true});
  EXPECT_EQ(ok.message, "manual failover: demoting myself");
}

TEST(Switchover, UnhealthyCandidateMeansNoDemoteAndCleanup) {
  DecisionInput in = leader_with_failover(R"({"leader":"node1","member":"node2"})");
  in.members = {unreachable("node2"), replica_status("node3", 1000)};
  Decision ok = decide(in).resolve({true});
  EXPECT_FALSE(ok.has(Action::demote));
  EXPECT_TRUE(ok.has(Action::clear_failover_key));
  EXPECT_EQ(ok.message, "no action. I am (node1), the leader with the lock");
}

TEST(Switchover, LaggingCandidateIsNotEligible) {
  DecisionInput in = leader_with_failover(R"({"leader":"node1","member":"node2"})");
  in.members = {replica_status("node2", 1000 - 2 * 1048576)};
  in.cluster = healthy_cluster().failover(R"({"leader":"node1","member":"node2"})").status(3 * 1048576).build();
  EXPECT_FALSE(decide(in).resolve({true}).has(Action::demote));
}

TEST(Switchover, WrongLeaderOrSelfCandidateClearsKey) {
  Decision a = decide(leader_with_failover(R"({"leader":"node3","member":"node2"})")).resolve({true});
  EXPECT_FALSE(a.has(Action::demote));
  EXPECT_TRUE(a.has(Action::clear_failover_key));
  Decision b = decide(leader_with_failover(R"({"member":"node1"})")).resolve({true});
  EXPECT_FALSE(b.has(Action::demote));
  EXPECT_TRUE(b.has(Action::clear_failover_key));
}

TEST(Switchover, SyncModeOnlySyncStandbysAreCandidates) {
  DecisionInput in = leader_with_failover(R"({"leader":"node1"})");
  in.settings.synchronous_mode = true;
  in.cluster = healthy_cluster().failover(R"({"leader":"node1"})").sync("node1", "node3").build();
  in.members = {replica_status("node2", 1000), unreachable("node3")};
  EXPECT_FALSE(decide(in).resolve({true}).has(Action::demote));
  in.members = {replica_status("node2", 1000), replica_status("node3", 1000)};
  EXPECT_TRUE(decide(in).resolve({true}).has(Action::demote));
}

TEST(Switchover, CheckTimelineExcludesCandidatesBehind) {
  DecisionInput in = leader_with_failover(R"({"leader":"node1"})");
  in.cluster = healthy_cluster().failover(R"({"leader":"node1"})").history(R"([[1,10,"x"]])").build();
  in.settings.check_timeline = true;
  in.members = {replica_status("node2", 1000)};  // timeline 1 < cluster 2
  EXPECT_FALSE(decide(in).resolve({true}).has(Action::demote));
  in.members[0].timeline = 2;
  EXPECT_TRUE(decide(in).resolve({true}).has(Action::demote));
}

TEST(Switchover, ScheduledInTheFutureWaits) {
  DecisionInput in = leader_with_failover("");
  const std::string key = R"({"leader":"node1","member":"node2","scheduled_at":")" + iso(in.now + 60) + "\"}";
  in.cluster = healthy_cluster().failover(key).build();
  Decision ok = decide(in).resolve({true});
  EXPECT_FALSE(ok.has(Action::demote));
  EXPECT_FALSE(ok.has(Action::clear_failover_key));
}

TEST(Switchover, ScheduledStaleIsCleared) {
  DecisionInput in = leader_with_failover("");
  const std::string key = R"({"leader":"node1","member":"node2","scheduled_at":")" + iso(in.now - 16) + "\"}";
  in.cluster = healthy_cluster().failover(key).build();
  Decision ok = decide(in).resolve({true});
  EXPECT_FALSE(ok.has(Action::demote));
  EXPECT_TRUE(ok.has(Action::clear_failover_key));
}

TEST(Switchover, ScheduledNowSleepsThenDemotes) {
  DecisionInput in = leader_with_failover("");
  const std::string key = R"({"leader":"node1","member":"node2","scheduled_at":")" + iso(in.now + 5) + "\"}";
  in.cluster = healthy_cluster().failover(key).build();
  Decision ok = decide(in).resolve({true});
  EXPECT_EQ(ok.find<step::Sleep>()->seconds, 5);
  EXPECT_TRUE(ok.has(Action::demote));
}

TEST(ManualFailoverNoLeader, CandidateHealthyOthersWait) {
  DecisionInput in = input(leaderless_cluster().failover(R"({"member":"node3"})").build(), replica_state("node2", 5000));
  in.members = {replica_status("node3", 100)};
  Decision d = decide(in);
  EXPECT_FALSE(d.is_conditional());
  EXPECT_TRUE(d.has(Action::sleep));
}

TEST(ManualFailoverNoLeader, UnhealthyCandidateFallsBackToHealthiestWithoutLagCheck) {
  DecisionInput in = input(leaderless_cluster().failover(R"({"member":"node3"})").status(1 << 30).build(),
                           replica_state("node2", 5000));
  in.members = {unreachable("node3")};
  EXPECT_TRUE(decide(in).is_conditional());  // lag not checked in §3.8
}

TEST(ManualFailoverNoLeader, FormerLeaderRacesOnlyIfNobodyElseCan) {
  DecisionInput in = input(leaderless_cluster().failover(R"({"leader":"node1"})").build(), replica_state("node1", 1000));
  in.members = {replica_status("node2", 1000)};
  EXPECT_FALSE(decide(in).is_conditional());
  in.members = {unreachable("node2"), unreachable("node3")};
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(ManualFailoverNoLeader, FormerLeaderExcludedFromHealthCheck) {
  DecisionInput in = input(leaderless_cluster().failover(R"({"leader":"node1"})").build(), replica_state("node2", 1000));
  in.members = {replica_status("node1", 9000), replica_status("node3", 1000)};
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(ManualFailoverNoLeader, SwitchoverInSyncModeRequiresSyncMembership) {
  DecisionInput in = input(leaderless_cluster().failover(R"({"leader":"node1"})").sync("node1", "node3").build(),
                           replica_state("node2", 1000));
  in.settings.synchronous_mode = true;
  EXPECT_FALSE(decide(in).is_conditional());
}

TEST(ScheduledRestart, RunsWhenDueAndMatches) {
  DecisionInput in = input(healthy_cluster().build(), replica_state("node2"));
  in.local.scheduled_restart = ScheduledRestart{in.now - 1, std::nullopt, std::string("replica"), std::nullopt, false};
  Decision d = decide(in);
  EXPECT_TRUE(d.has(Action::restart));
  EXPECT_TRUE(d.has(Action::delete_scheduled_restart));
  EXPECT_EQ(d.message, "restart initiated");
}

TEST(ScheduledRestart, FiltersAndCancellation) {
  DecisionInput in = input(healthy_cluster().build(), replica_state("node2"));
  in.local.scheduled_restart = ScheduledRestart{in.now, std::nullopt, std::string("master"), std::nullopt, false};
  EXPECT_FALSE(decide(in).has(Action::restart));
  in.local.scheduled_restart = ScheduledRestart{in.now, std::nullopt, std::nullopt, 150000, false};
  EXPECT_FALSE(decide(in).has(Action::restart));  // running 16 >= 15
  in.local.scheduled_restart = ScheduledRestart{in.now, std::nullopt, std::nullopt, std::nullopt, true};
  EXPECT_FALSE(decide(in).has(Action::restart));  // no restart pending
  in.local.pending_restart = true;
  EXPECT_TRUE(decide(in).has(Action::restart));
  in.local.scheduled_restart = ScheduledRestart{in.now, std::string("t1"), std::nullopt, std::nullopt, false};
  in.local.postmaster_start_time = "t2";
  Decision d = decide(in);
  EXPECT_FALSE(d.has(Action::restart));
  EXPECT_TRUE(d.has(Action::delete_scheduled_restart));
  in.local.postmaster_start_time = "t1";
  in.local.scheduled_restart->schedule = in.now + 100;
  EXPECT_FALSE(decide(in).has(Action::delete_scheduled_restart));
}

// Patroni's lines on the leader's failover-key path (operators grep for them).
TEST(SwitchoverWords, DemoteTaskIsNamedAfterTheAction) {
  Decision sw = decide(leader_with_failover(R"({"leader":"node1","member":"node2"})")).resolve({true});
  EXPECT_EQ(sw.find<step::Demote>()->task_name, "switchover: demote");
  Decision mf = decide(leader_with_failover(R"({"member":"node2"})")).resolve({true});
  EXPECT_EQ(mf.find<step::Demote>()->task_name, "manual failover: demote");
}

TEST(SwitchoverWords, RefusalsAreWarnedThenTheKeyIsCleaned) {
  Decision self = decide(leader_with_failover(R"({"member":"node1"})")).resolve({true});
  EXPECT_TRUE(logs(self, "warning: manual failover: I am already the leader, no need to failover"));
  EXPECT_TRUE(logs(self, "info: Cleaning up failover key"));
  EXPECT_LT(step_index(self.steps, Action::log), step_index(self.steps, Action::clear_failover_key));

  Decision other = decide(leader_with_failover(R"({"leader":"node3","member":"node2"})")).resolve({true});
  EXPECT_TRUE(logs(other, "warning: switchover: leader name does not match: node3 != node1"));

  DecisionInput in = leader_with_failover(R"({"leader":"node1","member":"node2"})");
  in.members = {unreachable("node2"), replica_status("node3", 1000)};
  Decision root = decide(in);
  Decision none = root.resolve({true});
  EXPECT_TRUE(logs(none, "warning: switchover: no healthy members found, switchover is not possible"));
  EXPECT_TRUE(logs(none, "info: Member node2 is not reachable", &root));

  DecisionInput paused = leader_with_failover(R"({"leader":"node1"})");
  paused.settings.pause = true;
  EXPECT_TRUE(logs(decide(paused).resolve({true}),
                   "warning: Switchover is possible only to a specific candidate in a paused state"));
}

TEST(SwitchoverWords, CandidateTooFarBehindIsNamed) {
  DecisionInput in = leader_with_failover(R"({"leader":"node1","member":"node2"})");
  in.members = {replica_status("node2", 1000 - 2 * 1048576)};
  in.cluster = healthy_cluster().failover(R"({"leader":"node1","member":"node2"})").status(3 * 1048576).build();
  Decision root = decide(in);
  EXPECT_TRUE(logs(root.resolve({true}), "info: Member node2 exceeds maximum replication lag", &root));
}

TEST(SwitchoverWords, ScheduledSwitchoverLines) {
  DecisionInput in = leader_with_failover("");
  const double at = std::floor(in.now) + 60;
  std::string key = R"({"leader":"node1","member":"node2","scheduled_at":")" + iso(at) + "\"}";
  in.cluster = healthy_cluster().failover(key).build();
  const std::string in_seconds = std::to_string(static_cast<long long>(std::lround(at - in.now)));
  EXPECT_TRUE(logs(decide(in).resolve({true}),
                   "info: Awaiting switchover at " + iso(at) + " (in " + in_seconds + " seconds)"));

  key = R"({"member":"node2","scheduled_at":")" + iso(in.now - 16) + "\"}";
  in.cluster = healthy_cluster().failover(key).build();
  EXPECT_TRUE(logs(decide(in).resolve({true}), "warning: Found a stale failover value, cleaning up: " + iso(in.now - 16)));

  key = R"({"leader":"node1","member":"node2","scheduled_at":")" + iso(in.now + 5) + "\"}";
  in.cluster = healthy_cluster().failover(key).build();
  Decision run = decide(in).resolve({true});
  EXPECT_TRUE(logs(run, "info: Manual scheduled switchover at " + iso(in.now + 5)));
  EXPECT_LT(step_index(run.steps, Action::sleep), step_index(run.steps, Action::log));
}

TEST(ScheduledRestartWords, AwaitingStaleAndReasons) {
  DecisionInput in = input(healthy_cluster().build(), replica_state("node2"));
  const double at = std::floor(in.now) + 3600;
  in.local.scheduled_restart = ScheduledRestart{at, std::nullopt, std::nullopt, std::nullopt, false};
  EXPECT_TRUE(logs(decide(in), "info: Awaiting restart at " + iso(at) + " (in " +
                                   std::to_string(static_cast<long long>(std::lround(at - in.now))) + " seconds)"));
  in.local.scheduled_restart->schedule = std::floor(in.now) - 100;
  EXPECT_TRUE(logs(decide(in), "warning: Found a stale restart value, cleaning up: " + iso(std::floor(in.now) - 100)));

  in.local.scheduled_restart = ScheduledRestart{std::floor(in.now), std::nullopt, std::string("master"), std::nullopt, true};
  Decision d = decide(in);
  EXPECT_FALSE(d.has(Action::restart));
  EXPECT_TRUE(logs(d, "info: Manual scheduled restart at " + iso(std::floor(in.now))));
  EXPECT_TRUE(logs(d, "info: not proceeding with the restart: pending restart flag is not set"));  // the last check wins
  EXPECT_TRUE(logs(d, "warning: Scheduled restart: restart conditions are not satisfied"));

  in.local.scheduled_restart = ScheduledRestart{in.now, std::string("t1"), std::nullopt, std::nullopt, false};
  in.local.postmaster_start_time = "2026-12-03 10:00:00.000 UTC";
  EXPECT_TRUE(logs(decide(in),
                   "info: Cancelling scheduled restart: postgres restart has already happened at 2026-12-03 10:00:00.000 UTC"));
}

}  // namespace
}  // namespace custos::ha::test
