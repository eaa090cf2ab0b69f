// The time window of scheduled actions (ha.md §3.10 scheduled switchover, §3.16 scheduled
// restart): more than loop_wait ahead -> wait; late by more than int(1.5 x loop_wait) -> stale
// (drop it); else run now, after sleeping until the scheduled time.
#pragma once

namespace custos::ha {

enum class ScheduleVerdict { wait, run, stale };

struct ScheduleCheck {
  ScheduleVerdict verdict = ScheduleVerdict::wait;
  // For `run`: seconds to sleep before running (>= 0).
  double sleep_seconds = 0;
};

// Times in seconds since the epoch.
ScheduleCheck check_schedule(double scheduled_at, double now, double loop_wait);

}  // namespace custos::ha
