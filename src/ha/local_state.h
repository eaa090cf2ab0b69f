// What this node knows about itself at the start of an HA cycle (ha.md §2): PostgreSQL process
// and role, data directory, WAL positions, rewind state, running async action, lock timing and
// the other bits of memory the agent carries between cycles. A plain value gathered by the agent
// (PostgreSQL queries, pg_controldata, its own bookkeeping) before calling decide().
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "ha/tags.h"

namespace custos::ha {

// Postmaster as seen by the agent: `starting` = started but not yet accepting connections
// (pg_isready says "reject"), `running` = alive and accepting, `stopped` = no postmaster.
enum class PgProcess { stopped, starting, running };

// Internal role (ha.md §12). `primary` is written "master" in member keys.
enum class Role { uninitialized, primary, replica, standby_leader, demoted, promoted };
std::string_view to_string(Role role) noexcept;

// The PostgreSQL `state` of ha.md §12 as the agent keeps it; to_string() gives Patroni's text
// (written to the member key and the REST API only there).
enum class PgState {
  stopped,
  starting,
  running,
  stopping,
  stop_failed,
  crashed,
  restarting,
  restart_failed_stop,   // "restart failed (stop failed)": the stop of a restart failed
  restart_failed_start,  // "restart failed (start failed)": the start of a restart failed
  start_failed,
  initializing_new_cluster,
  initdb_failed,
  running_custom_bootstrap_script,
  custom_bootstrap_failed,
  creating_replica,
  unknown,
};
std::string_view to_string(PgState state) noexcept;
// Patroni's text back to the enum ("restart failed (...)" with any previous state); unknown
// for anything else.
PgState parse_pg_state(std::string_view text) noexcept;

enum class DataDir { present, empty, inaccessible };

// `Database cluster state` of pg_controldata.
enum class ControlState {
  unknown,
  starting_up,
  shut_down,
  shut_down_in_recovery,
  shutting_down,
  in_crash_recovery,
  in_archive_recovery,
  in_production
};

// Rewind state machine (Patroni REWIND_STATUS). The agent runs the diverged-LSN check (I/O)
// when the state is `check` BEFORE calling decide(), so decide() sees need / not_needed.
enum class RewindState { initial, check, need, not_needed, success, failed };

// The running asynchronous action (Patroni's AsyncExecutor.scheduled_action).
enum class AsyncKind {
  other,
  bootstrap,                 // "bootstrap"
  bootstrap_standby_leader,  // "bootstrap_standby_leader"
  clone,                     // "bootstrap from leader 'x'" / "bootstrap (without leader)"
  post_bootstrap,            // "post_bootstrap"
  promote,                   // "promote"
  demote,                    // "manual failover: demote", "demote"...
  restart,                   // "restart"
  start_primary,             // "starting primary after failure"
  restart_after_failure,     // "restarting after failure"
  crash_recovery,            // "doing crash recovery in a single user mode"
  rewind,                    // "running pg_rewind from x"
  reinitialize,              // "reinitialize"
  start_after_demotion,      // "starting after demotion"
};
// The default scheduled_action text of a kind ("promote", "restart", ...).
std::string_view default_async_name(AsyncKind kind) noexcept;

struct AsyncTask {
  AsyncKind kind = AsyncKind::other;
  // The text used in "<action> in progress"; empty = default_async_name(kind).
  std::string name;
  std::string display_name() const;
};

// Result of the bootstrap async action (Patroni _async_response for the bootstrap/post_bootstrap).
enum class BootstrapResult { pending, succeeded, failed };

// A restart scheduled through the REST API (ha.md §3.16), as stored in the member key.
struct ScheduledRestart {
  // Seconds since the epoch.
  double schedule = 0;
  // postmaster_start_time when it was scheduled.
  std::optional<std::string> postmaster_start_time;
  // Restart filters.
  std::optional<std::string> role;            // literal internal role, e.g. "master", "replica"
  std::optional<int> postgres_version;        // restart only if server_version < this
  bool restart_pending = false;               // restart only if a restart is pending
};

struct LocalState {
  std::string name;
  Tags tags;

  DataDir data_dir = DataDir::present;
  // For `inaccessible`: the error, in Python's words ("[Errno 13] Permission denied: '/data'").
  std::string data_dir_error;
  // Local `Database system identifier` (empty when unknown).
  std::string sysid;

