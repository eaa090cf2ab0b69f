#include "ha/quorum_state.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <map>

#include "ha/sync_selection.h"

namespace custos::ha {

namespace {

int size_of(const NameSet& s) { return static_cast<int>(s.size()); }

NameSet set_union(const NameSet& a, const NameSet& b) {
  NameSet out = a;
  out.insert(b.begin(), b.end());
  return out;
}

NameSet set_intersection(const NameSet& a, const NameSet& b) {
  NameSet out;
  for (const auto& n : a)
    if (b.count(n)) out.insert(n);
  return out;
}

NameSet set_minus(const NameSet& a, const NameSet& b) {
  NameSet out;
  for (const auto& n : a)
    if (!b.count(n)) out.insert(n);
  return out;
}

bool subset(const NameSet& a, const NameSet& b) {
  return std::all_of(a.begin(), a.end(), [&](const std::string& n) { return b.count(n) > 0; });
}

bool same_name(const std::string& a, const std::string& b) { return !NoCaseLess()(a, b) && !NoCaseLess()(b, a); }

int symmetric_difference(const NameSet& a, const NameSet& b) {
  return size_of(set_minus(a, b)) + size_of(set_minus(b, a));
}

// How far `s` is from `target` (0: there).
int distance(const QuorumState& s, const QuorumState& target) {
  return symmetric_difference(s.voters, target.voters) + symmetric_difference(s.sync, target.sync) +
         std::abs(s.quorum - target.quorum) + std::abs(s.numsync - target.numsync) +
         (same_name(s.leader, target.leader) ? 0 : 1);
}

// The smallest quorum that keeps the rule for these sets and numsync (may equal |voters|: safe,
// no takeover possible); nullopt when even |voters| does not.
std::optional<int> smallest_quorum(const NameSet& voters, const NameSet& sync, int numsync) {
  if (voters.empty()) return 0;
  return std::min(std::max(0, size_of(set_union(voters, sync)) - numsync), size_of(voters));
}

// Candidate values for one set: the target, the current one, and the steps between them.
std::vector<NameSet> set_options(const NameSet& current, const NameSet& target, const NameSet& other) {
  std::vector<NameSet> out = {target,
                              current,
                              set_intersection(current, target),
                              set_union(current, target),
                              other,
                              set_intersection(other, target),
                              set_union(set_intersection(current, target), set_intersection(other, target))};
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Whether a /sync write from `from` to `to` keeps every commit acknowledged so far findable.
// Either the new race groups are at least as strict (each one of quorum'+1 voters holds a whole
// old group of quorum+1: quorum' >= quorum + the voters added), or each new group holds a node
// known to have every acknowledged commit (quorum' >= the voters not confirmed). No voters: no
// takeover at all, always safe.
bool quorum_write_keeps_commits(const QuorumState& from, const QuorumState& to, const NameSet& confirmed) {
  if (to.voters.empty()) return true;
  if (to.quorum >= from.quorum + size_of(set_minus(to.voters, from.voters)) && !from.voters.empty()) return true;
  return to.quorum >= size_of(set_minus(to.voters, confirmed));
}

// Every state reachable by writing one side (the other unchanged) that keeps the rule.
// `confirmed`: the nodes known to hold every acknowledged commit (none once this plan has
// rewritten synchronous_standby_names: they must catch up with the new change first).
std::vector<QuorumState> one_side_writes(const QuorumState& s, const QuorumState& target, QuorumSide side,
                                         const NameSet& confirmed) {
  std::vector<QuorumState> out;
  auto consider = [&](const QuorumState& next) {
    if (!quorum_violation(next) && !(next == s)) out.push_back(next);
  };
  if (side == QuorumSide::sync) {
    for (const NameSet& sync : set_options(s.sync, target.sync, s.voters)) {
      for (int n = sync.empty() ? 0 : 1; n <= size_of(sync); ++n) {
        QuorumState next = s;
        next.sync = sync;
        next.numsync = n;
        consider(next);
      }
    }
  } else {
    for (const NameSet& voters : set_options(s.voters, target.voters, s.sync)) {
      for (int q = 0; q <= size_of(voters); ++q) {
        QuorumState next = s;
        next.voters = voters;
        next.quorum = voters.empty() ? 0 : q;
        if (quorum_write_keeps_commits(s, next, confirmed)) consider(next);
      }
    }
  }
  return out;
}

// A state in which no voter could take over (safe, but a failover would have to wait).
bool no_takeover(const QuorumState& s) { return !s.voters.empty() && s.quorum >= size_of(s.voters); }

std::string key_of(const QuorumState& s, QuorumSide last, bool synced) {
  std::string k = std::to_string(s.quorum) + "|" + std::to_string(s.numsync) + "|" +
                  (last == QuorumSide::sync ? "s" : "q") + (synced ? "+" : "-") + "|";
  for (const auto& n : s.voters) {
    for (char c : n) k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    k += ',';
  }
  k += '|';
  for (const auto& n : s.sync) {
    for (char c : n) k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    k += ',';
  }
  return k;
}

}  // namespace

bool NoCaseLess::operator()(const std::string& a, const std::string& b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) < std::tolower(static_cast<unsigned char>(y));
  });
}

