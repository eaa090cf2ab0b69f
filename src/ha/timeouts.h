// When a timeout rule of decide() will next change its answer for this node with nothing else
// happening (ha.md §3.15 primary start, §5 crash recovery): the end of primary_start_timeout
// (or of the start's own timeout) for the lock holder while its PostgreSQL starts or recovers.
// The agent's loop wakes at that moment instead of at its next loop_wait tick, so that a primary
// which cannot come back in time gives the lock up when the time is up, not up to a cycle later.
// Pure: no clock, no I/O.
#pragma once

#include <optional>

#include "ha/local_state.h"
#include "ha/settings.h"

namespace custos::ha {

// Monotonic seconds (the clock of LocalState) of the next such deadline still ahead of `now`,
// nullopt when none applies (not the lock holder, paused, or nothing starting).
std::optional<double> next_timeout_at(const LocalState& me, const HaSettings& settings, bool holds_lock, double now);

}  // namespace custos::ha
