// What the agent remembers between cycles (LocalState), changed by the plan's bookkeeping steps
// and by the end of an asynchronous task. Pure: no I/O, no clock (`now` is monotonic seconds);
// the executor calls these on the HA loop thread and carries out whatever they ask for.
#pragma once

#include <optional>
#include <string>

#include "ha/decision.h"
#include "ha/local_state.h"
#include "ha/settings.h"

namespace custos::ha {

// The steps that only change LocalState: set_is_leader, failsafe_active, reset_rewind_state,
// reset_recovery_state, trigger_rewind_check, remember_pre_promote_release,
// delete_scheduled_restart, fire_on_start, finish_bootstrap, set_role. (The executor still
// fires the callbacks of fire_on_start and set_role(on_role_change) after applying them.)
bool is_bookkeeping(Action action) noexcept;

// Applies a bookkeeping step; false (and nothing changed) when `step` is not one.
bool apply_bookkeeping(const Step& step, LocalState& local, const HaSettings& settings, double now);

// Enters `state`, restarting the time in state only when it changed.
void set_pg_state(LocalState& local, PgState state, double now);

// Arms the diverged-timeline check when pg_rewind or reinitializing may act on its verdict.
void arm_rewind_check(LocalState& local, const HaSettings& settings);

// How an asynchronous task ended.
// The errors of a task that decide its state: kStopFailed, PostgreSQL kept running (a restart:
// "restart failed (stop failed)", a graceful demote: "stop failed"); kRestartStartTimedOut, a
// start still running when its time is up stays `starting`. Any other error of a restart is a
// failed start.
inline constexpr const char* kStopFailed = "stop failed";
inline constexpr const char* kRestartStartTimedOut = "PostgreSQL did not start in time";

struct AsyncResult {
  AsyncTask task;
  bool ok = false;
  std::string error;  // empty on success; kStopFailed, kRestartStartTimedOut or other
  // A task that settled the diverged-timeline question (a graceful demote that rejoined the new
  // leader): the verdict, or the rewind it ran (success/failed).
  std::optional<RewindState> rewind;
  // The task left PostgreSQL starting as a replica.
  bool started_replica = false;
};

// What the executor must still do after apply_async_result.
struct AsyncFollowUp {
  // The rewind failed and remove_data_directory_on_rewind_failure (or _on_diverged_timelines)
  // says to move the data directory aside (the next cycle then clones again).
  bool move_data_dir_aside = false;
  // Run the next cycle at once (after post_bootstrap: the replicas need their slots).
  bool run_next_cycle_now = false;
};

// The end of an async task in LocalState: state, role, bootstrap/rewind results, `recovering`.
AsyncFollowUp apply_async_result(const AsyncResult& result, LocalState& local, const HaSettings& settings,
                                 double now);

}  // namespace custos::ha
