#include "ha/decision.h"

#include <sstream>

namespace custos::ha {

std::string_view to_string(Action action) noexcept {
  switch (action) {
    case Action::none: return "none";
    case Action::touch_member: return "touch_member";
    case Action::write_initialize: return "write_initialize";
    case Action::write_config: return "write_config";
    case Action::reload_cluster: return "reload_cluster";
    case Action::release_lock: return "release_lock";
    case Action::take_leader: return "take_leader";
    case Action::clear_failover_key: return "clear_failover_key";
    case Action::rewrite_failover_key: return "rewrite_failover_key";
    case Action::cancel_initialization: return "cancel_initialization";
    case Action::acquire_lock: return "acquire_lock";
    case Action::update_lock: return "update_lock";
    case Action::race_initialize: return "race_initialize";
    case Action::write_sync_state: return "write_sync_state";
    case Action::check_failsafe_topology: return "check_failsafe_topology";
    case Action::activate_watchdog: return "activate_watchdog";
    case Action::bootstrap: return "bootstrap";
    case Action::clone: return "clone";
    case Action::post_bootstrap: return "post_bootstrap";
    case Action::promote: return "promote";
    case Action::demote: return "demote";
    case Action::follow: return "follow";
    case Action::start_primary: return "start_primary";
    case Action::crash_recovery: return "crash_recovery";
    case Action::rewind: return "rewind";
    case Action::reinitialize: return "reinitialize";
    case Action::restart: return "restart";
    case Action::stop_postgres: return "stop_postgres";
    case Action::cancel_async: return "cancel_async";
    case Action::set_role: return "set_role";
    case Action::set_synchronous_standby_names: return "set_synchronous_standby_names";
    case Action::manage_sync_replication: return "manage_sync_replication";
    case Action::update_history: return "update_history";
    case Action::ensure_checkpoint_after_promote: return "ensure_checkpoint_after_promote";
    case Action::sync_replication_slots: return "sync_replication_slots";
    case Action::trigger_rewind_check: return "trigger_rewind_check";
    case Action::reset_rewind_state: return "reset_rewind_state";
    case Action::reset_recovery_state: return "reset_recovery_state";
    case Action::remember_pre_promote_release: return "remember_pre_promote_release";
    case Action::remove_data_directory: return "remove_data_directory";
    case Action::rename_data_directory: return "rename_data_directory";
    case Action::watchdog_keepalive: return "watchdog_keepalive";
    case Action::watchdog_disable: return "watchdog_disable";
    case Action::set_is_leader: return "set_is_leader";
    case Action::failsafe_active: return "failsafe_active";
    case Action::sanity_checks: return "sanity_checks";
    case Action::delete_scheduled_restart: return "delete_scheduled_restart";
    case Action::fire_on_start: return "fire_on_start";
    case Action::finish_bootstrap: return "finish_bootstrap";
    case Action::sleep: return "sleep";
    case Action::fatal_exit: return "fatal_exit";
  }
  return "unknown";
}

bool is_conditional(Action action) noexcept {
  switch (action) {
    case Action::acquire_lock:
    case Action::update_lock:
    case Action::race_initialize:
    case Action::write_sync_state:
    case Action::check_failsafe_topology:
    case Action::activate_watchdog:
      return true;
    default:
      return false;
  }
}

std::string_view to_string(DemoteMode mode) noexcept {
  switch (mode) {
    case DemoteMode::offline: return "offline";
    case DemoteMode::graceful: return "graceful";
    case DemoteMode::immediate: return "immediate";
    case DemoteMode::immediate_nolock: return "immediate-nolock";
  }
  return "unknown";
}

std::string to_string(const Step& step) {
  std::ostringstream out;
  out << to_string(step.action);
  switch (step.action) {
    case Action::demote: out << '(' << to_string(step.demote_mode) << ')'; break;
    case Action::follow:
      out << '(' << (step.member.empty() ? "<none>" : step.member) << ", " << to_string(step.role)
          << (step.flag ? ", remote" : "") << ')';
      break;
    case Action::set_role: out << '(' << to_string(step.role) << ')'; break;
    case Action::clone:
    case Action::rewind:
    case Action::reinitialize:
    case Action::rewrite_failover_key:
      out << '(' << step.member << ')';
      break;
    case Action::sleep:
    case Action::start_primary: out << '(' << step.seconds << ')'; break;
    case Action::set_synchronous_standby_names:
    case Action::fatal_exit:
    case Action::stop_postgres:
    case Action::cancel_async: out << "('" << step.text << "')"; break;
    case Action::write_initialize:
    case Action::set_is_leader:
    case Action::failsafe_active:
    case Action::bootstrap: out << '(' << (step.flag ? "true" : "false") << ')'; break;
    default: break;
  }
  return out.str();
}

Decision::Decision(Action headline, std::vector<Step> steps_, std::string message_)
    : action(headline), steps(std::move(steps_)), message(std::move(message_)) {}

Decision Decision::branch(std::vector<Step> steps, Step conditional, Decision on_success,
                          Decision on_failure) {
  Decision d;
  d.action = conditional.action;
  steps.push_back(std::move(conditional));
  d.steps = std::move(steps);
  d.branches_.push_back(std::move(on_success));
  d.branches_.push_back(std::move(on_failure));
  return d;
}

Decision Decision::resolve(std::initializer_list<bool> outcomes) const {
  Decision out;
  const Decision* cur = this;
  auto it = outcomes.begin();
  while (true) {
    out.steps.insert(out.steps.end(), cur->steps.begin(), cur->steps.end());
    out.action = cur->action;
    out.message = cur->message;
    if (!cur->is_conditional() || it == outcomes.end()) break;
    cur = *it ? &cur->on_success() : &cur->on_failure();
    ++it;
  }
  return out;
}

void Decision::prepend(const std::vector<Step>& before) {
  steps.insert(steps.begin(), before.begin(), before.end());
}

bool Decision::has(Action a) const { return find(a) != nullptr; }

const Step* Decision::find(Action a) const {
  for (const Step& s : steps)
    if (s.action == a) return &s;
  return nullptr;
}

std::string Decision::describe() const {
  std::ostringstream out;
  for (const Step& s : steps) out << to_string(s) << "; ";
  if (is_conditional()) {
    out << "{ok: " << on_success().describe() << "} {fail: " << on_failure().describe() << "}";
  } else {
    out << "=> [" << to_string(action) << "] \"" << message << '"';
  }
  return out.str();
}

}  // namespace custos::ha
