// Agent: the HA loop (ha.md §0-§2) of one custos node.
//
//   run():   adopt a running postmaster, then cycles until request_stop() or a fatal error.
//   cycle:   take the async outcome -> read the cluster -> apply the DCS `config` -> REST jobs
//            (mailbox) -> collect the local state -> [member statuses] -> ha::decide -> execute
//            -> publish the snapshot for the REST API -> save patroni.dynamic.json.
//   wait:    until the next scheduled run (previous + loop_wait, never drifting), a wake, or
//            the stop; replicas that follow a leader watch the leader key meanwhile.
//
// Failure policy: an exception escaping a cycle is unexpected. While this node may be a primary
// accepting writes (it holds the lock, or PostgreSQL runs as primary) it is fenced at once
// (PostgreSQL stopped, lock released) so it never outlives its lease; after kMaxFailures
// consecutive failing cycles run() returns 1 and the process exits. Independently of the loop,
// the lease fence (lease_fence.h) stops PostgreSQL when the lock holder's lease ends without a
// refresh, even while the loop is stuck.
//
// Thread: run()/run_cycle()/shutdown() on the loop thread (main's thread); request_stop(),
// request_reload(), run_in_loop() and the NodeStateSource methods from any thread. The loop's
// own state (NodeMemory, Executor) is touched only by the loop thread; REST threads reach it
// through run_in_loop(). Locks (docs/architecture.md): snapshot_mu_, mailbox_mu_,
// restart_mu_, each a leaf; replication_mu_, held across the walsender query of GET /patroni;
// status_queries_'s own lock, a leaf never held across its query.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <random>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/agent_services.h"
#include "agent/async_worker.h"
#include "agent/agent_metrics.h"
#include "agent/executor.h"
#include "agent/failsafe_state.h"
#include "agent/lease_fence.h"
#include "agent/loop_waker.h"
#include "agent/node_memory.h"
#include "agent/settings_store.h"
#include "agent/state_collector.h"
#include "api/handler.h"
#include "api/node_state_source.h"
#include "common/death_watcher.h"
#include "common/fresh_call_batch.h"
#include "common/thread_annotations.h"
#include "ha/decide.h"

namespace custos::agent {

class Agent : public api::NodeStateSource {
 public:
  // Consecutive failing cycles after which run() gives up.
  static constexpr int kMaxFailures = 3;
  // How long GET /patroni on a primary reuses its last walsender list.
  static constexpr std::chrono::milliseconds kReplicationAnswerMaxAge{1000};

  Agent(AgentServices services, SettingsStore& settings);
  ~Agent() override;
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Adopts a running postmaster (never restarting it) and runs cycles until request_stop() or a
  // fatal error. Returns 0 after a stop request, 1 after a fatal error or kMaxFailures failing
  // cycles. Call shutdown() afterwards.
  int run();
  // The start-up part of run() (tests that drive cycles themselves call it first).
  void start();
  // One HA cycle.
  // One HA cycle; returns its message. Throws for the unexpected (run_cycle_guarded handles it).
  std::string run_cycle();
  // run_cycle() under the failure policy; false when the agent must exit.
  bool run_cycle_guarded();
  // Graceful stop (ha.md §3.17): PostgreSQL stopped fast (unless paused), the lock released.
  void shutdown();

  void request_stop();
  void request_reload();

  // POST /failsafe (ha.md §7), from a REST thread: the primary that sent it is remembered as
  // the leader for ttl seconds. Refused with Patroni's reason ("Running as a leader") when this
  // node itself runs as the primary; nullopt when accepted.
  std::optional<std::string> accept_failsafe_leader(FailsafeState::Leader leader);
  // The lease fence (tests look at it).
  const LeaseFence& lease_fence() const { return fence_; }
  bool stopping() const { return waker_.stop_requested(); }

  // Runs `fn` on the loop thread at the start of the next cycle (waking the loop) and returns
  // its reply; nullopt when the loop did not take it within `timeout` or is stopping.
  std::optional<api::Response> run_in_loop(std::function<api::Response()> fn, std::chrono::milliseconds timeout)
      EXCLUDES(mailbox_mu_);
  // Waits for the outcome of a restart task started after `seq` (restart_sequence()).
  struct RestartOutcome {
    bool ok = false;
    std::string error;
  };
  uint64_t restart_sequence() const EXCLUDES(restart_mu_);
  std::optional<RestartOutcome> wait_restart_after(uint64_t seq, std::chrono::milliseconds timeout)
      EXCLUDES(restart_mu_);

  // Called on the HA loop thread after every cycle, failed ones included, with the cycle's
  // message (systemd's READY, WATCHDOG and STATUS notifications).
  void set_cycle_listener(std::function<void(const std::string&)> listener) { cycle_listener_ = std::move(listener); }
  // Called on the loop thread after the local configuration was reloaded (REST TLS, log level).
  void set_reload_listener(std::function<void(const EffectiveSettings&)> listener) {
    reload_listener_ = std::move(listener);
  }

  // The snapshot for the REST API, published now (loop thread; a cycle also publishes it).
  void publish_snapshot() EXCLUDES(snapshot_mu_);

