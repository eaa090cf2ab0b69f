// Safety properties over an exhaustive grid of situations: never promote without the lock, no
// automatic promotion/demotion in pause, nothing but offline demotion when the DCS is down,
// standby clusters never promote.
#include <functional>

#include "builders.h"

namespace custos::ha::test {
namespace {

std::vector<DecisionInput> grid() {
  std::vector<DecisionInput> out;
  const std::vector<std::optional<std::string>> leaders = {std::nullopt, "node1", "node2", "node3"};
  const std::vector<std::string> failovers = {"", R"({"member":"node2"})", R"({"leader":"node1","member":"node2"})",
                                              R"({"leader":"node1"})"};
  for (const auto& leader : leaders)
    for (const auto& fo : failovers)
      for (int pg = 0; pg < 4; ++pg)  // replica, primary, stopped, starting
        for (int flags = 0; flags < 32; ++flags) {
          ClusterBuilder b = leaderless_cluster();
          if (leader) b.leader(*leader);
          if (!fo.empty()) b.failover(fo);
          if (flags & 4) b.sync("node1", "node2");
          LocalState me = pg == 1 ? primary_state("node2") : replica_state("node2");
          if (pg == 2) me.process = PgProcess::stopped;
          if (pg == 3) me.process = PgProcess::starting;
          me.control_state = ControlState::in_production;
          DecisionInput in = input(b.build(), me);
          in.settings.pause = flags & 1;
          in.settings.standby_cluster.active = flags & 2;
          in.settings.standby_cluster.host = "remote";
          in.settings.synchronous_mode = flags & 4;
          in.settings.watchdog_enabled = flags & 8;
          if (flags & 16) in.local.tags.nofailover = true;
          in.members = {replica_status("node1", 900), replica_status("node3", 900)};
          out.push_back(in);
          DecisionInput down = in;
          down.old_cluster = down.cluster;
          down.cluster = std::nullopt;
          out.push_back(down);
        }
  return out;
}

bool lock_confirmed(const std::vector<Step>& steps, const std::vector<bool>& outcomes, std::size_t upto) {
  std::size_t cond = 0;
  for (std::size_t i = 0; i < upto; ++i) {
    if (!is_conditional(steps[i].action())) continue;
    const bool ok = outcomes[cond++];
    const Action a = steps[i].action();
    if ((a == Action::acquire_lock || a == Action::update_lock || a == Action::take_leader) && ok) return true;
  }
  return false;
}

TEST(Safety, NeverPromoteWithoutHoldingTheLock) {
  int promotes = 0;
  for (const DecisionInput& in : grid()) {
    for (const Path& p : all_paths(decide(in))) {
      for (std::size_t i = 0; i < p.steps.size(); ++i) {
        if (p.steps[i].action() != Action::promote) continue;
        ++promotes;
        EXPECT_TRUE(lock_confirmed(p.steps, p.outcomes, i)) << decide(in).describe();
        EXPECT_TRUE(in.cluster.has_value());
        EXPECT_FALSE(in.settings.standby_cluster.active);
      }
    }
  }
  EXPECT_GT(promotes, 0);
}

TEST(Safety, PauseMeansNoAutomaticPromotionOrDemotion) {
  for (const DecisionInput& in : grid()) {
    if (!in.settings.pause) continue;
    const bool candidate_self = in.cluster && in.cluster->failover() &&
                                in.cluster->failover()->candidate == std::optional<std::string>("node2");
    for (const Path& p : all_paths(decide(in))) {
      EXPECT_EQ(step_index(p.steps, Action::demote), -1) << decide(in).describe();
      if (!candidate_self) {
        EXPECT_EQ(step_index(p.steps, Action::promote), -1) << decide(in).describe();
      }
      EXPECT_EQ(step_index(p.steps, Action::start_primary), -1);
      EXPECT_EQ(step_index(p.steps, Action::crash_recovery), -1);
      EXPECT_EQ(p.leaf.message.rfind("PAUSE: ", 0), 0u) << p.leaf.message;
    }
  }
}

TEST(Safety, DcsDownOnlyOfflineDemotionAndNoWrites) {
  for (const DecisionInput& in : grid()) {
    if (in.cluster) continue;
    for (const Path& p : all_paths(decide(in))) {
      for (const Step& s : p.steps) {
        EXPECT_NE(s.action(), Action::promote);
        EXPECT_NE(s.action(), Action::touch_member);
        EXPECT_NE(s.action(), Action::acquire_lock);
        if (s.action() == Action::demote) {
          EXPECT_EQ(s.get<step::Demote>()->mode, DemoteMode::offline);
        }
      }
    }
  }
}

TEST(Safety, NofailoverNeverAcquiresTheLockAsReplica) {
  for (const DecisionInput& in : grid()) {
    if (!in.local.tags.is_nofailover() || in.local.is_primary() || !in.cluster) continue;
    for (const Path& p : all_paths(decide(in))) EXPECT_EQ(step_index(p.steps, Action::acquire_lock), -1);
  }
}

TEST(Safety, ConditionalStepIsAlwaysLast) {
  std::function<void(const Decision&)> check = [&](const Decision& d) {
    for (std::size_t i = 0; i < d.steps.size(); ++i)
      if (is_conditional(d.steps[i].action())) {
        EXPECT_EQ(i + 1, d.steps.size());
        EXPECT_TRUE(d.is_conditional());
      }
    if (d.is_conditional()) {
      check(d.on_success());
      check(d.on_failure());
    } else {
      EXPECT_FALSE(d.message.empty());
    }
  };
  for (const DecisionInput& in : grid()) check(decide(in));
}

}  // namespace
}  // namespace custos::ha::test
