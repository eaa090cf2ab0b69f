// The quorum commit state machine (ha/quorum_state.h), checked exhaustively on four standbys:
//   - the rule itself, against brute force: a state passes exactly when every group that can
//     acknowledge a commit meets every group that can win a leader race;
//   - every plan from every safe state to every goal: each write keeps the rule and keeps the
//     commits acknowledged before it findable, sides alternate, and a few HA cycles (standbys
//     catching up in between) reach the optimal state;
//   - named scenarios: a standby joins, one dies, synchronous_node_count up and down, failover.
#include "ha/quorum_state.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace custos::ha {
namespace {

const std::vector<std::string> kNodes = {"a", "b", "c", "d"};

NameSet set_of(unsigned mask) {
  NameSet out;
  for (std::size_t i = 0; i < kNodes.size(); ++i)
    if (mask & (1u << i)) out.insert(kNodes[i]);
  return out;
}

std::string show(const QuorumState& s) {
  auto names = [](const NameSet& n) {
    std::string o;
    for (const auto& x : n) o += x;
    return o.empty() ? std::string("-") : o;
  };
  return "{leader " + s.leader + " quorum " + std::to_string(s.quorum) + " of " + names(s.voters) + ", ANY " +
         std::to_string(s.numsync) + " of " + names(s.sync) + "}";
}

// All subsets of `set` with exactly k members.
void for_each_subset(const NameSet& set, int k, const std::function<void(const NameSet&)>& fn) {
  std::vector<std::string> v(set.begin(), set.end());
  const unsigned n = static_cast<unsigned>(v.size());
  for (unsigned m = 0; m < (1u << n); ++m) {
    if (__builtin_popcount(m) != k) continue;
    NameSet s;
    for (unsigned i = 0; i < n; ++i)
      if (m & (1u << i)) s.insert(v[i]);
    fn(s);
  }
}

bool meet(const NameSet& a, const NameSet& b) {
  for (const auto& x : a)
    if (b.count(x)) return true;
  return false;
}

// Brute force: every ack group (numsync of sync; the leader's own WAL does not count, it is the
// node that died) meets every race group (quorum + 1 voters).
bool groups_overlap(const QuorumState& s) {
  if (s.voters.empty()) return true;
  bool ok = true;
  for_each_subset(s.voters, s.quorum + 1, [&](const NameSet& race) {
    if (s.numsync == 0) {
      ok = false;  // a commit acknowledged by nobody but the leader: any race group misses it
      return;
    }
    for_each_subset(s.sync, s.numsync, [&](const NameSet& ack) {
      if (!meet(race, ack)) ok = false;
    });
  });
  return ok;
}

// Every state over the four standbys with leader "l" that passes the rule.
std::vector<QuorumState> all_safe_states() {
  std::vector<QuorumState> out;
  for (unsigned v = 0; v < 16; ++v)
    for (unsigned sy = 0; sy < 16; ++sy)
      for (int q = 0; q <= static_cast<int>(set_of(v).size()); ++q)
        for (int n = 0; n <= static_cast<int>(set_of(sy).size()); ++n) {
          QuorumState s{"l", q, set_of(v), n, set_of(sy)};
          if (!quorum_violation(s)) out.push_back(s);
        }
  return out;
}

TEST(QuorumState, TheRuleIsExactlyTheOverlapOfAcknowledgingAndWinningGroups) {
  int safe = 0;
  for (unsigned v = 0; v < 16; ++v)
    for (unsigned sy = 0; sy < 16; ++sy)
      for (int q = 0; q <= static_cast<int>(set_of(v).size()); ++q)
        for (int n = 0; n <= static_cast<int>(set_of(sy).size()); ++n) {
          const QuorumState s{"l", q, set_of(v), n, set_of(sy)};
          const bool nested = std::includes(s.voters.begin(), s.voters.end(), s.sync.begin(), s.sync.end(),
                                            NoCaseLess()) ||
                              std::includes(s.sync.begin(), s.sync.end(), s.voters.begin(), s.voters.end(),
                                            NoCaseLess());
          const bool well_formed = nested && !(n == 0 && !s.sync.empty());
          const bool passes = !quorum_violation(s).has_value();
          if (!well_formed) {
            EXPECT_FALSE(passes) << show(s);
            continue;
          }
          EXPECT_EQ(passes, groups_overlap(s)) << show(s);
          safe += passes ? 1 : 0;
        }
  EXPECT_GT(safe, 100);
  // The leader is never its own standby; names compare without case.
  EXPECT_TRUE(quorum_violation(QuorumState{"a", 0, {"A"}, 1, {"a"}}).has_value());
  EXPECT_FALSE(quorum_violation(QuorumState{"l", 0, {"A"}, 1, {"a"}}).has_value());
}

// A /sync write from `from` to `to` keeps the commits acknowledged under `from` findable when
// every new race group holds an old one, or a node that has them all (`confirmed`).
bool keeps_old_commits(const QuorumState& from, const QuorumState& to, const NameSet& confirmed) {
  if (to.voters.empty()) return true;
  bool ok = true;
  for_each_subset(to.voters, to.quorum + 1, [&](const NameSet& race) {
    if (meet(race, confirmed)) return;
    // Without a confirmed node the group must hold a whole old race group.
    bool holds_old = false;
    if (!from.voters.empty())
      for_each_subset(from.voters, from.quorum + 1, [&](const NameSet& old) {
        if (std::includes(race.begin(), race.end(), old.begin(), old.end(), NoCaseLess())) holds_old = true;
      });
    if (!holds_old) ok = false;
  });
  return ok;
}

// Runs the plans of up to `cycles` HA cycles: after each cycle every active standby has caught up
// (confirmed). Checks each write; returns the state reached.
QuorumState run_cycles(QuorumState s, QuorumGoal goal, int cycles, const std::string& context) {
  for (int c = 0; c < cycles; ++c) {
    const auto plan = plan_quorum_transitions(s, goal);
    NameSet confirmed = goal.confirmed;
    for (std::size_t i = 0; i < plan.size(); ++i) {
      const QuorumTransition& t = plan[i];
      EXPECT_FALSE(quorum_violation(t.state)) << context << " step " << i << " " << show(t.state);
      if (i > 0) {
        EXPECT_NE(t.side, plan[i - 1].side) << context;
      }
      if (t.side == QuorumSide::quorum) {
        EXPECT_TRUE(keeps_old_commits(s, t.state, confirmed))
            << context << " cycle " << c << " step " << i << ": " << show(s) << " -> " << show(t.state);
        EXPECT_TRUE(t.state.sync == s.sync && t.state.numsync == s.numsync) << context;
      } else {
        EXPECT_TRUE(t.state.voters == s.voters && t.state.quorum == s.quorum) << context;
        confirmed.clear();  // a new synchronous_standby_names: nobody has caught up with it yet
      }
      s = t.state;
    }
    goal.confirmed = goal.active;  // by the next cycle every active standby has caught up
  }
  return s;
}

TEST(QuorumState, EveryPlanFromEverySafeStateKeepsTheRuleAndConverges) {
  const auto states = all_safe_states();
  int plans = 0;
  for (const QuorumState& start : states)
    for (unsigned active = 0; active < 16; ++active)
      for (int wanted = 1; wanted <= 3; ++wanted)
        for (int confirmed_kind = 0; confirmed_kind < 2; ++confirmed_kind) {
          QuorumGoal goal;
          goal.leader = "l";
          goal.active = set_of(active);
          goal.sync_wanted = wanted;
          if (confirmed_kind == 1) goal.confirmed = goal.active;
          const std::string context = show(start) + " active " + std::to_string(active) + " wanted " +
                                      std::to_string(wanted) + " confirmed " + std::to_string(confirmed_kind);
          const QuorumState end = run_cycles(start, goal, 4, context);
          EXPECT_EQ(end, optimal_quorum_state(goal)) << context << " ended at " << show(end);
          if (HasFailure()) return;
          ++plans;
        }
  EXPECT_GT(plans, 1000);
}

// After every possible failover (old leader x, the winner a voter of its /sync), the new
// leader's plans keep the rule and the acknowledged commits, and converge.
TEST(QuorumState, EveryFailoverHandOverKeepsTheRuleAndConverges) {
  int plans = 0;
  for (QuorumState start : all_safe_states()) {
    if (!start.voters.count("a")) continue;
    start.leader = "x";
    // The new leader's own synchronous_standby_names: what it had as a standby (here: the old
    // leader's minus itself, or nothing).
    // own 2: what the promotion sets (prepromote_quorum_standby_names: the old leader and the
    // other voters).
    for (int own = 0; own < 3; ++own) {
      QuorumState found = start;
      found.sync.erase("a");
      found.numsync = std::min(found.numsync, static_cast<int>(found.sync.size()));
      if (own == 1 || (found.numsync == 0 && !found.sync.empty())) {
        found.sync.clear();
        found.numsync = 0;
      }
      if (own == 2) {
        const std::vector<std::string> voters(start.voters.begin(), start.voters.end());
        const QuorumState set = read_quorum_state(
            "x", start.quorum, voters, prepromote_quorum_standby_names("x", start.quorum, voters, "a", 0));
        found.sync = set.sync;
        found.numsync = set.numsync;
        // Commits the new leader acknowledges under these names meet every race group of the
        // voters it leaves behind (before its own /sync is written).
        QuorumState as_written = start;
        as_written.leader = "a";
        as_written.voters.erase("a");
        as_written.sync = found.sync;
        as_written.numsync = found.numsync;
        if (!found.sync.empty()) {
          EXPECT_FALSE(quorum_violation(as_written)) << show(start) << " promoted with " << show(found);
        }
      }
      for (unsigned active = 0; active < 16; ++active) {
        if (active & 1u) continue;  // a is the leader now
        for (int wanted = 1; wanted <= 2; ++wanted) {
          QuorumGoal goal{"a", set_of(active), {}, wanted};
          const std::string context = "failover from " + show(found) + " active " + std::to_string(active);
          const auto first = plan_quorum_transitions(found, goal);
          ASSERT_FALSE(first.empty()) << context;
          EXPECT_EQ(first[0].state.leader, "a") << context;
          const QuorumState end = run_cycles(found, goal, 4, context);
          EXPECT_EQ(end, optimal_quorum_state(goal)) << context << " ended at " << show(end);
          if (HasFailure()) return;
          ++plans;
        }
      }
    }
  }
  EXPECT_GT(plans, 100);
}

TEST(QuorumState, ReadingAndPromotionNames) {
  const QuorumState r = read_quorum_state("l", 1, {"a", "B"}, "ANY 1 (a, \"b\")");
  EXPECT_EQ(r.numsync, 1);
  EXPECT_EQ(r.sync, (NameSet{"a", "b"}));
  EXPECT_EQ(r.quorum, 1);
  // FIRST and plain lists read as ANY; `*` and garbage as nothing synchronous.
  EXPECT_EQ(read_quorum_state("l", 0, {}, "FIRST 2 (a,b,c)").numsync, 2);
  EXPECT_EQ(read_quorum_state("l", 0, {}, "a, b").numsync, 1);
  EXPECT_TRUE(read_quorum_state("l", 0, {}, "ANY 1 (*)").sync.empty());
  EXPECT_TRUE(read_quorum_state("l", 0, {}, "ANY 1 (").sync.empty());
  // Out-of-range quorum written by others is clamped.
  EXPECT_EQ(read_quorum_state("l", 7, {"a"}, "").quorum, 1);
  // x led with a, b, c voting at quorum 1; a promotes: ANY 2 of b, c and x.
  EXPECT_EQ(prepromote_quorum_standby_names("x", 1, {"a", "b", "c"}, "a", 0), "ANY 2 (b,c,x)");
  // A node outside the voters that reached the quorum: one more.
  EXPECT_EQ(prepromote_quorum_standby_names("x", 1, {"b", "c"}, "a", 0), "ANY 2 (b,c,x)");
  EXPECT_EQ(prepromote_quorum_standby_names("x", 1, {"a", "b"}, "a", 0), "ANY 1 (b,x)");
  EXPECT_EQ(prepromote_quorum_standby_names("x", 0, {"a"}, "a", 0), "ANY 1 (x)");
  // Nothing left to wait for; strict mode still waits for one.
  EXPECT_EQ(prepromote_quorum_standby_names("x", 1, {"a"}, "a", 0), "");
  EXPECT_EQ(prepromote_quorum_standby_names("x", 1, {"a"}, "a", 1), "ANY 1 (x)");
  EXPECT_EQ(render_quorum_standby_names(0, {}, 1), "ANY 1 (*)");
  EXPECT_EQ(render_quorum_standby_names(0, {}, 0), "");
}

TEST(QuorumState, OptimalStateAndRendering) {
  QuorumGoal g;
  g.leader = "l";
  g.active = {"a", "b", "c"};
  g.sync_wanted = 2;
  const QuorumState t = optimal_quorum_state(g);
  EXPECT_EQ(t.numsync, 2);
  EXPECT_EQ(t.quorum, 1);
  EXPECT_EQ(t.voters, (NameSet{"a", "b", "c"}));
  EXPECT_EQ(render_quorum_standby_names(t.numsync, t.sync), "ANY 2 (a,b,c)");
  EXPECT_EQ(render_quorum_standby_names(1, {"node-1", "B"}), "ANY 1 (B,\"node-1\")");
  EXPECT_EQ(render_quorum_standby_names(0, {"a"}), "");
  g.sync_wanted = 5;  // more than there are: all of them
  EXPECT_EQ(optimal_quorum_state(g).numsync, 3);
  EXPECT_EQ(optimal_quorum_state(g).quorum, 0);
}

TEST(QuorumState, AStandbyJoinsWithoutEverLosingTheTakeover) {
  const QuorumState start{"l", 0, {"a"}, 1, {"a"}};
  QuorumGoal g{"l", {"a", "b"}, {}, 1};
  const auto plan = plan_quorum_transitions(start, g);
  ASSERT_EQ(plan.size(), 2u) << (plan.empty() ? "" : show(plan.back().state));
  // /sync first (quorum 1 of a,b: every group of two holds a), then the standby names.
  EXPECT_EQ(plan[0].side, QuorumSide::quorum);
  EXPECT_EQ(plan[0].state.quorum, 1);
  EXPECT_EQ(plan[1].side, QuorumSide::sync);
  EXPECT_EQ(render_quorum_standby_names(plan[1].state.numsync, plan[1].state.sync), "ANY 1 (a,b)");
  for (const auto& t : plan) EXPECT_LT(t.state.quorum, static_cast<int>(t.state.voters.size())) << show(t.state);
}

TEST(QuorumState, ADeadStandbyLeavesTheVotersOnlyOnceTheOthersCaughtUp) {
  const QuorumState start{"l", 1, {"a", "b"}, 1, {"a", "b"}};
  QuorumGoal g{"l", {"a"}, {}, 1};
  // b died: a may lack commits that only b acknowledged, so the quorum stays until a caught up
  // with the new synchronous_standby_names.
  auto plan = plan_quorum_transitions(start, g);
  ASSERT_FALSE(plan.empty());
  const QuorumState after = plan.back().state;
  EXPECT_EQ(render_quorum_standby_names(after.numsync, after.sync), "ANY 1 (a)");
  EXPECT_TRUE(after.voters.count("b") || after.quorum >= static_cast<int>(after.voters.size())) << show(after);
  EXPECT_NE(after, optimal_quorum_state(g));
  g.confirmed = {"a"};  // next cycle: a has caught up
  plan = plan_quorum_transitions(after, g);
  ASSERT_FALSE(plan.empty());
  EXPECT_EQ(plan.back().state, optimal_quorum_state(g)) << show(plan.back().state);
}

TEST(QuorumState, SynchronousNodeCountUpAndDownOrderTheWrites) {
  // Up: more acknowledgements first, then a smaller quorum.
  const QuorumState two_of_three{"l", 1, {"a", "b", "c"}, 2, {"a", "b", "c"}};
  QuorumGoal up{"l", {"a", "b", "c"}, {"a", "b", "c"}, 3};
  auto plan = plan_quorum_transitions(two_of_three, up);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].side, QuorumSide::sync);
  EXPECT_EQ(plan[0].state.numsync, 3);
  EXPECT_EQ(plan[0].state.quorum, 1);
  // The quorum drops only once the standbys caught up with the new names: the next cycle.
  plan = plan_quorum_transitions(plan[0].state, up);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].side, QuorumSide::quorum);
  EXPECT_EQ(plan[0].state.quorum, 0);
  // Down: a larger quorum first, then fewer acknowledgements.
  QuorumGoal down{"l", {"a", "b", "c"}, {"a", "b", "c"}, 1};
  plan = plan_quorum_transitions(two_of_three, down);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].side, QuorumSide::quorum);
  EXPECT_EQ(plan[0].state.quorum, 2);
  EXPECT_EQ(plan[1].side, QuorumSide::sync);
  EXPECT_EQ(plan[1].state.numsync, 1);
}

