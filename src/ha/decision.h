// The result of one HA decision: an ordered plan of typed steps plus the cycle message (ha.md §13).
//
// Every step is one struct of namespace `step` carrying exactly what it needs (a member name, a
// demote mode, a timeout); `Step` holds one of them in a std::variant and `Action` names the
// alternative (for logs, tests and the plan's headline).
//
// Some steps are I/O whose outcome picks the rest of the cycle (acquire/refresh the lock, race
// for `initialize`, take the lock after bootstrap, CAS-write `/sync`, failsafe ping, watchdog
// activation). Such a *conditional* step is always the LAST step of a Decision, and the Decision
// then holds two continuations: on_success() and on_failure(), each a Decision again (which may
// end with a further conditional step). The executor runs the steps in order; after a
// conditional step it continues with the branch matching the outcome; the message of the leaf
// reached is the cycle message. A DCS error raised by any DCS step aborts the plan: the executor
// then asks decide() again with the cluster marked unreachable (ha.md §2 E) within the same cycle.
//
// Bookkeeping steps (they only change what the agent remembers, ha/bookkeeping.h) are applied by
// a pure function; every other step is carried out by the agent's executor.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ha/local_state.h"

namespace custos::ha {

// ha.md §3.13.
enum class DemoteMode { offline, graceful, immediate, immediate_nolock };
std::string_view to_string(DemoteMode mode) noexcept;

// How stop_postgres stops the server (SIGINT / SIGQUIT).
enum class StopKind { fast, immediate };
std::string_view to_string(StopKind kind) noexcept;

namespace step {

// ---- DCS writes ----
struct None {
  bool operator==(const None&) const = default;
};
// Write our own members/<name>.
struct TouchMember {
  bool operator==(const TouchMember&) const = default;
};
// `initialize` = local sysid; create_new: create-if-absent (else overwrite).
struct WriteInitialize {
  bool create_new = false;
  bool operator==(const WriteInitialize&) const = default;
};
// `config` = local dynamic configuration.
struct WriteConfig {
  bool operator==(const WriteConfig&) const = default;
};
// Re-read the cluster from the DCS (after a lock change the new view matters at once).
struct ReloadCluster {
  bool operator==(const ReloadCluster&) const = default;
};
// Delete `leader` (CAS on our own name) voluntarily.
// voluntarily: Patroni's release_leader_key_voluntarily, which logs 'Leader key released'.
struct ReleaseLock {
  bool voluntarily = false;
  bool operator==(const ReleaseLock&) const = default;
};
// CAS `failover` = {}; unconditional: without the version check.
struct ClearFailoverKey {
  bool unconditional = false;
  bool operator==(const ClearFailoverKey&) const = default;
};
// `failover` = {member: candidate} keeping scheduled_at (pause).
struct RewriteFailoverKey {
  std::string candidate;
  bool operator==(const RewriteFailoverKey&) const = default;
};
// Delete `initialize`.
struct CancelInitialization {
  bool operator==(const CancelInitialization&) const = default;
};

// ---- conditional steps (always last; see on_success/on_failure) ----
// Create `leader` if absent.
struct AcquireLock {
  bool operator==(const AcquireLock&) const = default;
};
// Refresh `leader` (+ status; + /failsafe when write_failsafe).
struct UpdateLock {
  bool write_failsafe = false;
  bool operator==(const UpdateLock&) const = default;
};
// Create `initialize` = "" if absent.
struct RaceInitialize {
  bool operator==(const RaceInitialize&) const = default;
};
// Unconditional write of `leader` (after bootstrap): did it succeed?
struct TakeLeader {
  bool operator==(const TakeLeader&) const = default;
};
// CAS `/sync` = {leader: self, sync_standby: null}, or `value` when given (quorum mode: the
// hand-over to this node written before it promotes).
struct WriteSyncState {
  std::string value;
  bool operator==(const WriteSyncState&) const = default;
};
// POST /failsafe to every other member of the last known /failsafe map: did every one accept
// ("Accepted")? Success also makes this node the leader again (is_leader) from the moment the
// members were asked, as AcquireLock's success does.
struct CheckFailsafeTopology {
  bool operator==(const CheckFailsafeTopology&) const = default;
};
// Arm the watchdog: success?
struct ActivateWatchdog {
  bool operator==(const ActivateWatchdog&) const = default;
};

// ---- PostgreSQL / local actions ----
// Async initdb / custom bootstrap; standby_leader: clone from the remote primary instead.
struct Bootstrap {
  bool standby_leader = false;
  bool operator==(const Bootstrap&) const = default;
};
// Async create replica from `member` (empty: without a leader).
struct Clone {
  std::string member;
  bool operator==(const Clone&) const = default;
};
// Async post-bootstrap (users, post_bootstrap script).
struct PostBootstrap {
  bool operator==(const PostBootstrap&) const = default;
};
// Async promote.
struct Promote {
  bool operator==(const Promote&) const = default;
};
// task_name: the async action's name for a graceful demote ("switchover: demote"), empty
// for the default.
struct Demote {
  DemoteMode mode = DemoteMode::immediate;
  std::string task_name;
  Demote() = default;
  Demote(DemoteMode m, std::string name = {}) : mode(m), task_name(std::move(name)) {}  // NOLINT
  bool operator==(const Demote&) const = default;
};
// (Re)configure recovery to follow `member` (empty: none) as `role`; starts PostgreSQL when
// stopped (start_timeout > 0: how long it may take). remote: the standby cluster's remote
// primary. refresh_target: re-read the cluster first and recompute the target on the new view
// (right after a lost lock race, whose winner is not in the current view).
struct Follow {
  std::string member;
  bool remote = false;
  Role role = Role::replica;
  double start_timeout = 0;
  bool refresh_target = false;
  bool operator==(const Follow&) const = default;
};
// Async start as primary after a crash.
struct StartPrimary {
  double timeout = 0;
  bool operator==(const StartPrimary&) const = default;
};
// Async single-user crash recovery (§5).
struct CrashRecovery {
  bool operator==(const CrashRecovery&) const = default;
};
// Async pg_rewind from `member` (remote: the standby cluster's remote primary).
struct Rewind {
  std::string member;
  bool remote = false;
  bool operator==(const Rewind&) const = default;
};
// Async wipe + clone from `member` (the clone member).
struct Reinitialize {
  std::string member;
  bool operator==(const Reinitialize&) const = default;
};
// Async restart (scheduled restart).
struct Restart {
  bool operator==(const Restart&) const = default;
};
struct StopPostgres {
  StopKind kind = StopKind::fast;
  bool operator==(const StopPostgres&) const = default;
};
// Cancel the running async action (`what`: its name, for the log).
struct CancelAsync {
  std::string what;
  bool operator==(const CancelAsync&) const = default;
};
// Internal role; on_role_change: fire the on_role_change callback.
struct SetRole {
  Role role = Role::replica;
  bool on_role_change = false;
  bool operator==(const SetRole&) const = default;
};
// synchronous_standby_names ("*", or "" = remove).
struct SetSynchronousStandbyNames {
  std::string value;
  bool operator==(const SetSynchronousStandbyNames&) const = default;
};
// §6 ordering protocol for this cycle (primary only).
struct ManageSyncReplication {
  bool operator==(const ManageSyncReplication&) const = default;
};
// §3.11a.
struct UpdateHistory {
  bool operator==(const UpdateHistory&) const = default;
};
struct EnsureCheckpointAfterPromote {
  bool operator==(const EnsureCheckpointAfterPromote&) const = default;
};
// §10 (dcs_failed: only while failsafe is active and the DCS failed).
struct SyncReplicationSlots {
  bool dcs_failed = false;
  bool operator==(const SyncReplicationSlots&) const = default;
};
// Arm the diverged-LSN check (state CHECK) if rewind/reinit is allowed.
struct TriggerRewindCheck {
  bool operator==(const TriggerRewindCheck&) const = default;
};
struct ResetRewindState {
  bool operator==(const ResetRewindState&) const = default;
};
// Clear `recovering`, the crash-recovery timer and a successful rewind state.
struct ResetRecoveryState {
  bool operator==(const ResetRecoveryState&) const = default;
};
// Remember now as the time we released the lock after a pre_promote failure.
struct RememberPrePromoteRelease {
  bool operator==(const RememberPrePromoteRelease&) const = default;
};
// Move the data directory aside (rewind failure).
struct RemoveDataDirectory {
  bool operator==(const RemoveDataDirectory&) const = default;
};
// <data_dir>.failed (cancelled bootstrap).
struct RenameDataDirectory {
  bool operator==(const RenameDataDirectory&) const = default;
};
struct WatchdogKeepalive {
  bool operator==(const WatchdogKeepalive&) const = default;
};
struct WatchdogDisable {
  bool operator==(const WatchdogDisable&) const = default;
};
// is_leader bookkeeping.
struct SetIsLeader {
  bool value = false;
  bool operator==(const SetIsLeader&) const = default;
};
struct SetFailsafeActive {
  bool value = false;
  bool operator==(const SetFailsafeActive&) const = default;
};
// Leaving pause: re-read the major version, the system identifier and resync slots.
struct SanityChecks {
  bool operator==(const SanityChecks&) const = default;
};
struct DeleteScheduledRestart {
  bool operator==(const DeleteScheduledRestart&) const = default;
};
// The on_start callback (first start).
struct FireOnStart {
  bool operator==(const FireOnStart&) const = default;
};
// Clear the bootstrapping flag (bootstrap completed).
struct FinishBootstrap {
  bool operator==(const FinishBootstrap&) const = default;
};
struct Sleep {
  double seconds = 0;
  bool operator==(const Sleep&) const = default;
};
// Write one line to the agent's log when the plan reaches this step (a line Patroni logs on
// that path only, e.g. 'failed to update leader lock' on a failed refresh).
enum class LogLevel { info, warning, error };
struct Log {
  std::string line;
  LogLevel level = LogLevel::info;
  bool operator==(const Log&) const = default;
};
// Terminate the agent (exit 1); `reason` is logged at CRITICAL as it exits, unless empty (the
// plan logged its lines already).
struct FatalExit {
  std::string reason;
  bool operator==(const FatalExit&) const = default;
};

}  // namespace step

// The alternatives of Step, in this order (Action names them; decision.cpp checks the order).
#define CUSTOS_HA_STEPS(X)                                                          \
  X(none, None)                                                                     \
  X(touch_member, TouchMember)                                                      \
  X(write_initialize, WriteInitialize)                                              \
  X(write_config, WriteConfig)                                                      \
  X(reload_cluster, ReloadCluster)                                                  \
  X(release_lock, ReleaseLock)                                                      \
  X(clear_failover_key, ClearFailoverKey)                                           \
  X(rewrite_failover_key, RewriteFailoverKey)                                       \
  X(cancel_initialization, CancelInitialization)                                    \
  X(acquire_lock, AcquireLock)                                                      \
  X(update_lock, UpdateLock)                                                        \
  X(race_initialize, RaceInitialize)                                                \
  X(take_leader, TakeLeader)                                                        \
  X(write_sync_state, WriteSyncState)                                               \
  X(check_failsafe_topology, CheckFailsafeTopology)                                 \
  X(activate_watchdog, ActivateWatchdog)                                            \
  X(bootstrap, Bootstrap)                                                           \
  X(clone, Clone)                                                                   \
  X(post_bootstrap, PostBootstrap)                                                  \
  X(promote, Promote)                                                               \
  X(demote, Demote)                                                                 \
  X(follow, Follow)                                                                 \
  X(start_primary, StartPrimary)                                                    \
  X(crash_recovery, CrashRecovery)                                                  \
  X(rewind, Rewind)                                                                 \
  X(reinitialize, Reinitialize)                                                     \
  X(restart, Restart)                                                               \
  X(stop_postgres, StopPostgres)                                                    \
  X(cancel_async, CancelAsync)                                                      \
  X(set_role, SetRole)                                                              \
  X(set_synchronous_standby_names, SetSynchronousStandbyNames)                      \
  X(manage_sync_replication, ManageSyncReplication)                                 \
  X(update_history, UpdateHistory)                                                  \
  X(ensure_checkpoint_after_promote, EnsureCheckpointAfterPromote)                  \
  X(sync_replication_slots, SyncReplicationSlots)                                   \
  X(trigger_rewind_check, TriggerRewindCheck)                                       \
  X(reset_rewind_state, ResetRewindState)                                           \
  X(reset_recovery_state, ResetRecoveryState)                                       \
  X(remember_pre_promote_release, RememberPrePromoteRelease)                        \
  X(remove_data_directory, RemoveDataDirectory)                                     \
  X(rename_data_directory, RenameDataDirectory)                                     \
  X(watchdog_keepalive, WatchdogKeepalive)                                          \
  X(watchdog_disable, WatchdogDisable)                                              \
  X(set_is_leader, SetIsLeader)                                                     \
  X(failsafe_active, SetFailsafeActive)                                             \
  X(sanity_checks, SanityChecks)                                                    \
  X(delete_scheduled_restart, DeleteScheduledRestart)                               \
  X(fire_on_start, FireOnStart)                                                     \
  X(finish_bootstrap, FinishBootstrap)                                              \
  X(sleep, Sleep)                                                                   \
  X(log, Log)                                                                       \
  X(fatal_exit, FatalExit)

enum class Action {
#define CUSTOS_HA_ACTION_ENUM(name, type) name,
  CUSTOS_HA_STEPS(CUSTOS_HA_ACTION_ENUM)
#undef CUSTOS_HA_ACTION_ENUM
};
std::string_view to_string(Action action) noexcept;
// The steps that only decide the continuation (see header comment).
bool is_conditional(Action action) noexcept;
// The steps that start an asynchronous PostgreSQL action (bootstrap, clone, promote, ...).
bool is_async(Action action) noexcept;

using StepPayload =
    std::variant<step::None, step::TouchMember, step::WriteInitialize, step::WriteConfig, step::ReloadCluster,
                 step::ReleaseLock, step::ClearFailoverKey, step::RewriteFailoverKey, step::CancelInitialization,
                 step::AcquireLock, step::UpdateLock, step::RaceInitialize, step::TakeLeader, step::WriteSyncState,
                 step::CheckFailsafeTopology, step::ActivateWatchdog, step::Bootstrap, step::Clone,
                 step::PostBootstrap, step::Promote, step::Demote, step::Follow, step::StartPrimary,
                 step::CrashRecovery, step::Rewind, step::Reinitialize, step::Restart, step::StopPostgres,
                 step::CancelAsync, step::SetRole, step::SetSynchronousStandbyNames, step::ManageSyncReplication,
                 step::UpdateHistory, step::EnsureCheckpointAfterPromote, step::SyncReplicationSlots,
                 step::TriggerRewindCheck, step::ResetRewindState, step::ResetRecoveryState,
                 step::RememberPrePromoteRelease, step::RemoveDataDirectory, step::RenameDataDirectory,
                 step::WatchdogKeepalive, step::WatchdogDisable, step::SetIsLeader, step::SetFailsafeActive,
                 step::SanityChecks, step::DeleteScheduledRestart, step::FireOnStart, step::FinishBootstrap,
                 step::Sleep, step::Log, step::FatalExit>;

struct Step {
  StepPayload payload;

