// Quorum commit (synchronous_mode: quorum, Patroni 4) in the leader race: a racer needs votes
// of /sync's leader and voters that are not ahead of it (`quorum` of them, one more when it is
// not a voter itself), "failover possible" needs quorum + 1 healthy voters, and the winner
// promotes with ANY n of the old leader and the other voters instead of writing /sync first.
#include "builders.h"
#include "ha/health.h"

namespace custos::ha::test {
namespace {

using nlohmann::json;

// node1 led; node2, node3 and node4 vote at quorum 1 (commits waited for 2 of them).
ClusterBuilder quorum_cluster(int quorum = 1, const std::string& voters = "node2,node3,node4") {
  ClusterBuilder b;
  b.initialize().config(R"({"ttl":30,"loop_wait":10,"synchronous_mode":"quorum"})").status(1000);
  b.member("node1", "master", 1000)
      .member("node2", "replica", 1000)
      .member("node3", "replica", 1000)
      .member("node4", "replica", 1000)
      .member("node5", "replica", 1000);
  b.raw("sync", R"({"leader":"node1","quorum":)" + std::to_string(quorum) + R"(,"sync_standby":")" + voters + "\"}");
  return b;
}

DecisionInput quorum_input(const std::string& me = "node2", int quorum = 1) {
  DecisionInput in = input(quorum_cluster(quorum).build(), replica_state(me, 1000));
  in.settings.synchronous_mode = true;
  in.settings.quorum_commit = true;
  in.members = {unreachable("node1"), unreachable("node2"), unreachable("node3"), unreachable("node4"),
                unreachable("node5")};
  return in;
}

void set_status(DecisionInput& in, const MemberStatus& st) {
  for (auto& m : in.members)
    if (m.name == st.name) m = st;
}

TEST(QuorumRace, AVoterNeedsQuorumVotes) {
  DecisionInput in = quorum_input("node2", 1);
  EXPECT_FALSE(decide(in).is_conditional()) << "alone: 0 votes of 1";
  set_status(in, replica_status("node5", 1000));
  EXPECT_FALSE(decide(in).is_conditional()) << "node5 is no voter";
  set_status(in, replica_status("node3", 1000));
  EXPECT_TRUE(decide(in).is_conditional()) << "node3 votes";
  in = quorum_input("node2", 2);
  set_status(in, replica_status("node3", 1000));
  EXPECT_FALSE(decide(in).is_conditional()) << "quorum 2: one vote is not enough";
  set_status(in, replica_status("node4", 900));
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(QuorumRace, TheFormerLeaderVotes) {
  DecisionInput in = quorum_input("node2", 1);
  set_status(in, replica_status("node1", 1000));  // came back as a replica
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(QuorumRace, ANodeOutsideTheVotersNeedsOneVoteMore) {
  DecisionInput in = quorum_input("node5", 1);
  set_status(in, replica_status("node3", 1000));
  EXPECT_FALSE(decide(in).is_conditional());
  set_status(in, replica_status("node4", 1000));
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(QuorumRace, AVoterAheadStopsTheRace) {
  DecisionInput in = quorum_input("node2", 1);
  set_status(in, replica_status("node3", 1000));
  set_status(in, replica_status("node4", 1001));
  Decision d = decide(in);
  EXPECT_FALSE(d.is_conditional());
  EXPECT_EQ(d.log, (std::vector<std::pair<std::string, bool>>{{"Wal position of node4 is ahead of my wal position", false}}));
}

TEST(QuorumRace, NofailoverVotersStillVoteButNeverRace) {
  DecisionInput in = quorum_input("node2", 1);
  set_status(in, replica_status("node3", 1000, 0));  // nofailover
  EXPECT_TRUE(decide(in).is_conditional());
  in.local = replica_state("node3", 1000);
  in.local.tags.nofailover = true;
  set_status(in, replica_status("node2", 1000));
  EXPECT_FALSE(decide(in).is_conditional());
}

TEST(QuorumRace, PriorityOnlyAmongVoters) {
  DecisionInput in = quorum_input("node2", 1);
  set_status(in, replica_status("node3", 1000));
  set_status(in, replica_status("node5", 1000, 5));  // not a voter: its priority does not count
  EXPECT_TRUE(decide(in).is_conditional());
  set_status(in, replica_status("node3", 1000, 5));
  EXPECT_FALSE(decide(in).is_conditional());
}

TEST(QuorumRace, TheWinnerPromotesWithAnyNOfTheOthers) {
  DecisionInput in = quorum_input("node2", 1);
  set_status(in, replica_status("node3", 1000));
  Decision d = decide(in);
  ASSERT_TRUE(d.is_conditional());
  // /sync is handed over first (node2 out of the voters, the quorum kept), then the promotion
  // waits for ANY 2 of the old leader and the two other voters.
  Decision won = d.on_success();
  ASSERT_TRUE(won.is_conditional());
  const auto* handed = won.find<step::WriteSyncState>();
  ASSERT_NE(handed, nullptr);
  EXPECT_EQ(json::parse(handed->value), json::parse(R"({"leader":"node2","quorum":1,"sync_standby":"node3,node4"})"));
  Decision promoted = d.resolve({true, true});
  ASSERT_TRUE(promoted.has(Action::promote));
  EXPECT_EQ(promoted.find<step::SetSynchronousStandbyNames>()->value, "ANY 2 (node1,node3,node4)");
  EXPECT_FALSE(d.resolve({true, false}).has(Action::promote));  // /sync changed meanwhile
  // Strict mode without /sync: any one standby.
  in.cluster = leaderless_cluster().config(R"({"ttl":30,"loop_wait":10,"synchronous_mode":"quorum"})").build();
  in.settings.synchronous_mode_strict = true;
  in.members = {unreachable("node1"), replica_status("node3", 1000)};
  promoted = decide(in).resolve({true, true});
  ASSERT_TRUE(promoted.has(Action::promote));
  EXPECT_EQ(promoted.find<step::SetSynchronousStandbyNames>()->value, "ANY 1 (*)");
}

// The old leader is exempt from the vote only while /sync names it: once the winner handed
// /sync over (before promoting), the old leader coming back needs votes like anyone.
TEST(QuorumRace, TheOldLeaderIsExemptOnlyWhileSyncNamesIt) {
  DecisionInput in = quorum_input("node1", 3);  // quorum 3 of 3 voters: nobody else can win
  in.local = replica_state("node1", 1000);
  EXPECT_TRUE(decide(in).is_conditional());
  in.cluster = quorum_cluster(3).raw("sync", R"({"leader":"node2","quorum":2,"sync_standby":"node3,node4"})").build();
  EXPECT_FALSE(decide(in).is_conditional());
}

// A nofailover voter ahead of the racer withholds its vote but cannot stop the race for good.
TEST(QuorumRace, ANofailoverVoterAheadOnlyWithholdsItsVote) {
  DecisionInput in = quorum_input("node2", 1);
  set_status(in, replica_status("node3", 2000, 0));  // nofailover, ahead
  EXPECT_FALSE(decide(in).is_conditional());         // no vote from it
  set_status(in, replica_status("node4", 1000));
  EXPECT_TRUE(decide(in).is_conditional());
}

TEST(QuorumRace, FailoverPossibleNeedsQuorumPlusOneHealthyVoters) {
  const dcs::Cluster c = quorum_cluster(1).build();
  LocalState me = primary_state("node1", 1000);
  HaSettings s;
  s.synchronous_mode = true;
  s.quorum_commit = true;
  MemberStatuses statuses = {replica_status("node2", 1000), unreachable("node3"), unreachable("node4"),
                             replica_status("node5", 1000)};
  HealthContext ctx{c, nullptr, me, s, statuses, 0};
  std::vector<std::string> notes;
  EXPECT_FALSE(is_failover_possible(ctx, 0, false, &notes));
  EXPECT_EQ(notes.back(), "Quorum requirement 1 can not be reached");
  statuses[1] = replica_status("node3", 1000);
  EXPECT_TRUE(is_failover_possible(ctx));
  // Plain synchronous mode keeps the quorum rules of a /sync written in quorum mode until the
  // primary rewrites it; with a plain /sync one member is enough.
  s.quorum_commit = false;
  statuses[1] = unreachable("node3");
  EXPECT_FALSE(is_failover_possible(ctx));
  const dcs::Cluster plain = quorum_cluster(0).build();
  HealthContext plain_ctx{plain, nullptr, me, s, statuses, 0};
  EXPECT_TRUE(is_failover_possible(plain_ctx));
}

TEST(QuorumRace, SwitchoverCandidateOutsideTheVotersMayRace) {
  // A manual failover to an unhealthy candidate: in quorum mode a node outside /sync goes on
  // to the vote (plain synchronous mode stops it).
  DecisionInput in = quorum_input("node5", 1);
  in.cluster = quorum_cluster(1).failover(R"({"candidate":"node4"})").build();
  set_status(in, replica_status("node3", 1000));
  set_status(in, replica_status("node2", 1000));
  EXPECT_TRUE(decide(in).is_conditional());
  in.settings.quorum_commit = false;
  EXPECT_FALSE(decide(in).is_conditional());
}

}  // namespace
}  // namespace custos::ha::test
