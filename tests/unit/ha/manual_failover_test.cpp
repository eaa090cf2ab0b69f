// ha.md §3.7, §3.8, §3.10, §3.16: switchover/failover requests and scheduled actions.
#include "builders.h"

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

}  // namespace
}  // namespace custos::ha::test