bool QuorumState::operator==(const QuorumState& other) const {
  return same_name(leader, other.leader) && quorum == other.quorum && numsync == other.numsync &&
         symmetric_difference(voters, other.voters) == 0 && symmetric_difference(sync, other.sync) == 0;
}

std::optional<std::string> quorum_violation(const QuorumState& s) {
  if (s.numsync < 0 || s.numsync > size_of(s.sync)) return "numsync " + std::to_string(s.numsync) + " of " +
                                                           std::to_string(s.sync.size()) + " synchronous nodes";
  if (!s.sync.empty() && s.numsync == 0) return std::string("synchronous nodes listed with numsync 0");
  if (s.quorum < 0 || s.quorum > std::max(size_of(s.voters), 0)) return "quorum " + std::to_string(s.quorum) +
                                                                        " of " + std::to_string(s.voters.size()) +
                                                                        " voters";
  if (s.voters.count(s.leader) || s.sync.count(s.leader)) return "the leader " + s.leader + " is listed as a standby";
  if (!subset(s.voters, s.sync) && !subset(s.sync, s.voters)) return std::string("voters and sync differ both ways");
  // With no voters, or a quorum no group of them can reach, nobody can take over: safe whatever
  // is synchronous.
  if (s.quorum < size_of(s.voters) && size_of(set_union(s.voters, s.sync)) > s.quorum + s.numsync)
    return "quorum " + std::to_string(s.quorum) + " + numsync " + std::to_string(s.numsync) + " < " +
           std::to_string(set_union(s.voters, s.sync).size()) + " nodes: a commit could miss every winning group";
  return std::nullopt;
}

QuorumState optimal_quorum_state(const QuorumGoal& goal) {
  QuorumState t;
  t.leader = goal.leader;
  t.sync = goal.active;
  t.sync.erase(goal.leader);
  t.numsync = std::min(std::max(goal.sync_wanted, 1), size_of(t.sync));
  t.voters = t.sync;
  t.quorum = smallest_quorum(t.voters, t.sync, t.numsync).value_or(size_of(t.voters));
  return t;
}

QuorumState quorum_handover(const QuorumState& current, const std::string& new_leader) {
  // This node won the race, so it holds every acknowledged commit: it takes the old leader's
  // place and stops being a voter; the old leader does not become one (it may be among the
  // synchronous names: the promotion listed it). The voters left keep at least the old quorum,
  // so each group of them still holds an old group, and enough for the synchronous names; if
  // they cannot, /sync is emptied of voters, which is always safe: nobody can take over until
  // they are rebuilt.
  QuorumState next = current;
  next.sync.erase(new_leader);
  next.numsync = std::min(next.numsync, size_of(next.sync));
  if (!next.sync.empty()) next.numsync = std::max(next.numsync, 1);
  next.leader = new_leader;
  next.voters.erase(new_leader);
  const auto q = smallest_quorum(next.voters, next.sync, next.numsync);
  next.quorum = std::max(q.value_or(0), current.quorum);
  if (!q || next.quorum > size_of(next.voters) || quorum_violation(next)) {
    next.voters.clear();
    next.quorum = 0;
  }
  return next;
}

