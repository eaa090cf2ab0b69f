// LocalPostgres: the real PostgresNode, this machine's PostgreSQL 15 data directory and
// postmaster (see postgres_node.h for the contract). The SQL, the programs and the files live in
// their own files of this folder (roles, slots, timeline_check, rewind, crash_recovery,
// config_files, initdb, basebackup); this class puts them together under its locks.
//
// Locks: control_mu_ serializes starts and stops (held for a whole stop, waits included, so
// that a start can never slip in between); postmaster_mu_ guards the tracked postmaster and is
// held only for short state changes (status calls never wait behind a stop); conn_mu_ guards the
// shared superuser connection, held for one short statement (long ones use a connection of
// their own); files_mu_ guards what was last written to the configuration files, held while
// writing them; settings_mu_ the settings. Order: control_mu_ before files_mu_ and
// postmaster_mu_; settings_mu_ is taken (briefly) under any of them; no lock is held while
// waiting on another thread.
#pragma once

#include <memory>
#include <optional>

#include "common/process_runner.h"
#include "common/thread_annotations.h"
#include "postgres/postgres_node.h"
#include "postgres/postmaster.h"
#include "postgres/slot_sync_schedule.h"

namespace custos::postgres {

class LocalPostgres final : public PostgresNode {
 public:
  LocalPostgres(NodeSettings settings, ProcessRunner& runner);
  ~LocalPostgres() override;  // leaves PostgreSQL running

  void set_settings(NodeSettings settings) override EXCLUDES(settings_mu_);
  NodeSettings settings() const override EXCLUDES(settings_mu_);
  // The settings in force without copying them (what every internal call reads).
  std::shared_ptr<const NodeSettings> current_settings() const EXCLUDES(settings_mu_);

  DataDirState data_dir_state(std::string* why_inaccessible = nullptr) const override;
  std::optional<ControlData> controldata() const override;
  ServerProcess process_state() override EXCLUDES(postmaster_mu_);
  std::optional<pid_t> postmaster_pid() override EXCLUDES(postmaster_mu_);
  bool recovery_signal_present() const override;
  bool can_rewind(const std::optional<ControlData>& controldata) const override;

  Result<ServerStatus, std::string> query_status(std::chrono::milliseconds timeout) override EXCLUDES(conn_mu_);
  Result<QueryResult, std::string> query(const std::string& sql, const Params& params,
                                         std::chrono::milliseconds timeout) override EXCLUDES(conn_mu_);
  Result<std::vector<ReplicationConnection>, std::string> replication_connections(
      std::chrono::milliseconds timeout) override;
  std::vector<std::string> pending_restart_parameters() override;
  Status<std::string> checkpoint(std::chrono::milliseconds timeout) override;

  Status<std::string> rewrite_configuration() override EXCLUDES(files_mu_);
  Status<std::string> write_primary_configuration() override EXCLUDES(files_mu_);

  Status<std::string> start(bool replica, const std::optional<Upstream>& upstream,
                            const CancelToken& cancel = CancelToken()) override EXCLUDES(control_mu_);
  ServerProcess wait_ready(std::chrono::milliseconds timeout, const CancelToken& cancel) override;
  bool stop(StopMode mode, std::chrono::milliseconds timeout) override EXCLUDES(control_mu_, postmaster_mu_);
  bool stop_now(std::chrono::milliseconds grace) override EXCLUDES(postmaster_mu_);
  bool shutdown_in_progress() override EXCLUDES(postmaster_mu_);
  bool reload() override EXCLUDES(postmaster_mu_);
  Result<FollowOutcome, std::string> follow(const std::optional<Upstream>& upstream) override EXCLUDES(files_mu_);

  Status<std::string> bootstrap(const CancelToken& cancel) override;
  Status<std::string> post_bootstrap() override;
  Status<std::string> clone(const std::optional<Upstream>& from, const CancelToken& cancel,
                            CloneMethods which) override;
  Status<std::string> promote(std::chrono::milliseconds wait) override;
  Status<std::string> rewind(const Upstream& from, const CancelToken& cancel) override;
  Status<std::string> crash_recovery(const CancelToken& cancel) override;
  Result<std::string, std::string> move_data_dir_aside(const std::string& suffix) override;

  std::vector<std::string> sync_slots(const SlotSyncRequest& request) override EXCLUDES(slots_mu_);
  Status<std::string> copy_logical_slots(const Upstream& from, const std::vector<std::string>& names,
                                         const std::map<std::string, ExpectedSlot>& expected) override
      EXCLUDES(control_mu_, files_mu_, conn_mu_, postmaster_mu_);
  void set_enforce_hot_standby_feedback(bool enforce) override EXCLUDES(files_mu_);
  std::map<std::string, int64_t> slot_positions() override EXCLUDES(conn_mu_);
  bool upstream_has_slot(const Upstream& upstream, const std::string& slot,
                         std::chrono::milliseconds timeout) override;
  DivergeVerdict check_diverged(const Upstream& leader, const std::optional<ServerStatus>& status) override;
  std::vector<TimelineSwitch> timeline_history(int64_t timeline) const override;

