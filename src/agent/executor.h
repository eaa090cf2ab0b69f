// Executor: carries out the steps of an ha::Decision (decision.h contract) through the agent's
// interfaces only (Dcs, PostgresNode, Clock, Watchdog, Hooks). Bookkeeping steps are applied by
// ha::apply_bookkeeping; conditional steps pick the branch; a DCS error while refreshing the lock
// aborts the plan so that the loop decides again as if the DCS were unreachable. Long PostgreSQL
// actions run on the AsyncWorker with a CancelToken of their own.
//
// Thread: HA loop only (REST operations reach it through the loop's mailbox). Blocking: DCS
// calls (retry_timeout each), short PostgreSQL statements and stops (pg_ctl_timeout), the sleep
// step (until its time or the stop). Errors: a failing step is logged and, for a conditional
// step, takes the failure branch; an exception escaping a step propagates to the loop, whose
// failure policy fences a primary (agent.h).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "agent/agent_services.h"
#include "agent/async_worker.h"
#include "agent/failsafe_state.h"
#include "agent/lease_fence.h"
#include "agent/loop_waker.h"
#include "agent/node_memory.h"
#include "agent/settings_store.h"
#include "agent/state_collector.h"
#include "agent/sync_replication.h"
#include "common/death_watcher.h"
#include "ha/decision.h"
#include "mpp/citus_event.h"
#include "nlohmann/json.hpp"

namespace custos::agent {

struct ExecutionResult {
  std::string message;  // the cycle message of the leaf reached
  bool dcs_error = false;  // a lock refresh hit a DCS error: decide again without the cluster
};

// How long a primary's stop may take before it is made immediate: primary_stop_timeout in
// synchronous mode when > 0 (Patroni), else pg_ctl_timeout.
std::chrono::milliseconds primary_stop_timeout(const EffectiveSettings& s);

class AgentMetrics;

class Executor {
 public:
  Executor(AgentServices& services, SettingsStore& settings, NodeMemory& memory, AsyncWorker& worker,
           LoopWaker& waker, StateCollector& collector, DeathWatcher& death_watcher, FailsafeState& failsafe,
           LeaseFence& fence, AgentMetrics& metrics);

  ExecutionResult execute(const ha::Decision& decision);

  // The end of an async task: LocalState bookkeeping, then what it still asks for.
  void apply_async_result(const ha::AsyncResult& result);
  // Writes our member key now; false (logged) when the DCS refused or was unreachable.
  bool touch_member();
  nlohmann::json member_value() const;
  // Starts an async restart (scheduled restart or POST /restart); `timeout` = seconds the start
  // may take (default pg_ctl_timeout). False when another action runs.
  bool start_restart(std::optional<int> timeout);
  // Starts an async reinitialize from `member` (POST /reinitialize, diverged timelines).
  bool start_reinitialize(const std::string& member, bool from_leader);
  // Stops accepting writes right now (the failure policy): PostgreSQL is stopped (immediate,
  // then SIGKILL) and the leader key released. True when no postmaster runs any more.
  bool fence(const std::string& why);
  // Watches the current postmaster (if any) for its death.
  void watch_postmaster();
  // A callback at one of Patroni's moments: never while bootstrapping; on_start, on_stop,
  // on_restart and on_role_change mark that a callback ran (Patroni's cb_called).
  void fire_callback(CallbackAction action, ha::Role role);
  // Arms the lease fence with this node's lease (last lock write or failsafe confirmation +
  // ttl - margin), keeps a pending deadline while PostgreSQL may still accept writes without a
  // lease, and disarms it otherwise (no lease and no writable PostgreSQL, pause, standby cluster).
  void refresh_fence();
  // A lock write started at `at` (monotonic seconds) succeeded: is_leader and the fence's lease.
  void note_lease(double at);
  // The failsafe map the leader writes with its lock refresh: every member with an api_url, and
  // this node (ha.md §7, dcs.md §2.9).
  nlohmann::json failsafe_map() const;
  // Called with every outcome of a restart task (POST /restart waits on it).
  // Publishes the node's state for the REST API at once (loop thread). Called before the lock
  // is released after an immediate demotion: the other members, woken by the release, ask this
  // node's /patroni while they race and must not find the last cycle's "running primary".
  void set_state_publisher(std::function<void()> publisher) { state_publisher_ = std::move(publisher); }
  void set_restart_listener(std::function<void(bool ok, const std::string& error)> listener) {
    restart_listener_ = std::move(listener);
  }

  // Sends `event` to the Citus coordinator when this node is a Citus worker (a no-op
  // otherwise); made on the loop thread, callable from the async task.
  std::function<void()> citus_notifier(mpp::CitusEvent event) const;

 private:
  enum class Outcome { success, failure, dcs_error };
  Outcome run(const ha::Step& step);