  // ---- loop thread only (inside run_in_loop jobs, or tests between cycles) ----
  NodeMemory& memory() { return memory_; }
  Executor& executor() { return executor_; }
  AsyncWorker& worker() { return worker_; }
  SettingsStore& settings() { return settings_; }
  AgentServices& services() { return services_; }
  int consecutive_failures() const { return consecutive_failures_; }

  // ---- api::NodeStateSource ----
  api::NodeSnapshot snapshot() const override EXCLUDES(snapshot_mu_);
  std::optional<api::PgStatus> live_pg_status(std::chrono::milliseconds timeout) override
      EXCLUDES(snapshot_mu_, replication_mu_);
  dcs::DcsResult<dcs::Cluster> fresh_cluster() override;
  void wake_ha_loop() override { waker_.wake(); }
  nlohmann::json recent_events() const override { return events_.to_json(); }
  std::string own_metrics() const override { return services_.metrics ? services_.metrics->render() : std::string(); }
  // GET /patroni requests waiting for another's status query now (tests).
  int status_query_waiters() const { return status_queries_.waiting(); }

 private:
  void apply_dynamic_config(const dcs::Cluster& cluster);
  void reload_local_config();
  // Rewrites the configuration files and reloads PostgreSQL after a parameter change.
  void apply_pg_settings_change(const postgres::NodeSettings& before, bool fire_on_reload = true);
  bool needs_member_statuses(const dcs::Cluster& cluster) const;
  // A Citus coordinator's leader running as primary keeps pg_dist_node right (spec/citus.md §5).
  void maintain_citus_metadata(const dcs::Cluster& cluster, const EffectiveSettings& s);
  ha::MemberStatuses fetch_member_statuses(const dcs::Cluster& cluster);
  void drain_mailbox() EXCLUDES(mailbox_mu_);
  // The loop is gone: fails every queued job and refuses new ones.
  void close_mailbox() EXCLUDES(mailbox_mu_);
  void save_dynamic_cache();
  bool on_cycle_failure(const std::string& what);
  void record_restart(bool ok, const std::string& error) EXCLUDES(restart_mu_);
  void warn_unsupported_features(const EffectiveSettings& s);
  // The lease fence's action (its own thread): PostgreSQL stopped at once, the task cancelled.
  void on_lease_expired();

  AgentServices services_;
  SettingsStore& settings_;
  NodeMemory memory_;
  LoopWaker waker_;
  AsyncWorker worker_;
  DeathWatcher death_watcher_;
  FailsafeState failsafe_;
  LeaseFence fence_;
  StateCollector collector_;
  RecentEvents events_;   // before metrics_, which records into it
  AgentMetrics metrics_;  // before executor_, which records through it
  Executor executor_;
  std::function<void(const EffectiveSettings&)> reload_listener_;
  std::function<void(const std::string&)> cycle_listener_;
  std::atomic<bool> reload_requested_{false};
  int consecutive_failures_ = 0;
  // Random seeds of decide() (the clone source among several): seeded once, not a
  // std::random_device per cycle (an open of the entropy source every cycle).
  std::mt19937_64 seed_source_{std::random_device{}()};
  bool citus_primary_ = false;  // the last cycle ran the coordinator's maintainer
  bool citus_paused_ = false;   // ... in maintenance mode
  std::vector<std::string> unsupported_warned_;
  // The scheduled time of the current cycle (drift-free schedule).
  MonoTime scheduled_run_{};

  mutable Mutex snapshot_mu_;
  api::NodeSnapshot snapshot_ GUARDED_BY(snapshot_mu_);

  // A REST job for the loop: run on the loop thread, or failed (503) once the loop is gone.
  struct MailboxJob {
    std::function<void()> run;
    std::function<void()> fail;
  };
  Mutex mailbox_mu_;
  std::vector<MailboxJob> mailbox_ GUARDED_BY(mailbox_mu_);
  bool mailbox_closed_ GUARDED_BY(mailbox_mu_) = false;

  // GET /patroni's live status queries, shared by requests that arrive together.
  FreshCallBatch<Result<postgres::ServerStatus, std::string>> status_queries_;

  // The walsender list GET /patroni reports on a primary, queried on demand and reused for
  // kReplicationAnswerMaxAge: a health-check storm costs one pg_stat_replication query a second,
  // not one per request. Held across that query (bounded by the caller's timeout), so that
  // concurrent requests wait for the one in flight instead of queueing queries of their own.
  Mutex replication_mu_;
  std::optional<MonoTime> replication_sampled_ GUARDED_BY(replication_mu_);
  std::vector<postgres::ReplicationConnection> replication_ GUARDED_BY(replication_mu_);

  mutable Mutex restart_mu_;
  CondVar restart_cv_;
  uint64_t restart_seq_ GUARDED_BY(restart_mu_) = 0;
  RestartOutcome restart_outcome_ GUARDED_BY(restart_mu_);
  bool stopping_ GUARDED_BY(restart_mu_) = false;
};

}  // namespace custos::agent