  Step() = default;
  // Any step struct converts to a Step.
  template <class T, class = std::enable_if_t<!std::is_same_v<std::decay_t<T>, Step>>>
  Step(T&& s) : payload(std::forward<T>(s)) {}  // NOLINT(google-explicit-constructor)

  Action action() const noexcept { return static_cast<Action>(payload.index()); }
  // The payload when it is a T, else nullptr.
  template <class T>
  const T* get() const noexcept {
    return std::get_if<T>(&payload);
  }
  bool operator==(const Step&) const = default;
};
// "demote(graceful)", "follow(node1, replica)", ...
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
  // Lines Patroni logs while it decides (race verdicts), in its words, to be logged before the
  // plan runs; set on the root only. `second`: WARNING, else INFO.
  std::vector<std::pair<std::string, bool>> log;
  // Root only: the verdict of the leader race when this node took part in one (no leader):
  // whether it may promote and why (health.h HealthVerdict::reason); nullopt without a race.
  std::optional<std::pair<bool, std::string>> race_verdict;

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
  // The first step of this level that is a T, else nullptr.
  template <class T>
  const T* find() const {
    for (const Step& s : steps)
      if (const T* p = s.get<T>()) return p;
    return nullptr;
  }
  std::string describe() const;

 private:
  std::vector<Decision> branches_;  // empty, or {on_success, on_failure}
};

}  // namespace custos::ha
