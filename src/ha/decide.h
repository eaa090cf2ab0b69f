// The HA cycle decision (ha.md §2-§9, §13, §14): a pure function of the cluster view, the local
// node state, the effective settings, the other members' fresh status and `now`. No I/O, no
// clock, no logging: the agent gathers the inputs, calls decide() and executes the returned plan
// (see decision.h for how conditional steps such as the lock race are expressed).
//
// Conventions:
// - The cycle message of every leaf gets the "PAUSE: " prefix when paused.
// - Every leaf reached with a readable DCS ends with touch_member (ha.md §2.15) and, when no
//   async action runs and PG is not starting, with sync_replication_slots (§2.14).
// - Rules that depend on the outcome of an I/O step of the same cycle are continuations of the
//   conditional step (decision.h). The re-read of the cluster after acquiring the lock is a
//   reload_cluster step; what the re-read view changes is decided by the next cycle.
// - The diverged-LSN check (rewind state CHECK -> NEED/NOT_NEEDED) is I/O: the agent runs it
//   before calling decide() whenever LocalState::rewind == check.
#pragma once

#include <cstddef>
#include <optional>

#include "dcs/cluster.h"
#include "dcs/shared_cluster.h"
#include "ha/decision.h"
#include "ha/local_state.h"
#include "ha/member_status.h"
#include "ha/settings.h"

namespace custos::ha {

struct DecisionInput {
  // The cluster view just loaded; nullopt = DCS unreachable (the load failed, ha.md §2 E).
  dcs::SharedCluster cluster;
  // The last view that had a leader (Patroni old_cluster, §2.1); also the source of the last
  // known /failsafe value when the DCS is unreachable. nullopt = none yet.
  dcs::SharedCluster old_cluster;
  LocalState local;
  HaSettings settings;
  // Fresh `GET /patroni` answers of the other members (see member_status.h).
  MemberStatuses members;
  // Monotonic seconds: every interval of LocalState (lock write, time in state, crash recovery
  // start, pre_promote release, failsafe ping) is measured against it.
  double now = 0;
  // Seconds since the epoch: only for schedules written as wall-clock times by others
  // (scheduled switchover `scheduled_at`, scheduled restart).
  double wall_now = 0;
  // Picks the clone source among several clonefrom members: index = random_seed % count.
  std::size_t random_seed = 0;
};

Decision decide(const DecisionInput& input);

}  // namespace custos::ha
