// The result of one HA decision: an ordered plan of steps plus the cycle message (ha.md §13).
//
// Some steps are I/O whose outcome picks the rest of the cycle (acquire/refresh the lock, race
// for `initialize`, CAS-write `/sync`, failsafe ping, watchdog activation). Such a
// *conditional* step is always the LAST step of a Decision, and the Decision then holds two
// continuations: on_success() and on_failure(), each a Decision again (which may end with a
// further conditional step). The executor runs the steps in order; after a conditional step it
// continues with the branch matching the outcome; the message of the leaf reached is the cycle
// message. A DCS error raised by any DCS step aborts the plan: the executor then asks decide()
// again with the cluster marked unreachable (ha.md §2 E) within the same cycle.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ha/local_state.h"

namespace custos::ha {

enum class Action {
  none,
  // ---- DCS writes ----
  touch_member,          // write own members/<name>
  write_initialize,      // `initialize` = local sysid; flag: create-if-absent (else overwrite)
  write_config,          // `config` = local dynamic config (then reload the cluster view)
  reload_cluster,        // re-read the cluster from the DCS
  release_lock,          // delete `leader` (CAS on own name) voluntarily
  take_leader,           // unconditional write of `leader` (after bootstrap)
  clear_failover_key,    // CAS `failover` = {}; flag: unconditional (no CAS)
  rewrite_failover_key,  // `failover` = {member: <member>} keeping scheduled_at (pause)
  cancel_initialization, // delete `initialize`
  // ---- conditional steps (always last; see on_success/on_failure) ----
  acquire_lock,            // create `leader` if absent
  update_lock,             // refresh `leader` (+ status, + failsafe map)
  race_initialize,         // create `initialize` = "" if absent
  write_sync_state,        // CAS `/sync` = {leader: self, sync_standby: null}
  check_failsafe_topology, // POST /failsafe to every other /failsafe member: all 200?
  activate_watchdog,       // arm the watchdog: success?
  // ---- PostgreSQL / local actions ----
  bootstrap,             // async initdb/custom bootstrap (flag: standby leader, clone from remote)
  clone,                 // async create replica from `member` (empty member = without leader)
  post_bootstrap,        // async post-bootstrap (users, post_bootstrap script)
  promote,               // async promote (pre_promote, pg_ctl promote)
  demote,                // demote with `demote_mode`
  follow,                // (re)configure recovery to follow `member` (empty = none), role `role`;
                         // flag: `remote` (standby_cluster remote member); starts PG if stopped
  start_primary,         // async start as primary after a crash (timeout = seconds)
  crash_recovery,        // async single-user crash recovery (§5)
  rewind,                // async pg_rewind from `member`
  reinitialize,          // async wipe + clone from the clone member (`member`)
  restart,               // async restart (scheduled restart)
  stop_postgres,         // stop PostgreSQL, `text` = mode ("immediate")
  cancel_async,          // cancel the running async action (`text` = which)
  set_role,              // set internal role `role` (flag: fire on_role_change)
  set_synchronous_standby_names,  // `text` = value ("*" or "" = remove)
  manage_sync_replication,        // §6 ordering protocol for this cycle (primary only)
  update_history,        // §3.11a
  ensure_checkpoint_after_promote,
  sync_replication_slots,         // §10 (flag: DCS failed, only when failsafe active)
  trigger_rewind_check,  // arm the diverged-LSN check (state CHECK) if rewind/reinit allowed
  reset_rewind_state,
  reset_recovery_state,  // clear `recovering`, crash-recovery timer, successful rewind state
  remember_pre_promote_release,  // remember now as the time we released after pre_promote failure
  remove_data_directory, // wipe the data directory (rewind failure)
  rename_data_directory, // <data_dir>.failed (cancelled bootstrap)
  watchdog_keepalive,
  watchdog_disable,
  set_is_leader,         // flag = value
  failsafe_active,       // flag = active
  sanity_checks,         // leaving pause: re-read major version, resync slots, re-read sysid
  delete_scheduled_restart,
  fire_on_start,         // on_start callback
  finish_bootstrap,      // clear the bootstrapping flag (bootstrap completed)
  sleep,                 // `seconds`
  fatal_exit,            // terminate the agent (`text` = reason)
};
std::string_view to_string(Action action) noexcept;
// The steps that only decide the continuation (see header comment).
bool is_conditional(Action action) noexcept;

// ha.md §3.13.
enum class DemoteMode { offline, graceful, immediate, immediate_nolock };
std::string_view to_string(DemoteMode mode) noexcept;

struct Step {
  Action action = Action::none;
  // Target member (follow, clone, rewind, reinitialize, rewrite_failover_key).
  std::string member;
  DemoteMode demote_mode = DemoteMode::immediate;
  Role role = Role::replica;
  bool flag = false;
  // follow: re-read the cluster first and recompute the target with node_to_follow() on the
  // new view (used right after a lost lock race, where the winner is not in the current view).
  bool flag2 = false;
  double seconds = 0;
  std::string text;

  bool operator==(const Step&) const = default;
};
std::string to_string(const Step& step);

class Decision {
 public:
  Decision() = default;
  // A leaf: `steps` (no conditional one) then the cycle message.
  Decision(Action headline, std::vector<Step> steps, std::string message);
  // `steps` ending with `conditional` (a conditional step), then one branch per outcome.
  static Decision branch(std::vector<Step> steps, Step conditional, Decision on_success,
                         Decision on_failure);

  // The main action of a leaf (e.g. promote, demote, follow); for a conditional decision the
  // conditional action.
  Action action = Action::none;
  std::vector<Step> steps;
  // Cycle message (leaves only).
  std::string message;

  bool is_conditional() const noexcept { return branches_.size() == 2; }
  const Decision& on_success() const { return branches_.at(0); }
  const Decision& on_failure() const { return branches_.at(1); }
  Decision& on_success() { return branches_.at(0); }
  Decision& on_failure() { return branches_.at(1); }

  // The plan reached when the conditional steps have the given outcomes, flattened into one
  // leaf (steps of every level concatenated). Outcomes beyond the tree depth are ignored;
  // missing outcomes stop at the current level (its conditional step is then the last step).
  Decision resolve(std::initializer_list<bool> outcomes = {}) const;

  // Adds steps at the front of this decision (before its own steps).
  void prepend(const std::vector<Step>& before);
  // Applies `fn` to every leaf.
  template <typename Fn>
  void for_each_leaf(Fn&& fn) {
    if (is_conditional()) {
      branches_[0].for_each_leaf(fn);
      branches_[1].for_each_leaf(fn);
    } else {
      fn(*this);
    }
  }

  // Steps of this level only.
  bool has(Action action) const;
  const Step* find(Action action) const;
  std::string describe() const;

 private:
  std::vector<Decision> branches_;  // empty, or {on_success, on_failure}
};

}  // namespace custos::ha