  // One overload per step type that is not pure bookkeeping.
  Outcome run(const ha::step::None&) { return Outcome::success; }
  Outcome run(const ha::step::TouchMember&);
  Outcome run(const ha::step::WriteInitialize&);
  Outcome run(const ha::step::WriteConfig&);
  Outcome run(const ha::step::ReloadCluster&);
  Outcome run(const ha::step::ReleaseLock&);
  Outcome run(const ha::step::ClearFailoverKey&);
  Outcome run(const ha::step::RewriteFailoverKey&);
  Outcome run(const ha::step::CancelInitialization&);
  Outcome run(const ha::step::AcquireLock&);
  Outcome run(const ha::step::UpdateLock&);
  Outcome run(const ha::step::RaceInitialize&);
  Outcome run(const ha::step::TakeLeader&);
  Outcome run(const ha::step::WriteSyncState&);
  Outcome run(const ha::step::CheckFailsafeTopology&);
  Outcome run(const ha::step::ActivateWatchdog&);
  Outcome run(const ha::step::Bootstrap&);
  Outcome run(const ha::step::Clone&);
  Outcome run(const ha::step::PostBootstrap&);
  Outcome run(const ha::step::Promote&);
  Outcome run(const ha::step::Demote&);
  Outcome run(const ha::step::Follow&);
  Outcome run(const ha::step::StartPrimary&);
  Outcome run(const ha::step::CrashRecovery&);
  Outcome run(const ha::step::Rewind&);
  Outcome run(const ha::step::Reinitialize&);
  Outcome run(const ha::step::Restart&);
  Outcome run(const ha::step::StopPostgres&);
  Outcome run(const ha::step::CancelAsync&);
  Outcome run(const ha::step::SetSynchronousStandbyNames&);
  Outcome run(const ha::step::ManageSyncReplication&);
  Outcome run(const ha::step::UpdateHistory&);
  Outcome run(const ha::step::EnsureCheckpointAfterPromote&);
  Outcome run(const ha::step::SyncReplicationSlots&);
  Outcome run(const ha::step::RemoveDataDirectory&);
  Outcome run(const ha::step::RenameDataDirectory&);
  Outcome run(const ha::step::WatchdogKeepalive&);
  Outcome run(const ha::step::WatchdogDisable&);
  Outcome run(const ha::step::SanityChecks&);
  Outcome run(const ha::step::Sleep&);
  Outcome run(const ha::step::Log&);
  Outcome run(const ha::step::FatalExit&);
  // Bookkeeping steps (ha::apply_bookkeeping), plus the callbacks some of them fire.
  template <class T>
  Outcome run(const T& bookkeeping);

  // The remote primary of an active standby cluster (a host, or only its archive); nullopt
  // outside a standby cluster.
  std::optional<postgres::Upstream> remote_upstream() const;
  bool start_async(ha::AsyncKind kind, std::string name, AsyncWorker::Task fn);
  // Starts PostgreSQL as a replica of `upstream` and waits up to wait_seconds for it to accept
  // connections, as the async action `kind` (state `starting` meanwhile).
  // `on_ready`: the callback fired once it accepts connections (none: fired already, or none).
  void start_replica_async(ha::AsyncKind kind, const std::optional<postgres::Upstream>& upstream, double wait_seconds,
                           std::optional<CallbackAction> on_ready = CallbackAction::on_start);
  void demote(ha::DemoteMode mode, const std::string& task_name = "");
  std::optional<int64_t> last_lsn_for_status() const;
  // The managed synchronous_standby_names changed: rewrite postgresql.conf and reload.
  void apply_synchronous_standby_names(const std::optional<std::string>& value);
  void sync_slots();
  // The slots this node should have as a primary (or as a replica), each with the position the
  // cluster published for it (permanent slots; 0 = none), in `cluster` (default: this cycle's
  // view), with ignore_slots and pause applied; nullopt when slots are not used or PostgreSQL
  // does not run.
  std::optional<postgres::SlotSyncRequest> slot_request(bool as_primary, const dcs::Cluster* cluster = nullptr) const;
  // Lock holder, member_slots_ttl > 0: the /status retain_slots list after this cycle (the
  // member slots among `published`, and its own, seen now; those unseen for `ttl` s dropped).
  std::vector<std::string> retained_slot_names(const std::map<std::string, int64_t>& published, double ttl);
  // This node's slots and their positions with its own slot name at its last LSN (Patroni:
  // {**slots(), my_slot: last_operation}); the slots are read only when permanent slots are
  // configured, or always when !only_with_permanent_slots.
  std::map<std::string, int64_t> own_slot_positions(bool only_with_permanent_slots) const;
  double now() const { return services_.clock.now_seconds(); }
  std::shared_ptr<const EffectiveSettings> settings() const { return settings_.current(); }
  void note_role_change(ha::Role from, ha::Role to);  // logs and counts a change; nothing when equal

  // Patroni's change_role of follow(): a node that was primary (or demoted), or that moves
  // between replica and standby_leader, gets on_role_change instead of on_start/on_restart/
  // on_reload, once a callback ran since the agent started.
  bool callback_role_change(ha::Role from, ha::Role to) const;

  AgentServices& services_;
  SettingsStore& settings_;
  NodeMemory& memory_;
  AsyncWorker& worker_;
  LoopWaker& waker_;
  StateCollector& collector_;
  DeathWatcher& death_watcher_;
  SyncReplication sync_;
  FailsafeState& failsafe_;
  LeaseFence& fence_;
  AgentMetrics& metrics_;
  std::function<void(bool, const std::string&)> restart_listener_;
  std::function<void()> state_publisher_;
};

}  // namespace custos::agent
