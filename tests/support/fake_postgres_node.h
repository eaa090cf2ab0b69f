// FakePostgresNode: a PostgresNode that simulates one PostgreSQL server in memory (data
// directory, postmaster, role, timeline, WAL position, recovery configuration) for executor and
// loop tests. Every call is recorded; a test can make an operation fail, throw, or block until
// released (to look at the agent while the operation is in flight), and can refuse to stop
// (a PostgreSQL that will not stop).
//
// Thread: any (one mutex; a blocked operation waits outside it).
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "postgres/postgres_node.h"

namespace custos::test {

class FakePostgresNode final : public postgres::PostgresNode {
 public:
  // The simulated server.
  struct Server {
    bool data_present = false;
    bool running = false;
    bool accepting = true;  // false: running but still starting (not accepting connections)
    bool in_recovery = false;
    int64_t timeline = 1;
    int64_t lsn = 0x3000000;
    std::string sysid = "7300000000000000001";
    std::optional<postgres::Upstream> upstream;  // what the recovery configuration follows
    bool recovery_signal = false;
    pid_t pid = 0;
    postgres::ClusterState control_state = postgres::ClusterState::ShutDown;
    bool wal_log_hints = true;
    // Not empty: the data directory cannot be read, with this error.
    std::string data_dir_error;
  };

  explicit FakePostgresNode(postgres::NodeSettings settings = {});

  // ---- test controls ----
  Server server() const;
  void set_server(const Server& s);
  // A bootstrapped, running primary (or replica following `upstream`).
  void make_primary(int64_t timeline = 1, int64_t lsn = 0x3000000);
  void make_replica(const std::optional<postgres::Upstream>& upstream, int64_t lsn = 0x3000000);
  // The postmaster dies (crash): not running, control state "in production" for a primary.
  void crash();
  // The next calls of `op` fail with `error` (until clear_failure).
  void fail(const std::string& op, std::string error = "simulated failure");
  void clear_failure(const std::string& op);
  // The next call of `op` throws std::runtime_error.
  void throw_once(const std::string& op);
  // Calls of `op` block until release(op).
  void block(const std::string& op);
  void release(const std::string& op);
  // True while a call of `op` waits in block().
  bool blocked_in(const std::string& op) const;
  // stop() leaves the server running and returns false.
  void refuse_stop(bool refuse);
  // Every call so far ("start(replica)", "stop(fast)", "move_data_dir_aside(...)", ...).
  std::vector<std::string> calls() const;
  bool called(const std::string& prefix) const;
  void clear_calls();
  // Called (outside the lock) at the start of every operation, with its name.
  void on_call(std::function<void(const std::string&)> hook);
  // Answers query(): the hook gets the SQL and returns the result (nullopt: the default empty
  // result). Called outside the lock.
  using QueryHook = std::function<std::optional<Result<postgres::QueryResult, std::string>>(const std::string& sql)>;
  void on_query(QueryHook hook);
  // move_data_dir_aside was called while the server ran (the real one refuses that; counted).
  int moves_while_running() const;

  // ---- PostgresNode ----
  void set_settings(postgres::NodeSettings settings) override;
  postgres::NodeSettings settings() const override;
  postgres::DataDirState data_dir_state(std::string* why_inaccessible = nullptr) const override;
  std::optional<postgres::ControlData> controldata() const override;
  postgres::ServerProcess process_state() override;
  std::optional<pid_t> postmaster_pid() override;
  bool recovery_signal_present() const override;
  bool can_rewind(const std::optional<postgres::ControlData>& controldata) const override;
  Result<postgres::ServerStatus, std::string> query_status(std::chrono::milliseconds timeout) override;
  Result<postgres::QueryResult, std::string> query(const std::string& sql, const postgres::Params& params,
                                                   std::chrono::milliseconds timeout) override;
  Result<std::vector<postgres::ReplicationConnection>, std::string> replication_connections(
      std::chrono::milliseconds timeout) override;
  std::vector<std::string> pending_restart_parameters() override;
  Status<std::string> checkpoint(std::chrono::milliseconds timeout) override;
  Status<std::string> rewrite_configuration() override;
  Status<std::string> write_primary_configuration() override;
  Status<std::string> start(bool replica, const std::optional<postgres::Upstream>& upstream,
                            const CancelToken& cancel = CancelToken()) override;
  postgres::ServerProcess wait_ready(std::chrono::milliseconds timeout, const CancelToken& cancel) override;
  bool stop(postgres::StopMode mode, std::chrono::milliseconds timeout) override;
  bool stop_now(std::chrono::milliseconds grace) override;
  bool shutdown_in_progress() override { return false; }
  bool reload() override;
  Result<postgres::FollowOutcome, std::string> follow(const std::optional<postgres::Upstream>& upstream) override;
  Status<std::string> bootstrap(const CancelToken& cancel) override;
  Status<std::string> post_bootstrap() override;
  std::optional<CloneMethods> last_clone_methods;  // of the last clone() call
  Status<std::string> clone(const std::optional<postgres::Upstream>& from, const CancelToken& cancel,
                            CloneMethods methods) override;
  Status<std::string> promote(std::chrono::milliseconds wait) override;
  Status<std::string> rewind(const postgres::Upstream& from, const CancelToken& cancel) override;
  Status<std::string> crash_recovery(const CancelToken& cancel) override;
  Result<std::string, std::string> move_data_dir_aside(const std::string& suffix) override;
  std::vector<std::string> sync_slots(const postgres::SlotSyncRequest& request) override;
  Status<std::string> copy_logical_slots(const postgres::Upstream& from, const std::vector<std::string>& names,
                                         const std::map<std::string, postgres::ExpectedSlot>& expected) override;
  void set_enforce_hot_standby_feedback(bool enforce) override;
  std::map<std::string, int64_t> slot_positions() override;
  // What the last sync_slots was asked for: each expected slot's LSN, and the whole request.
  std::map<std::string, int64_t> last_expected_slots() const;
  postgres::SlotSyncRequest last_slot_request() const;
  // The logical slots the next sync_slots reports missing on a replica (as if the primary had them).
  void set_slots_to_copy(std::vector<std::string> names);
  bool hot_standby_feedback_enforced() const;
  bool upstream_has_slot(const postgres::Upstream& upstream, const std::string& slot,
                         std::chrono::milliseconds timeout) override;
  postgres::DivergeVerdict check_diverged(const postgres::Upstream& leader,
                                          const std::optional<postgres::ServerStatus>& status) override;
  std::vector<postgres::TimelineSwitch> timeline_history(int64_t timeline) const override;

  // The verdict check_diverged returns.
  void set_diverge_verdict(postgres::DivergeVerdict v);

 private:
  // Records the call, runs the hook, honours throw/block; returns the configured failure.
  std::optional<std::string> enter(const std::string& op) const;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  postgres::NodeSettings settings_;
  Server server_;
  mutable std::vector<std::string> calls_;
  std::map<std::string, std::string> failures_;
  mutable std::set<std::string> throw_once_;
  mutable std::set<std::string> blocked_;
  mutable std::set<std::string> waiting_in_;
  bool refuse_stop_ = false;
  std::map<std::string, int64_t> last_expected_slots_;
  postgres::SlotSyncRequest last_slot_request_;
  std::vector<std::string> slots_to_copy_;
  bool hot_standby_feedback_ = false;
  int moves_while_running_ = 0;
  pid_t next_pid_ = 40000;
  postgres::DivergeVerdict verdict_ = postgres::DivergeVerdict::not_needed;
  std::function<void(const std::string&)> hook_;
  QueryHook query_hook_;
};

}  // namespace custos::test
