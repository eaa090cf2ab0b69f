// Failsafe mode (ha.md §7) through the real loop and executor on simulated nodes: the leader's
// /failsafe map, POST /failsafe between members, a primary that keeps running through a DCS
// outage only while every member confirms it, replicas that do not race while they hear from
// it, and the answers of the REST endpoint.
#include <gtest/gtest.h>

#include "agent/operations.h"
#include "log_capture.h"
#include "sim_cluster.h"

namespace custos::test {
namespace {

using nlohmann::json;

const json kFailsafeOn = {{"bootstrap", {{"dcs", {{"failsafe_mode", true}}}}}};

bool follows(SimNode& n, const std::string& leader) {
  const auto s = n.pg.server();
  return s.running && s.in_recovery && s.upstream && s.upstream->name == leader;
}

void bring_up(SimCluster& c) {
  ASSERT_TRUE(c.rounds_until(
      [&] { return c.leader() == "node1" && follows(c.node("node2"), "node1") && follows(c.node("node3"), "node1"); },
      60))
      << "leader: " << c.leader().value_or("none");
  // The leader's refresh once every member key is in writes /failsafe with all of them; the
  // next cycle reads it back.
  c.round();
  c.round();
}

std::optional<dcs::DcsError> unreachable() { return dcs::DcsError{dcs::DcsErrorKind::kUnreachable, "no etcd"}; }

int primaries(SimCluster& c) {
  int n = 0;
  for (auto& node : c.nodes) n += node->is_primary() ? 1 : 0;
  return n;
}

api::Request failsafe_post(const std::string& body) {
  api::Request r;
  r.method = "POST";
  r.target = r.path = "/failsafe";
  r.body = body;
  r.headers = {{"Content-Length", std::to_string(body.size())}, {"Content-Type", "application/json"}};
  return r;
}

TEST(Failsafe, TheLeaderWritesEveryMembersApiUrlWithItsLockRefresh) {
  SimCluster c(3, kFailsafeOn);
  bring_up(c);
  ASSERT_TRUE(c.store.get("failsafe"));
  EXPECT_EQ(json::parse(*c.store.get("failsafe")), json({{"node1", "http://node1:8008/patroni"},
                                                          {"node2", "http://node2:8008/patroni"},
                                                          {"node3", "http://node3:8008/patroni"}}));
}

TEST(Failsafe, WithoutFailsafeModeNoMapIsWritten) {
  SimCluster c(3);
  bring_up(c);
  EXPECT_FALSE(c.store.get("failsafe"));
}

// failsafe_mode follows /config at run time: on, the map is written and POST /failsafe is
// taken; off again, an outage demotes the primary as before.
TEST(Failsafe, TurnsOnAndOffThroughTheDynamicConfiguration) {
  SimCluster c(3);
  bring_up(c);
  EXPECT_FALSE(c.store.get("failsafe"));
  c.store.put("config", R"({"ttl":30,"loop_wait":10,"retry_timeout":10,"failsafe_mode":true})");
  c.round();
  c.round();
  ASSERT_TRUE(c.store.get("failsafe"));
  EXPECT_EQ(json::parse(*c.store.get("failsafe")).size(), 3u);
  c.store.put("config", R"({"ttl":30,"loop_wait":10,"retry_timeout":10,"failsafe_mode":false})");
  c.round();
  c.store.set_fault([](const std::string&, const std::string&) { return unreachable(); });
  c.node("node1").cycle();
  EXPECT_TRUE(c.node("node1").pg.called("stop(fast)"));  // no confirmations asked for: demoted
  EXPECT_EQ(c.node("node1").members.failsafe_posts(), 0);
}

TEST(Failsafe, ThePrimaryKeepsRunningThroughAWholeDcsOutageWhileEveryMemberConfirms) {
  SimCluster c(3, kFailsafeOn);
  bring_up(c);
  LogCapture log;
  c.store.set_fault([](const std::string&, const std::string&) { return unreachable(); });
  for (int i = 0; i < 12; ++i) c.round(5);  // 60 s: twice the ttl
  EXPECT_TRUE(c.node("node1").is_primary());
  EXPECT_FALSE(c.node("node1").pg.called("stop(fast)"));
  EXPECT_EQ(primaries(c), 1);
  EXPECT_TRUE(log.has("info: continue to run as a leader because failsafe mode is enabled and all members are "
                      "accessible"));
  EXPECT_GE(c.node("node1").members.failsafe_posts(), 12);
  // failsafe_mode_is_active on the primary and on the replicas that heard from it.
  EXPECT_TRUE(c.node("node1").agent->snapshot().failsafe_mode_is_active);
  EXPECT_TRUE(c.node("node2").agent->snapshot().failsafe_mode_is_active);
  // The primary keeps answering as the leader (is_leader) and its fence stays armed ahead.
  EXPECT_TRUE(c.node("node1").agent->memory().local.is_leader(c.clock.now_seconds(), 30));
  ASSERT_TRUE(c.node("node1").agent->lease_fence().deadline());
  // The DCS comes back: the leader writes its lock again and failsafe ends.
  c.store.set_fault(nullptr);
  ASSERT_TRUE(c.rounds_until([&] { return c.leader() == "node1"; }, 10));
  c.round();
  EXPECT_FALSE(c.node("node1").agent->snapshot().failsafe_mode_is_active);
  EXPECT_TRUE(c.node("node1").is_primary());
  EXPECT_EQ(primaries(c), 1);
}

TEST(Failsafe, AMemberThatCannotBeReachedMakesThePrimaryDemote) {
  SimCluster c(3, kFailsafeOn);
  bring_up(c);
  c.node("node3").api_reachable = false;
  LogCapture log;
  c.store.set_fault([](const std::string&, const std::string&) { return unreachable(); });
  c.node("node1").cycle();
  EXPECT_TRUE(c.node("node1").pg.called("stop(fast)"));
  EXPECT_FALSE(c.node("node1").is_primary());
  EXPECT_TRUE(log.has("info: demoting self because DCS is not accessible and I was a leader"));
  EXPECT_FALSE(c.node("node1").agent->snapshot().failsafe_mode_is_active);
}

// Only the primary loses the DCS: its lock expires, but the replicas that keep hearing from it
// put it into their view and do not race; once they stop hearing from it (and it demoted,
// because it could not reach them), one of them takes over after the ttl.
TEST(Failsafe, ReplicasDoNotRaceWhileThePrimaryConfirmsThenTakeOverWhenItCannot) {
  SimCluster c(3, kFailsafeOn);
  bring_up(c);
  c.store.set_fault([](const std::string& member, const std::string&) -> std::optional<dcs::DcsError> {
    if (member == "node1") return unreachable();
    return std::nullopt;
  });
  for (int i = 0; i < 12; ++i) c.round(5);
  EXPECT_FALSE(c.store.get("leader"));  // expired: node1 cannot refresh it
  EXPECT_TRUE(c.node("node1").is_primary());
  EXPECT_EQ(primaries(c), 1);
  EXPECT_TRUE(follows(c.node("node2"), "node1"));
  EXPECT_TRUE(follows(c.node("node3"), "node1"));
  // node1 is cut off from the replicas too: it cannot be confirmed and demotes.
  c.node("node2").api_reachable = false;
  c.node("node3").api_reachable = false;
  c.node("node1").cycle();
  EXPECT_FALSE(c.node("node1").is_primary());
  ASSERT_TRUE(c.rounds_until([&] { return c.leader() && *c.leader() != "node1"; }, 20, 5));
  const std::string winner = *c.leader();
  ASSERT_TRUE(c.rounds_until([&] { return c.node(winner).is_primary(); }, 10));
  EXPECT_EQ(primaries(c), 1);
}

TEST(Failsafe, TheLeaseFenceFollowsTheLeadersLease) {
  SimCluster c(3);
  bring_up(c);
  const auto& l = c.node("node1").agent->memory().local;
  ASSERT_TRUE(l.last_lock_write);
  auto deadline = c.node("node1").agent->lease_fence().deadline();
  ASSERT_TRUE(deadline);
  EXPECT_NEAR(mono_seconds(*deadline), *l.last_lock_write + 30 - agent::kLeaseFenceMargin, 1e-6);
  EXPECT_FALSE(c.node("node2").agent->lease_fence().deadline());
  EXPECT_EQ(c.node("node1").agent->snapshot().fence_deadline, mono_seconds(*deadline));
  // Pause: the operator runs PostgreSQL, nothing is fenced.
  c.store.put("config", R"({"ttl":30,"loop_wait":10,"retry_timeout":10,"pause":true})");
  c.round();
  EXPECT_FALSE(c.node("node1").agent->lease_fence().deadline());
}

TEST(Failsafe, PostFailsafeIsAnsweredAsPatroniAnswersIt) {
  SimCluster c(3, kFailsafeOn);
  bring_up(c);
  SimNode& primary = c.node("node1");
  SimNode& replica = c.node("node2");
  agent::AgentOperations on_primary(*primary.agent, primary.agent->services(), primary.settings);
  agent::AgentOperations on_replica(*replica.agent, replica.agent->services(), replica.settings);
  const std::string body =
      R"({"name":"node1","conn_url":"postgres://node1:5432/postgres","api_url":"http://node1:8008/patroni","slots":{"node1":100,"bad":"x"}})";
  auto r = on_primary.failsafe(failsafe_post(body));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "Running as a leader");
  r = on_replica.failsafe(failsafe_post(body));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "Accepted");
  bool lsn = false;
  for (const auto& [k, v] : r.headers) lsn = lsn || k == "lsn";
  EXPECT_TRUE(lsn);
  EXPECT_TRUE(replica.agent->snapshot().failsafe_mode_is_active);
  EXPECT_EQ(on_replica.failsafe(failsafe_post(R"({"name":"node1"})")).status, 400);
  EXPECT_EQ(on_replica.failsafe(failsafe_post("not json")).status, 400);
  SimCluster off(1);
  ASSERT_TRUE(off.rounds_until([&] { return off.leader() == "node1"; }, 30));
  agent::AgentOperations without(*off.node("node1").agent, off.node("node1").agent->services(), off.node("node1").settings);
  EXPECT_EQ(without.failsafe(failsafe_post(body)).status, 502);
}

}  // namespace
}  // namespace custos::test
