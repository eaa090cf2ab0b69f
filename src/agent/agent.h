// Agent: the custos daemon (ha.md §0-§2). Owns the configuration, the DCS, this node's
// PostgreSQL (PgNode), the async worker and the REST server, and runs the HA loop:
//
//   get_cluster -> LocalState (one status query) -> [other members' GET /patroni when the
//   decision may need them] -> ha::decide -> execute the plan (executor.cpp) -> publish the
//   NodeSnapshot -> log the cycle message -> apply dynamic config changes -> wait.
//
// Waiting: replicas that follow a leader block on Dcs::watch (leader key) so they react within
// milliseconds to its disappearance; others sleep interruptibly. Postmaster death, async task
// completion, REST requests and signals wake the loop early. Scheduling does not drift:
// next_run = previous scheduled run + loop_wait.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "agent/async_worker.h"
#include "agent/pg_node.h"
#include "agent/sync_replication.h"
#include "api/node_state_source.h"
#include "config/config.h"
#include "dcs/dcs.h"
#include "ha/decide.h"
#include "net/http_client.h"
#include "postgres/postmaster.h"

namespace custos::api {
class RestServer;
class RequestHandler;
struct Request;
struct Response;
struct SwitchoverRequest;
}

namespace custos::agent {

double epoch_now();

class Agent : public api::NodeStateSource {
 public:
  // `config_path`: re-read on SIGHUP (empty: environment only).
  Agent(config::Config config, std::unique_ptr<dcs::Dcs> dcs, std::string config_path);
  ~Agent() override;

  // Duplicate-name check, REST server, then cycles until request_stop(); graceful shutdown.
  // Returns the process exit code (0 normal stop, 1 fatal).
  int run();
  // From any thread (the signal thread).
  void request_stop();
  void request_reload();

  // ---- api::NodeStateSource ----
  api::NodeSnapshot snapshot() const override;
  std::optional<api::PgStatus> live_pg_status(std::chrono::milliseconds timeout) override;
  dcs::DcsResult<dcs::Cluster> fresh_cluster() override;
  void wake_ha_loop() override { wake(); }

 private:
  // ---- loop (agent.cpp) ----
  void cycle();
  void wait_until(double deadline);
  void wake();
  void apply_async_outcome(const AsyncOutcome& outcome);
  ha::LocalState collect_local_state(double now);
  ha::MemberStatuses fetch_member_statuses(const dcs::Cluster& cluster);
  // GET /patroni of each member (name -> api_url) in parallel, 2 s each (rest-api.md §9); an
  // unanswered or failed request gives a status with reachable = false.
  ha::MemberStatuses query_members(const std::map<std::string, std::string>& urls);
  bool needs_member_statuses(const dcs::Cluster& cluster, const ha::LocalState& local) const;
  void run_rewind_check(const dcs::Cluster& cluster);
  void apply_dynamic_config(const dcs::Cluster& cluster);
  void reload_local_config();
  // Rewrites postgresql.conf / pg_hba and reloads PostgreSQL when the settings changed.
  void apply_pg_settings_change(const PgSettings& before);
  void publish_snapshot(double now);
  static void fill_pg_status(api::PgStatus& pg, const postgres::ServerStatus& status, double now);
  void arm_death_watcher();
  bool duplicate_member_running(const dcs::Cluster& cluster);
  void shutdown();
  bool holds_lock_in_view() const;

  // ---- executor (executor.cpp) ----
  enum class StepOutcome { success, failure, dcs_error };
  // Runs the plan; false when a DCS error aborted it (the caller re-decides with no cluster).
  bool execute(const ha::Decision& decision, std::string& message);
  StepOutcome run_step(const ha::Step& step);
  void touch_member();
  nlohmann::json member_json() const;
  void do_follow(const ha::Step& step);
  void do_demote(ha::DemoteMode mode);
  void do_update_history();
  void sync_slots();
  // PgSettings from `config` with the synchronous_standby_names that sync_ manages (ha.md §6).
  PgSettings pg_settings_for(const config::Config& config) const;
  // Rewrites postgresql.conf with the managed synchronous_standby_names and reloads if running.
  void apply_synchronous_standby_names();
  bool start_async(ha::AsyncKind kind, std::string name, std::function<std::string()> fn);
  std::optional<int64_t> last_lsn_for_status() const;
  void set_pg_state(const std::string& state);
  void arm_rewind_check();
  // Starts the async restart (scheduled restart or POST /restart); `timeout` = seconds to wait
  // for the start (default pg_ctl_timeout). False when another action runs.
  bool start_restart(std::optional<int> timeout);