TEST(QuorumState, AfterAFailoverTheNewLeaderTakesOverSync) {
  // x led with a, b, c voting (quorum 1, ANY 2); a won the race. Its own names list b and c.
  const QuorumState found{"x", 1, {"a", "b", "c"}, 2, {"b", "c"}};
  QuorumGoal g{"a", {"b", "c"}, {}, 2};
  auto plan = plan_quorum_transitions(found, g);
  ASSERT_FALSE(plan.empty());
  EXPECT_EQ(plan[0].side, QuorumSide::quorum);
  EXPECT_EQ(plan[0].state.leader, "a");
  EXPECT_FALSE(plan[0].state.voters.count("a"));
  EXPECT_FALSE(plan[0].state.voters.count("x"));
  for (const auto& t : plan) EXPECT_FALSE(quorum_violation(t.state)) << show(t.state);
  // /sync written by others that does not fit (garbage): made safe first, by emptying the voters.
  const QuorumState broken{"a", 0, {"b", "c", "d"}, 1, {"b"}};
  plan = plan_quorum_transitions(broken, QuorumGoal{"a", {"b"}, {}, 1});
  ASSERT_FALSE(plan.empty());
  EXPECT_EQ(plan[0].side, QuorumSide::quorum);
  EXPECT_TRUE(plan[0].state.voters.empty());
}

}  // namespace
}  // namespace custos::ha