 private:
  // Signals the postmaster in `mode`, escalating to SIGQUIT and SIGKILL of it and its children,
  // until it is gone (stop and stop_now; the caller decides which lock it holds).
  bool signal_postmaster_until_gone(StopMode mode, std::chrono::milliseconds timeout) EXCLUDES(postmaster_mu_);
  // The recovery GUCs for following `upstream` (none: no primary_conninfo).
  std::map<std::string, std::string> recovery_params(const NodeSettings& s,
                                                     const std::optional<Upstream>& upstream) const;
  // Writes postgresql.conf (+ recovery section and standby.signal for a replica), pg_hba,
  // pg_ident and the pgpass file, and remembers what was written.
  Status<std::string> write_configuration(bool replica, const std::optional<Upstream>& upstream)
      EXCLUDES(files_mu_);
  Status<std::string> write_configuration_locked(const NodeSettings& s, bool replica,
                                                 const std::optional<Upstream>& upstream) REQUIRES(files_mu_);
  Status<std::string> write_pgpass(const NodeSettings& s) const;
  // After a custom bootstrap script: postgresql.conf, pg_hba (+ bootstrap.pg_hba), pg_ident, and
  // recovery as the method says: `recovery` written as given (recovery.signal, or standby.signal
  // with standby_mode) / what the tool left kept (keep_existing) / none.
  Status<std::string> write_restored_configuration(const NodeSettings& s,
                                                   const std::optional<std::map<std::string, std::string>>& recovery,
                                                   bool keep_existing) EXCLUDES(files_mu_);
  // Starts the postmaster on the configuration as written (adopts one already running).
  Status<std::string> start_postmaster(const std::string& as_what) REQUIRES(control_mu_) EXCLUDES(postmaster_mu_);
  // bootstrap.<method>: the script with Patroni's parameters, then the configuration and a start
  // in recovery (PostgreSQL promotes itself at the end of it).
  Status<std::string> custom_bootstrap(const NodeSettings& s, const CancelToken& cancel);
  // pg_basebackup from `from` into the data directory (two attempts, 5 s apart).
  Status<std::string> basebackup(const NodeSettings& s, const Upstream& from, const CancelToken& cancel);
  // One custom replica method (Patroni's create_replica for a non-basebackup method).
  Status<std::string> run_replica_method(const NodeSettings& s, const std::string& method,
                                         const std::optional<Upstream>& from, const CancelToken& cancel);
  // Patroni's DSN (format_dsn) to reach `from` as `creds`, without the password; dbname empty:
  // postgresql.database.
  std::string source_conninfo(const Upstream& from, const Credentials& creds, const std::string& dbname) const;
  // The agent's own connection to `to` as the rewind user, password included (diverge checks,
  // slot checks, copying logical slots).
  std::string rewind_conninfo(const NodeSettings& s, const Upstream& to) const;
  PostmasterOptions postmaster_options(const NodeSettings& s) const;
  // The connection shared by short statements (status, slots, pending restart).
  PgConnection& shared_connection(std::chrono::milliseconds timeout) REQUIRES(conn_mu_);

  ProcessRunner& runner_;

  Mutex control_mu_ ACQUIRED_BEFORE(files_mu_, postmaster_mu_);

  mutable Mutex settings_mu_;
  // Replaced whole by set_settings, never changed in place: readers keep the pointer.
  std::shared_ptr<const NodeSettings> settings_ GUARDED_BY(settings_mu_);

  Mutex postmaster_mu_;
  Postmaster postmaster_ GUARDED_BY(postmaster_mu_);
  // The postmaster a fast or immediate shutdown was signalled to (0: none).
  pid_t shutdown_signalled_ GUARDED_BY(postmaster_mu_) = 0;

  Mutex conn_mu_;
  std::unique_ptr<PgConnection> conn_ GUARDED_BY(conn_mu_);

  Mutex files_mu_;
  bool written_any_ GUARDED_BY(files_mu_) = false;
  bool written_replica_ GUARDED_BY(files_mu_) = false;
  std::optional<Upstream> written_upstream_ GUARDED_BY(files_mu_);
  std::map<std::string, std::string> written_recovery_ GUARDED_BY(files_mu_);
  // post_bootstrap of a Citus node after initdb (spec/citus.md §4): the database and the citus
  // extension, pg_dist_authinfo for the superuser, the coordinator's own host.
  Status<std::string> bootstrap_citus(const NodeSettings& s);
  // A custom bootstrap ran: post_bootstrap turns its recovery configuration into a primary's.
  bool custom_bootstrap_ran_ GUARDED_BY(files_mu_) = false;
  // hot_standby_feedback = on in a replica's configuration (permanent logical slots).
  bool enforce_hot_standby_feedback_ GUARDED_BY(files_mu_) = false;
  // follow() wrote new recovery settings but the reload failed: the next follow reloads again.
  bool follow_reload_pending_ GUARDED_BY(files_mu_) = false;
  // When each logical slot was last copied from the primary (one attempt a minute at most).
  std::map<std::string, std::chrono::steady_clock::time_point> slot_copy_attempts_ GUARDED_BY(files_mu_);

  // sync_slots' own connections, one per database (never the shared status connection).
  Mutex slots_mu_;
  std::map<std::string, std::unique_ptr<PgConnection>> slot_conns_ GUARDED_BY(slots_mu_);
  SlotSyncSchedule slot_schedule_ GUARDED_BY(slots_mu_);  // whether the cycle's reconciliation may be skipped
};

}  // namespace custos::postgres