  // ---- REST write endpoints (operations.cpp) ----
  void register_operations(api::RequestHandler& handler);
  api::Response api_switchover(const api::Request& request, bool failover_endpoint, double now);
  api::Response wait_for_switchover(const std::optional<std::string>& old_leader, const api::SwitchoverRequest& r);
  std::optional<std::string> switchover_infeasible(const dcs::Cluster& cluster, const api::SwitchoverRequest& r);
  api::Response api_delete_switchover();
  api::Response api_restart(const api::Request& request, double now);
  api::Response api_delete_restart();
  api::Response api_reinitialize(const api::Request& request);
  api::Response api_config(const api::Request& request, bool patch);
  void record_restart_outcome(bool ok, const std::string& error);
  std::optional<nlohmann::json> scheduled_restart_json() const;
  // Runs `fn` on the loop thread at the start of the next cycle (waking the loop) and returns
  // its reply; nullopt when the loop did not take it within `timeout`.
  std::optional<api::Response> run_in_loop(std::function<api::Response()> fn, std::chrono::milliseconds timeout);
  // Loop thread: runs what REST threads posted.
  void drain_mailbox();

  // Immutable after construction / loop-thread-only state.
  std::string config_path_;
  std::unique_ptr<dcs::Dcs> dcs_;
  mutable std::mutex config_mu_;
  config::Config config_;
  ha::HaSettings settings_;
  std::unique_ptr<PgNode> pg_;
  SyncReplication sync_;
  bool leaving_sync_ = false;  // publish the `nosync` tag (ha.md §6.4)
  std::unique_ptr<AsyncWorker> worker_;
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<api::RestServer> rest_;
  std::unique_ptr<postgres::DeathWatcher> death_watcher_;
  std::optional<pid_t> watched_pid_;

  // Cross-cycle memory (LocalState bookkeeping of the agent).
  ha::LocalState local_;
  std::optional<postgres::ServerStatus> status_;
  // Last pg_controldata output and the postmaster it was read under (collect_local_state).
  std::optional<postgres::ControlData> controldata_;
  std::optional<pid_t> controldata_pid_;
  std::optional<dcs::Cluster> view_;      // the cluster the executor works on (reload_cluster)
  std::optional<dcs::Cluster> old_cluster_;
  std::optional<dcs::Version> applied_config_version_;
  std::vector<std::string> unsupported_warned_;  // last unsupported_features() logged
  void warn_unsupported_features();
  std::optional<dcs::Version> saved_config_version_;
  std::string pg_state_ = "stopped";
  double pg_state_since_ = 0;
  bool checkpoint_after_promote_pending_ = false;
  bool failsafe_active_ = false;
  double scheduled_run_ = 0;
  std::optional<std::string> fatal_;
  std::vector<std::string> pending_restart_params_;

  // Snapshot for the REST server.
  mutable std::mutex snap_mu_;
  api::NodeSnapshot snapshot_;

  // REST requests to run on the loop thread (run_in_loop).
  std::mutex mailbox_mu_;
  std::vector<std::function<void()>> mailbox_;
  // Outcome of the last restart task, for POST /restart waiting on it.
  std::mutex restart_mu_;
  std::condition_variable restart_cv_;
  uint64_t restart_seq_ = 0;
  bool restart_ok_ = false;
  std::string restart_error_;

  // Wake-up / stop.
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  bool woken_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<bool> reload_{false};
  bool cycle_again_ = false;  // run the next cycle at once (e.g. right after bootstrap)
};

}  // namespace custos::agent
