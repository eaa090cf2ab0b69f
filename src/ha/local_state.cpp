#include "ha/local_state.h"

#include <algorithm>

namespace custos::ha {

std::string_view to_string(Role role) noexcept {
  switch (role) {
    case Role::uninitialized: return "uninitialized";
    case Role::primary: return "master";
    case Role::replica: return "replica";
    case Role::standby_leader: return "standby_leader";
    case Role::demoted: return "demoted";
    case Role::promoted: return "promoted";
  }
  return "unknown";
}

std::string_view to_string(PgState state) noexcept {
  switch (state) {
    case PgState::stopped: return "stopped";
    case PgState::starting: return "starting";
    case PgState::running: return "running";
    case PgState::stopping: return "stopping";
    case PgState::stop_failed: return "stop failed";
    case PgState::crashed: return "crashed";
    case PgState::restarting: return "restarting";
    case PgState::restart_failed_stop: return "restart failed (stop failed)";
    case PgState::restart_failed_start: return "restart failed (start failed)";
    case PgState::start_failed: return "start failed";
    case PgState::initializing_new_cluster: return "initializing new cluster";
    case PgState::initdb_failed: return "initdb failed";
    case PgState::running_custom_bootstrap_script: return "running custom bootstrap script";
    case PgState::custom_bootstrap_failed: return "custom bootstrap failed";
    case PgState::creating_replica: return "creating replica";
    case PgState::unknown: return "unknown";
  }
  return "unknown";
}

PgState parse_pg_state(std::string_view text) noexcept {
  if (text == "restart failed (stop failed)") return PgState::restart_failed_stop;
  if (text.rfind("restart failed", 0) == 0) return PgState::restart_failed_start;
  for (PgState s : {PgState::stopped, PgState::starting, PgState::running, PgState::stopping, PgState::stop_failed,
                    PgState::crashed, PgState::restarting, PgState::start_failed,
                    PgState::initializing_new_cluster, PgState::initdb_failed,
                    PgState::running_custom_bootstrap_script, PgState::custom_bootstrap_failed,
                    PgState::creating_replica})
    if (to_string(s) == text) return s;
  return PgState::unknown;
}

std::string_view default_async_name(AsyncKind kind) noexcept {
  switch (kind) {
    case AsyncKind::other: return "async action";
    case AsyncKind::bootstrap: return "bootstrap";
    case AsyncKind::bootstrap_standby_leader: return "bootstrap_standby_leader";
    case AsyncKind::clone: return "bootstrap from leader";
    case AsyncKind::post_bootstrap: return "post_bootstrap";
    case AsyncKind::promote: return "promote";
    case AsyncKind::demote: return "demote";
    case AsyncKind::restart: return "restart";
    case AsyncKind::start_primary: return "starting primary after failure";
    case AsyncKind::restart_after_failure: return "restarting after failure";
    case AsyncKind::crash_recovery: return "doing crash recovery in a single user mode";
    case AsyncKind::rewind: return "running pg_rewind";
    case AsyncKind::reinitialize: return "reinitialize";
    case AsyncKind::start_after_demotion: return "starting after demotion";
  }
  return "async action";
}

std::string AsyncTask::display_name() const {
  return name.empty() ? std::string(default_async_name(kind)) : name;
}

int64_t LocalState::wal_position() const {
  if (!in_recovery) return flush_lsn;
  return std::max(received_lsn, replayed_lsn);
}

}  // namespace custos::ha
