// Quorum commit (Patroni 4, `synchronous_mode: quorum`) as a pure state machine: how the
// primary's `synchronous_standby_names = ANY numsync (sync)` and the `/sync` key's
// {leader, quorum, sync_standby = voters} move from what they are to what the cluster needs,
// one side at a time, without ever opening a window in which an acknowledged commit could be
// lost by a failover.
//
// Safety rule. A commit is acknowledged once `numsync` members of `sync` have it. After the
// leader dies, a voter may take over only if it sees `quorum` other voters and is at least as far
// as each of them: it knows the state of quorum + 1 voters. Every possible group of quorum + 1
// voters must therefore meet every possible group of numsync sync members:
//     |voters ∪ sync| <= quorum + numsync   (the leader counted in neither),
// and, because the two sides are written one after the other, one set must contain the other.
// A state with quorum >= |voters| is safe but lets no voter take over (no such group exists).
// Commits acknowledged earlier, under other values, must stay findable too: a /sync write either
// makes every new group contain an old one (quorum' >= quorum + voters added) or makes every new
// group contain a node confirmed to hold all acknowledged commits (quorum' >= voters not
// confirmed). Rewriting synchronous_standby_names resets confirmation: no voter is confirmed
// again until it has caught up with the primary's position at that change.
//
// Pure functions, any thread, no I/O. Names are compared without case, as PostgreSQL compares
// synchronous_standby_names entries.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>


namespace custos::ha {

struct NoCaseLess {
  bool operator()(const std::string& a, const std::string& b) const;
};
using NameSet = std::set<std::string, NoCaseLess>;

// Both halves of the synchronous replication state.
struct QuorumState {
  // /sync
  std::string leader;
  int quorum = 0;
  NameSet voters;
  // synchronous_standby_names on the leader: ANY numsync (sync); numsync 0 with an empty set = ''.
  int numsync = 0;
  NameSet sync;

  bool operator==(const QuorumState& other) const;
};

// What the cluster needs now.
struct QuorumGoal {
  std::string leader;     // this node, the primary
  NameSet active;         // streaming standbys that may be synchronous (no nosync tag, ...)
  // Nodes known to hold every commit acknowledged so far: flushed at least up to the primary's
  // position when synchronous_standby_names last changed.
  NameSet confirmed;
  int sync_wanted = 1;    // synchronous_node_count (at least 1)
};

enum class QuorumSide {
  sync,    // rewrite synchronous_standby_names (numsync, sync)
  quorum,  // rewrite /sync (leader, quorum, voters)
};

struct QuorumTransition {
  QuorumSide side;
  QuorumState state;  // the whole state once this side is written
};

// Nullopt when `s` keeps the safety rule; else what breaks it.
std::optional<std::string> quorum_violation(const QuorumState& s);

// Where the cluster should end: sync = voters = active, numsync = min(sync_wanted, |active|),
// quorum = |active| - numsync (the smallest value that keeps the rule).
QuorumState optimal_quorum_state(const QuorumGoal& goal);

// The transitions that lead from `current` (/sync as read, synchronous_standby_names as the
// leader runs it) to optimal_quorum_state(goal), or as close as the rule allows: fewest writes,
// sides alternating, every state after each write keeping the rule. The leader is set first when
// /sync names another one (right after a failover); a current state that breaks the rule (values
// written by others) is first made safe by a /sync without voters. Empty when nothing changes.
std::vector<QuorumTransition> plan_quorum_transitions(const QuorumState& current, const QuorumGoal& goal);

// The /sync half once `new_leader` (the race winner) has taken /sync over from the leader
// `current` names: itself out of the voters, the quorum kept (or the voters emptied when that
// cannot keep the rule with current's synchronous names). The first transition of
// plan_quorum_transitions after a failover; written before the promotion too.
QuorumState quorum_handover(const QuorumState& current, const std::string& new_leader);

// "ANY n (a,b)" rendering of the sync half, n raised to min_sync (1 in strict mode); "" when n
// is 0; "ANY n (*)" when the set is empty but n is not (strict mode: commits wait for any
// standby). Names are double-quoted when PostgreSQL would otherwise not read them back as written.
std::string render_quorum_standby_names(int numsync, const NameSet& sync, int min_sync = 0);

// The state as read: /sync's leader, quorum and voters, and the synchronous_standby_names the
// leader runs. FIRST n (...) and plain lists read as ANY n (their acknowledging groups are among
// ANY n's); `*`, '' and a value that does not parse read as no synchronous names (numsync 0),
// which only lets the plan make /sync safe before anything else.
QuorumState read_quorum_state(const std::string& leader, int quorum, const std::vector<std::string>& voters,
                              const std::string& synchronous_standby_names);

// The synchronous_standby_names a quorum-mode replica sets just before it promotes (it won the
// race, /sync still names the old leader): ANY n of the old leader and the voters other than
// itself, n = their number - quorum (one fewer when it was a voter itself), so that every commit
// it acknowledges as primary reaches a group any later race winner overlaps, before its own
// /sync is written. Rendered as render_quorum_standby_names.
std::string prepromote_quorum_standby_names(const std::string& sync_leader, int quorum,
                                            const std::vector<std::string>& voters, const std::string& me,
                                            int min_sync);

}  // namespace custos::ha
