#include "ha/bookkeeping.h"

#include <type_traits>
#include <variant>

namespace custos::ha {

bool is_bookkeeping(Action action) noexcept {
  switch (action) {
    case Action::set_is_leader:
    case Action::failsafe_active:
    case Action::reset_rewind_state:
    case Action::reset_recovery_state:
    case Action::trigger_rewind_check:
    case Action::remember_pre_promote_release:
    case Action::delete_scheduled_restart:
    case Action::fire_on_start:
    case Action::finish_bootstrap:
    case Action::set_role:
      return true;
    default:
      return false;
  }
}

void set_pg_state(LocalState& local, PgState state, double now) {
  if (local.state == state) return;
  local.state = state;
  local.state_since = now;
}

void arm_rewind_check(LocalState& local, const HaSettings& settings) {
  if (local.can_rewind || settings.remove_data_directory_on_diverged_timelines) local.rewind = RewindState::check;
}

bool apply_bookkeeping(const Step& step, LocalState& local, const HaSettings& settings, double now) {
  if (!is_bookkeeping(step.action())) return false;
  std::visit(
      [&](const auto& s) {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, step::SetIsLeader>) {
          if (s.value) local.last_lock_write = now;
          else local.last_lock_write.reset();
        } else if constexpr (std::is_same_v<T, step::SetFailsafeActive>) {
          local.failsafe_active = s.value;
        } else if constexpr (std::is_same_v<T, step::ResetRewindState>) {
          local.rewind = RewindState::initial;
          local.rewind_executed = false;
        } else if constexpr (std::is_same_v<T, step::ResetRecoveryState>) {
          local.recovering = false;
          local.crash_recovery_started = 0;
          local.start_timeout.reset();
          if (local.rewind == RewindState::success) local.rewind = RewindState::initial;
        } else if constexpr (std::is_same_v<T, step::TriggerRewindCheck>) {
          arm_rewind_check(local, settings);
        } else if constexpr (std::is_same_v<T, step::RememberPrePromoteRelease>) {
          local.released_lock_after_pre_promote = now;
          local.pre_promote_failed = false;
        } else if constexpr (std::is_same_v<T, step::DeleteScheduledRestart>) {
          local.scheduled_restart.reset();
        } else if constexpr (std::is_same_v<T, step::FireOnStart>) {
          local.on_start_fired = true;
        } else if constexpr (std::is_same_v<T, step::FinishBootstrap>) {
          local.bootstrapping = false;
        } else if constexpr (std::is_same_v<T, step::SetRole>) {
          local.role = s.role;
        }
      },
      step.payload);
  return true;
}

AsyncFollowUp apply_async_result(const AsyncResult& r, LocalState& local, const HaSettings& settings, double now) {
  AsyncFollowUp out;
  switch (r.task.kind) {
    case AsyncKind::bootstrap_standby_leader:
      // No post_bootstrap for a standby leader (it is read-only): its bootstrap is done (ha.md §8).
      local.bootstrap_result = r.ok ? BootstrapResult::succeeded : BootstrapResult::failed;
      if (r.ok) local.role = Role::standby_leader;
      set_pg_state(local, r.ok ? PgState::starting : PgState::stopped, now);
      break;
    case AsyncKind::bootstrap:
      if (!r.ok) local.bootstrap_result = BootstrapResult::failed;
      set_pg_state(local,
                   r.ok ? PgState::running
                        : (local.state == PgState::running_custom_bootstrap_script ? PgState::custom_bootstrap_failed
                                                                                    : PgState::initdb_failed),
                   now);
      break;
    case AsyncKind::post_bootstrap:
      local.bootstrap_result = r.ok ? BootstrapResult::succeeded : BootstrapResult::failed;
      // The cycle that finishes the bootstrap returns early (ha.md §2.8); the next one creates
      // the replicas' slots, so it runs at once: replicas cloning meanwhile need their slot.
      out.run_next_cycle_now = r.ok;
      break;
    case AsyncKind::clone:
    case AsyncKind::reinitialize:
      set_pg_state(local, r.ok ? PgState::starting : PgState::stopped, now);
      if (r.ok) local.role = Role::replica;
      break;
    case AsyncKind::promote:
      if (r.ok) {
        local.role = Role::primary;
        local.checkpoint_after_promote_pending = false;
      } else {
        local.role = Role::replica;
      }
      break;
    case AsyncKind::start_primary:
    case AsyncKind::restart:
    case AsyncKind::restart_after_failure:
    case AsyncKind::start_after_demotion:
      // Patroni: "restart failed (<the state the stop or start left>)"; a start still running
      // when its time is up stays `starting`.
      if (r.ok) set_pg_state(local, PgState::running, now);
      else if (r.error == kRestartStartTimedOut) set_pg_state(local, PgState::starting, now);
      else if (r.task.kind != AsyncKind::restart) set_pg_state(local, PgState::start_failed, now);
      else if (r.error == kStopFailed) set_pg_state(local, PgState::restart_failed_stop, now);
      else set_pg_state(local, PgState::restart_failed_start, now);
      if (r.task.kind != AsyncKind::start_after_demotion) local.recovering = true;
      break;
    case AsyncKind::crash_recovery:
      set_pg_state(local, PgState::stopped, now);
      arm_rewind_check(local, settings);
      break;
    case AsyncKind::rewind:
      local.rewind_executed = true;
      local.rewind = r.ok ? RewindState::success : RewindState::failed;
      if (!r.ok && (settings.remove_data_directory_on_rewind_failure ||
                    settings.remove_data_directory_on_diverged_timelines)) {
        out.move_data_dir_aside = true;
        local.rewind = RewindState::initial;
      }
      break;
    case AsyncKind::demote:
      if (!r.ok && r.error == kStopFailed) set_pg_state(local, PgState::stop_failed, now);
      if (r.rewind) {
        local.rewind = *r.rewind;
        if (*r.rewind == RewindState::success || *r.rewind == RewindState::failed) local.rewind_executed = true;
      }
      if (r.started_replica) {
        local.role = Role::replica;
        local.process = PgProcess::starting;
        set_pg_state(local, PgState::starting, now);
      }
      break;
    case AsyncKind::other:
      break;
  }
  return out;
}

}  // namespace custos::ha
