// The pg_dist_node planner (src/mpp/pg_dist_node.h): every plan is run against a simulated
// pg_dist_node that refuses what Citus refuses (tests/support/sim_pg_dist_node.h).
#include "mpp/pg_dist_node.h"

#include <gtest/gtest.h>

#include <random>

#include "sim_pg_dist_node.h"

namespace custos::mpp {
namespace {

using testing::SimPgDistNode;

NodeAddress A(const std::string& host, int port = 5432) { return NodeAddress{host, port}; }

GroupTopology topo(const std::string& primary, std::set<std::string> secondaries = {}, bool paused = false) {
  GroupTopology t;
  t.primary = A(primary);
  t.paused = paused;
  for (const auto& s : secondaries) t.secondaries.insert(A(s));
  return t;
}

// Runs the plan on the simulated rows (group 1); fails the test when Citus would refuse a
// statement. `primary_changed_before`: the open transaction already changed the primary row.
std::vector<PgDistRow> run_plan(std::vector<PgDistRow> rows, const GroupPlan& plan, bool primary_changed_before,
                                bool in_transaction) {
  std::vector<SimPgDistNode::Row> sim;
  int64_t next = 1;
  for (auto& r : rows) {
    sim.push_back({1, r});
    next = std::max(next, r.nodeid + 1);
  }
  const auto primary_before = std::find_if(rows.begin(), rows.end(), [](auto& r) { return r.role == "primary"; });
  bool frozen = primary_changed_before;
  for (const auto& op : plan.ops) {
    auto r = SimPgDistNode::apply(sim, op, 1, frozen, next);
    EXPECT_TRUE(r.ok()) << op.describe() << ": " << (r ? "" : r.error());
    if (!r) break;
    const bool primary_update = op.kind == PgDistOp::Kind::update && primary_before != rows.end() &&
                                op.nodeid == primary_before->nodeid;
    if (primary_update && (in_transaction || plan.ops.size() > 1)) frozen = true;
  }
  std::vector<PgDistRow> out;
  for (auto& r : sim) out.push_back(r.row);
  return out;
}

std::optional<PgDistRow> primary_of(const std::vector<PgDistRow>& rows) {
  for (auto& r : rows)
    if (r.role == "primary") return r;
  return std::nullopt;
}

std::set<NodeAddress> secondaries_of(const std::vector<PgDistRow>& rows) {
  std::set<NodeAddress> out;
  for (auto& r : rows)
    if (r.role != "primary") out.insert(r.address);
  return out;
}

TEST(PgDistNodePlan, AnEmptyGroupGetsItsPrimaryAndSecondariesAdded) {
  auto plan = plan_group_change({}, topo("w1", {"w2", "w3"}), false);
  auto rows = run_plan({}, plan, false, false);
  ASSERT_EQ(plan.ops.size(), 3u);
  EXPECT_EQ(plan.ops[0], (PgDistOp{PgDistOp::Kind::add, 0, A("w1"), "primary"}));
  EXPECT_EQ(primary_of(rows)->address, A("w1"));
  EXPECT_EQ(secondaries_of(rows), (std::set<NodeAddress>{A("w2"), A("w3")}));
}

TEST(PgDistNodePlan, NothingToDoWhenTheRowsMatch) {
  std::vector<PgDistRow> rows{{1, A("w1"), "primary"}, {2, A("w2"), "secondary"}};
  EXPECT_TRUE(plan_group_change(rows, topo("w1", {"w2"}), false).ops.empty());
}

TEST(PgDistNodePlan, APausedTargetOfAnEmptyGroupDoesNothing) {
  EXPECT_TRUE(plan_group_change({}, topo("w1", {}, true), false).ops.empty());
}

TEST(PgDistNodePlan, APlannedSwitchoverParksThePrimaryThenSwapsTheRows) {
  // before_demote: the primary row gets "<host>-demoted" (writes wait).
  std::vector<PgDistRow> rows{{1, A("w1"), "primary"}, {2, A("w2"), "secondary"}};
  auto pause = plan_group_change(rows, topo("w1", {"w2"}, true), false);
  ASSERT_EQ(pause.ops, (std::vector<PgDistOp>{{PgDistOp::Kind::update, 1, A("w1-demoted"), ""}}));
  EXPECT_TRUE(pause.primary_changes);
  rows = run_plan(rows, pause, false, true);
  // before_promote: w2 leads, w1 stopped (not running, no longer a secondary).
  auto promote = plan_group_change(rows, topo("w2"), true);
  EXPECT_EQ(promote.ops, (std::vector<PgDistOp>{{PgDistOp::Kind::update, 2, A("w1"), ""},
                                                 {PgDistOp::Kind::update, 1, A("w2"), ""}}));
  rows = run_plan(rows, promote, true, true);
  EXPECT_EQ(primary_of(rows)->nodeid, 1);  // the primary row keeps its id
  EXPECT_EQ(primary_of(rows)->address, A("w2"));
  // after the commit, w1 follows w2 and runs again: nothing to do; while it is down it goes.
  EXPECT_TRUE(plan_group_change(rows, topo("w2", {"w1"}), false).ops.empty());
  auto cleanup = plan_group_change(rows, topo("w2"), false);
  EXPECT_EQ(cleanup.ops, (std::vector<PgDistOp>{{PgDistOp::Kind::remove, 0, A("w1"), ""}}));
}

TEST(PgDistNodePlan, AFailoverSwapsThroughTheDemotedName) {
  std::vector<PgDistRow> rows{{1, A("w1"), "primary"}, {2, A("w2"), "secondary"}};
  auto plan = plan_group_change(rows, topo("w2", {"w1"}), false);
  EXPECT_EQ(plan.ops, (std::vector<PgDistOp>{{PgDistOp::Kind::update, 1, A("w1-demoted"), ""},
                                              {PgDistOp::Kind::update, 2, A("w1"), ""},
                                              {PgDistOp::Kind::update, 1, A("w2"), ""}}));
  rows = run_plan(rows, plan, false, false);
  EXPECT_EQ(primary_of(rows)->address, A("w2"));
  EXPECT_EQ(secondaries_of(rows), std::set<NodeAddress>{A("w1")});
}

TEST(PgDistNodePlan, ANewPrimaryNeverRegisteredTakesThePrimaryRowAndSecondariesWaitForTheCommit) {
  std::vector<PgDistRow> rows{{1, A("w1"), "primary"}};
  auto plan = plan_group_change(rows, topo("w3", {"w4"}), false);
  EXPECT_EQ(plan.ops, (std::vector<PgDistOp>{{PgDistOp::Kind::update, 1, A("w3"), ""}}));
  EXPECT_TRUE(plan.deferred);
  rows = run_plan(rows, plan, false, false);
  auto next = plan_group_change(rows, topo("w3", {"w4"}), false);
  EXPECT_EQ(next.ops, (std::vector<PgDistOp>{{PgDistOp::Kind::add, 0, A("w4"), "secondary"}}));
}

TEST(PgDistNodePlan, AGoneSecondaryRowIsReusedForANewOne) {
  std::vector<PgDistRow> rows{{1, A("w1"), "primary"}, {2, A("w2"), "secondary"}};
  auto plan = plan_group_change(rows, topo("w1", {"w5"}), false);
  EXPECT_EQ(plan.ops, (std::vector<PgDistOp>{{PgDistOp::Kind::update, 2, A("w5"), ""}}));
}

TEST(PgDistNodePlan, PortsAreDistinguished) {
  std::vector<PgDistRow> rows{{1, A("h", 5432), "primary"}, {2, A("h", 5433), "secondary"}};
  auto plan = plan_group_change(rows, GroupTopology{A("h", 5433), false, {A("h", 5432)}}, false);
  rows = run_plan(rows, plan, false, false);
  EXPECT_EQ(primary_of(rows)->address, A("h", 5433));
  EXPECT_EQ(secondaries_of(rows), std::set<NodeAddress>{A("h", 5432)});
}

// Every valid starting point and target over a few hosts: the plan never breaks Citus's rules,
// always puts the target's primary on the primary row (keeping its nodeid), and reaches the
// whole target unless it said some secondaries wait; a second plan then finishes it.
TEST(PgDistNodePlan, RandomTopologiesAlwaysConverge) {
  std::mt19937 rng(20261205);
  const std::vector<std::string> hosts{"a", "b", "c", "d", "e"};
  for (int round = 0; round < 5000; ++round) {
    std::vector<std::string> shuffled = hosts;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    std::vector<PgDistRow> rows;
    const int n_rows = static_cast<int>(rng() % 4);
    const bool paused_now = rng() % 4 == 0;
    for (int i = 0; i < n_rows; ++i) {
      NodeAddress a = A(shuffled[i]);
      if (i == 0 && paused_now) a.host += kDemotedSuffix;
      rows.push_back(PgDistRow{10 + i, a, i == 0 ? "primary" : "secondary"});
    }
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    GroupTopology target;
    target.primary = A(shuffled[0]);
    target.paused = rng() % 3 == 0;
    for (int i = 1; i < static_cast<int>(rng() % 4) + 1; ++i) target.secondaries.insert(A(shuffled[i]));
    const bool in_txn = rng() % 2 == 0;
    // A transaction that changed this group's primary row leaves one behind.
    const bool changed_before = in_txn && !rows.empty() && rng() % 2 == 0;
    SCOPED_TRACE("round " + std::to_string(round));

    auto plan = plan_group_change(rows, target, changed_before);
    auto after = run_plan(rows, plan, changed_before, in_txn);
    if (::testing::Test::HasFailure()) return;
    if (rows.empty() && target.paused) continue;
    auto primary = primary_of(after);
    ASSERT_TRUE(primary);
    EXPECT_EQ(primary->address, target.primary_row_address());
    if (!rows.empty()) {
      EXPECT_EQ(primary->nodeid, 10);
    }
    std::set<NodeAddress> wanted = target.secondaries;
    wanted.erase(target.primary);
    if (!plan.deferred) {
      EXPECT_EQ(secondaries_of(after), wanted);
    }
    // After the commit, a plan of the same target finishes the secondaries.
    auto second = plan_group_change(after, target, false);
    auto final_rows = run_plan(after, second, false, false);
    EXPECT_EQ(secondaries_of(final_rows), wanted);
    EXPECT_EQ(primary_of(final_rows)->address, target.primary_row_address());
    if (::testing::Test::HasFailure()) return;
  }
}

}  // namespace
}  // namespace custos::mpp