std::vector<QuorumTransition> plan_quorum_transitions(const QuorumState& current, const QuorumGoal& goal) {
  // The leader's own name in its synchronous_standby_names means nothing to PostgreSQL.
  QuorumState start = current;
  start.sync.erase(goal.leader);
  start.numsync = std::min(start.numsync, size_of(start.sync));
  if (!start.sync.empty()) start.numsync = std::max(start.numsync, 1);
  const QuorumState target = optimal_quorum_state(goal);
  std::vector<QuorumTransition> steps;
  QuorumState s = start;
  auto push = [&](QuorumSide side, const QuorumState& next) {
    // Two writes of the same side in a row: the first is never observed, keep the second.
    if (!steps.empty() && steps.back().side == side) steps.pop_back();
    steps.push_back({side, next});
    s = next;
  };
  if (!same_name(s.leader, goal.leader)) {
    push(QuorumSide::quorum, quorum_handover(s, goal.leader));
  } else if (quorum_violation(s)) {
    // /sync and synchronous_standby_names do not fit together (values written by others): empty
    // the voters first, always safe.
    QuorumState next = s;
    next.voters.clear();
    next.quorum = 0;
    push(QuorumSide::quorum, next);
  }
  // The cheapest path to the target (or, when the rule does not let it be reached, to the state
  // nearest to it): fewest writes first, then fewest states in which no voter could take over.
  // Sides alternate (two writes of one side in a row are one write). Bounded: a few thousand
  // states at most, as every set is built from the current, target and other-side sets.
  struct Node {
    QuorumState state;
    QuorumSide last;
    bool synced;  // synchronous_standby_names rewritten on the way: nobody is confirmed any more
    int writes;
    int dips;
    int parent;
  };
  const NameSet none;
  std::vector<Node> nodes;
  std::map<std::string, int> seen;
  const QuorumSide start_last = steps.empty() ? QuorumSide::quorum : steps.back().side;
  // The first write may be either side: a virtual "last" of each kind.
  for (QuorumSide last : {QuorumSide::quorum, QuorumSide::sync}) {
    if (!steps.empty() && last != start_last) continue;
    seen[key_of(s, last, false)] = static_cast<int>(nodes.size());
    nodes.push_back({s, last, false, 0, 0, -1});
  }
  int best = 0;
  auto better = [&](const Node& a, const Node& b) {
    const int da = distance(a.state, target), db = distance(b.state, target);
    if (da != db) return da < db;
    if (a.writes != b.writes) return a.writes < b.writes;
    return a.dips < b.dips;
  };
  for (std::size_t i = 0; i < nodes.size() && nodes.size() < 20000; ++i) {
    const Node cur = nodes[i];
    if (better(cur, nodes[static_cast<std::size_t>(best)])) best = static_cast<int>(i);
    if (cur.state == target) break;
    const QuorumSide side = cur.last == QuorumSide::sync ? QuorumSide::quorum : QuorumSide::sync;
    const bool synced = cur.synced || side == QuorumSide::sync;
    for (const QuorumState& next : one_side_writes(cur.state, target, side, cur.synced ? none : goal.confirmed)) {
      const std::string k = key_of(next, side, synced);
      if (seen.count(k)) continue;
      seen[k] = static_cast<int>(nodes.size());
      nodes.push_back({next, side, synced, cur.writes + 1, cur.dips + (no_takeover(next) ? 1 : 0), static_cast<int>(i)});
    }
  }
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (better(nodes[i], nodes[static_cast<std::size_t>(best)])) best = static_cast<int>(i);
  std::vector<QuorumTransition> path;
  for (int i = best; i >= 0 && nodes[static_cast<std::size_t>(i)].parent >= 0; i = nodes[static_cast<std::size_t>(i)].parent)
    path.push_back({nodes[static_cast<std::size_t>(i)].last, nodes[static_cast<std::size_t>(i)].state});
  std::reverse(path.begin(), path.end());
  for (const auto& t : path) push(t.side, t.state);
  return steps;
}

std::string render_quorum_standby_names(int numsync, const NameSet& sync, int min_sync) {
  numsync = std::max(numsync, min_sync);
  if (numsync <= 0) return "";
  if (sync.empty()) return "ANY " + std::to_string(numsync) + " (*)";
  std::string out = "ANY " + std::to_string(numsync) + " (";
  bool first = true;
  for (const auto& n : sync) {
    out += (first ? "" : ",") + render_synchronous_standby_names({n}, false, 0);
    first = false;
  }
  return out + ")";
}

}  // namespace custos::ha

namespace custos::ha {

QuorumState read_quorum_state(const std::string& leader, int quorum, const std::vector<std::string>& voters,
                              const std::string& synchronous_standby_names) {
  QuorumState s;
  s.leader = leader;
  s.voters.insert(voters.begin(), voters.end());
  s.quorum = std::clamp(quorum, 0, size_of(s.voters));
  const auto parsed = parse_synchronous_standby_names(synchronous_standby_names);
  if (parsed && !parsed->star) {
    s.sync.insert(parsed->names.begin(), parsed->names.end());
    s.numsync = s.sync.empty() ? 0 : std::clamp(parsed->num, 1, size_of(s.sync));
  }
  return s;
}

std::string prepromote_quorum_standby_names(const std::string& sync_leader, int quorum,
                                            const std::vector<std::string>& voters, const std::string& me,
                                            int min_sync) {
  NameSet others(voters.begin(), voters.end());
  if (!sync_leader.empty()) others.insert(sync_leader);
  int numsync = size_of(others) - quorum - 1;
  if (others.erase(me) == 0) numsync += 1;
  return render_quorum_standby_names(numsync, others, min_sync);
}

}  // namespace custos::ha
