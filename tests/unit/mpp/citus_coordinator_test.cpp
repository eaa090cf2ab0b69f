// The coordinator's maintainer (src/mpp/citus_coordinator.h) on its real thread, against a
// simulated pg_dist_node that refuses what Citus refuses.
#include "mpp/citus_coordinator.h"

#include <gtest/gtest.h>

#include <thread>

#include "sim_pg_dist_node.h"

namespace custos::mpp {
namespace {

using namespace std::chrono_literals;
using testing::SimPgDistNode;

std::string member(const std::string& host, const std::string& role, const std::string& state = "running") {
  return nlohmann::json{{"conn_url", "postgres://" + host + ":5432/citus"},
                        {"api_url", "https://" + host + ":8008/patroni"},
                        {"role", role},
                        {"state", state}}
      .dump();
}

dcs::RawNode node(std::string key, std::string value, dcs::Version version) {
  dcs::RawNode n;
  n.key = std::move(key);
  n.value = std::move(value);
  n.version = version;
  return n;
}

// Coordinator c1 (group 0); group 1 led by `leader1` with `replica1` streaming.
dcs::Cluster cluster(const std::string& leader1 = "w1", const std::string& replica1 = "w2",
                     const std::string& replica_state = "running") {
  dcs::RawNodes nodes{
      node("0/leader", "c1", 1),
      node("0/members/c1", member("c1", "primary"), 2),
      node("1/leader", leader1, 3),
      node("1/members/" + leader1, member(leader1, "primary"), 4),
      node("1/members/" + replica1, member(replica1, "replica", replica_state), 5),
  };
  return dcs::Cluster::from_citus_nodes(nodes, 0);
}

template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 500; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

struct Fixture {
  SystemClock clock;
  SimPgDistNode* sim;
  std::unique_ptr<CitusCoordinator> coordinator;
  Fixture() {
    auto s = std::make_unique<SimPgDistNode>();
    sim = s.get();
    sim->add_row(0, PgDistRow{1, {"c1", 5432}, "primary"});  // citus_set_coordinator_host at bootstrap
    coordinator = std::make_unique<CitusCoordinator>(std::move(s), clock);
  }
  std::string primary_of(int group, bool committed = true) {
    for (const auto& r : committed ? sim->committed_rows(group) : sim->visible_rows(group))
      if (r.role == "primary") return r.address.host;
    return "";
  }
  std::set<std::string> secondaries_of(int group) {
    std::set<std::string> out;
    for (const auto& r : sim->committed_rows(group))
      if (r.role != "primary") out.insert(r.address.host);
    return out;
  }
  bool idle() { return coordinator->queued_tasks() == 0; }
};

CitusEventMessage event(CitusEvent type, const std::string& leader, double timeout = 30) {
  CitusEventMessage m;
  m.type = type;
  m.group = 1;
  m.leader = leader;
  m.timeout = timeout;
  m.cooldown = 10;
  return m;
}

TEST(CitusCoordinator, NothingHappensBeforeTheFirstSync) {
  Fixture f;
  EXPECT_FALSE(f.coordinator->handle_event(cluster(), event(CitusEvent::after_promote, "w1"), 1s));
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(f.sim->log().empty());
}

TEST(CitusCoordinator, SyncRegistersEveryGroupsPrimaryAndSecondaries) {
  Fixture f;
  f.coordinator->sync(cluster(), "c1", "postgres://c1:5432/citus");
  ASSERT_TRUE(eventually([&] { return f.primary_of(1) == "w1" && f.idle(); }));
  EXPECT_EQ(f.secondaries_of(1), std::set<std::string>{"w2"});
  EXPECT_EQ(f.primary_of(0), "c1");
  // A second cycle with the same view changes nothing.
  const auto statements = f.sim->log().size();
  f.coordinator->sync(cluster(), "c1", "postgres://c1:5432/citus");
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(f.sim->log().size(), statements);
  // A replica that stops running is unregistered.
  f.coordinator->sync(cluster("w1", "w2", "stopped"), "c1", "postgres://c1:5432/citus");
  ASSERT_TRUE(eventually([&] { return f.secondaries_of(1).empty(); }));
}

TEST(CitusCoordinator, APlannedSwitchoverKeepsOneTransactionFromDemoteToPromote) {
  Fixture f;
  f.coordinator->sync(cluster(), "c1", "postgres://c1:5432/citus");
  ASSERT_TRUE(eventually([&] { return f.primary_of(1) == "w1" && f.idle(); }));
  // before_demote returns once the row is parked, with the transaction open.
  ASSERT_TRUE(f.coordinator->handle_event(cluster(), event(CitusEvent::before_demote, "w1"), 5s));
  EXPECT_TRUE(f.sim->in_transaction());
  EXPECT_EQ(f.primary_of(1, false), "w1-demoted");
  EXPECT_EQ(f.primary_of(1), "w1");  // others still see the committed row
  // The stale DCS view (w1 still leads) does not undo the pause.
  f.coordinator->sync(cluster(), "c1", "postgres://c1:5432/citus");
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(f.primary_of(1, false), "w1-demoted");
  // w2 wins the race and promotes; w1 is stopped.
  auto after = cluster("w2", "w1", "stopped");
  ASSERT_TRUE(f.coordinator->handle_event(after, event(CitusEvent::before_promote, "w2"), 5s));
  ASSERT_TRUE(eventually([&] { return f.primary_of(1, false) == "w2" && f.idle(); }));
  EXPECT_TRUE(f.sim->in_transaction());
  ASSERT_TRUE(f.coordinator->handle_event(after, event(CitusEvent::after_promote, "w2"), 5s));
  ASSERT_TRUE(eventually([&] { return !f.sim->in_transaction() && f.primary_of(1) == "w2"; }));
  EXPECT_FALSE(f.coordinator->open_transaction());
  // Once committed, the stopped w1 row goes; when w1 runs again it is registered again.
  f.coordinator->sync(after, "c1", "postgres://c1:5432/citus");
  ASSERT_TRUE(eventually([&] { return f.secondaries_of(1).empty(); }));
  f.coordinator->sync(cluster("w2", "w1"), "c1", "postgres://c1:5432/citus");
  ASSERT_TRUE(eventually([&] { return f.secondaries_of(1) == std::set<std::string>{"w1"}; }));
}

TEST(CitusCoordinator, AnEventFromAMemberThatIsNotTheGroupsLeaderIsDropped) {
  Fixture f;
  f.coordinator->sync(cluster(), "c1", "postgres://c1:5432/citus");
  ASSERT_TRUE(eventually([&] { return f.idle(); }));
  EXPECT_FALSE(f.coordinator->handle_event(cluster(), event(CitusEvent::before_demote, "w2"), 1s));
  auto wrong_group = event(CitusEvent::before_demote, "w1");
  wrong_group.group = 7;
  EXPECT_FALSE(f.coordinator->handle_event(cluster(), wrong_group, 1s));
  EXPECT_FALSE(f.sim->in_transaction());
}

TEST(CitusCoordinator, AStuckTransactionIsRolledBackAfterItsDeadlineWhenAnotherGroupWaits) {
  Fixture f;
  f.coordinator->sync(cluster(), "c1", "postgres://c1:5432/citus");
  ASSERT_TRUE(eventually([&] { return f.primary_of(1) == "w1" && f.idle(); }));
  ASSERT_TRUE(f.coordinator->handle_event(cluster(), event(CitusEvent::before_demote, "w1", 0.3), 5s));
  ASSERT_TRUE(f.sim->in_transaction());
  // Nothing else waits: the transaction stays open past its deadline.
  std::this_thread::sleep_for(400ms);
  EXPECT_TRUE(f.sim->in_transaction());
  // The coordinator's own group changes (its primary moved): the stuck transaction goes first.
  dcs::RawNodes nodes{node("0/leader", "c2", 1), node("0/members/c2", member("c2", "primary"), 2)};
  auto moved = dcs::Cluster::from_citus_nodes(nodes, 0);
  f.coordinator->sync(moved, "c2", "postgres://c2:5432/citus");
  ASSERT_TRUE(eventually([&] { return f.primary_of(0) == "c2"; }));
  EXPECT_FALSE(f.sim->in_transaction());
  EXPECT_EQ(f.primary_of(1), "w1");  // rolled back
  auto log = f.sim->log();
  EXPECT_NE(std::find(log.begin(), log.end(), "ROLLBACK"), log.end());
}

TEST(CitusCoordinator, AnSqlErrorDropsTheConnectionAndTheNextCycleRepairs) {
  Fixture f;
  f.sim->fail_next(1);  // the first read fails
  f.coordinator->sync(cluster(), "c1", "postgres://c1:5432/citus");
  ASSERT_TRUE(eventually([&] { return f.primary_of(1) == "w1" && f.idle(); }));
  // A statement fails inside a worker's transaction: it is gone (the server rolled it back).
  f.sim->fail_next(0);
  ASSERT_TRUE(f.coordinator->handle_event(cluster(), event(CitusEvent::before_demote, "w1"), 5s));
  ASSERT_TRUE(f.sim->in_transaction());
  f.sim->fail_next(1);
  auto after = cluster("w2", "w1", "stopped");
  f.coordinator->handle_event(after, event(CitusEvent::before_promote, "w2"), 5s);
  ASSERT_TRUE(eventually([&] { return !f.sim->in_transaction() && f.idle(); }));
  EXPECT_FALSE(f.coordinator->open_transaction());
  // Reconciliation from the DCS view puts w2 in place.
  f.coordinator->sync(after, "c1", "postgres://c1:5432/citus");
  ASSERT_TRUE(eventually([&] { return f.primary_of(1) == "w2"; }));
}

TEST(CitusCoordinator, OnDemoteForgetsEverythingAndRollsBack) {
  Fixture f;
  f.coordinator->sync(cluster(), "c1", "postgres://c1:5432/citus");
  ASSERT_TRUE(eventually([&] { return f.primary_of(1) == "w1" && f.idle(); }));
  ASSERT_TRUE(f.coordinator->handle_event(cluster(), event(CitusEvent::before_demote, "w1"), 5s));
  f.coordinator->on_demote();
  ASSERT_TRUE(eventually([&] { return !f.sim->in_transaction(); }));
  EXPECT_FALSE(f.coordinator->handle_event(cluster(), event(CitusEvent::after_promote, "w1"), 1s));
}

}  // namespace
}  // namespace custos::mpp