  PgProcess process = PgProcess::running;
  // The PostgreSQL state (ha.md §12) as the agent last set it.
  PgState state = PgState::running;
  // Monotonic seconds when `state` was entered (time_in_state for primary_start_timeout).
  double state_since = 0;
  // pg_is_in_recovery() (meaningful while the postmaster runs): false = primary.
  bool in_recovery = true;
  Role role = Role::replica;
  // server_version_num (e.g. 160002); 0 unknown.
  int server_version = 0;

  // Primary: timeline of pg_control_checkpoint / current TL; replica: TL via the replication
  // connection (IDENTIFY_SYSTEM) or received TL. nullopt = unknown.
  std::optional<int64_t> timeline;
  int64_t flush_lsn = 0;     // on a primary
  int64_t received_lsn = 0;  // on a replica
  int64_t replayed_lsn = 0;  // on a replica
  // Member currently streamed from (informational, none when not streaming).
  std::optional<std::string> streaming_from;

  ControlState control_state = ControlState::unknown;
  // standby.signal / recovery.signal / recovery.conf exists.
  bool recovery_conf_exists = false;

  // Rewind: pg_rewind usable (use_pg_rewind, pg_rewind works, wal_log_hints or checksums).
  bool can_rewind = false;
  RewindState rewind = RewindState::initial;
  // A rewind was executed (success or failure) since the state was last reset.
  bool rewind_executed = false;

  std::optional<AsyncTask> async;
  // This node won the bootstrap race and the bootstrap is not finished.
  bool bootstrapping = false;
  BootstrapResult bootstrap_result = BootstrapResult::pending;
  // The last cycle started PostgreSQL after a failure (Patroni `recovering`).
  bool recovering = false;
  // The on_start callback has fired since the agent started (Patroni `cb_called`).
  bool on_start_fired = false;
  // The previous cycle ran in pause (to detect leaving pause).
  bool was_paused = false;

  // Monotonic seconds of our last successful leader lock write (acquire/refresh); nullopt =
  // never. is_leader(now, ttl) derives from it.
  std::optional<double> last_lock_write;
  // When single-user crash recovery started, monotonic (0 = not in a crash recovery episode).
  double crash_recovery_started = 0;
  // Start timeout of the current start (restart with timeout); nullopt = primary_start_timeout.
  std::optional<double> start_timeout;
  // The last pre_promote script failed (async promote response false) and has not been handled.
  bool pre_promote_failed = false;
  // When we released the lock voluntarily after a pre_promote failure (monotonic).
  std::optional<double> released_lock_after_pre_promote;
  // Failsafe mode keeps this primary running through a DCS outage (ha.md §7).
  bool failsafe_active = false;
  // Promoted (or bootstrapped) and the post-promote CHECKPOINT has not completed yet.
  bool checkpoint_after_promote_pending = false;

  // Watchdog: currently armed; usable (a required watchdog that cannot work makes it unhealthy).
  bool watchdog_running = false;
  bool watchdog_healthy = true;

  // pg_postmaster_start_time() text; pending_restart of the member key.
  std::optional<std::string> postmaster_start_time;
  bool pending_restart = false;
  std::optional<ScheduledRestart> scheduled_restart;

  // Monotonic seconds of the last `POST /failsafe` received as a replica (ha.md §7) with the
  // leader it named; used to inject that leader into an unlocked view for `ttl` seconds.
  struct FailsafeLeader {
    std::string name;
    std::string conn_url;
    std::string api_url;
    // The primary's slot positions (`slots` of the request: permanent slots and its own name
    // with its last LSN), for advancing permanent slots while the DCS is unreachable.
    std::map<std::string, int64_t> slots;
    double received_at = 0;
  };
  std::optional<FailsafeLeader> failsafe_leader;

  // "is_leader" (ha.md notation): last successful lock write + ttl > now.
  bool is_leader(double now, double ttl) const {
    return last_lock_write.has_value() && *last_lock_write + ttl > now;
  }
  bool is_running() const { return process != PgProcess::stopped; }
  // PostgreSQL runs as a primary (not in recovery).
  bool is_primary() const { return is_running() && !in_recovery; }
  // ha.md §3.6: primary -> flush LSN; replica -> max(received, replayed).
  int64_t wal_position() const;
  // Rewind "is_needed": state check or need (ha.md §4).
  bool rewind_pending() const {
    return rewind == RewindState::check || rewind == RewindState::need;
  }
};

}  // namespace custos::ha
