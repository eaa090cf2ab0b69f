// PgNode: this node's PostgreSQL as the agent drives it (config.md §6, ha.md §3-§5): data
// directory state, pg_controldata, the postmaster (start as primary or replica with the
// agent-written configuration, adopt, stop, reload), the per-cycle status query, and the long
// operations the executor runs in its worker thread: initdb bootstrap and post-bootstrap roles,
// pg_basebackup clone, promote, pg_rewind, single-user crash recovery. Also replication slots
// and the diverged-timeline check. Thread-safe: the loop and the worker may call it together.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/pg_settings.h"
#include "common/result.h"
#include "dcs/member.h"
#include "ha/local_state.h"
#include "postgres/controldata.h"
#include "postgres/pg_connection.h"
#include "postgres/postmaster.h"
#include "postgres/server_status.h"

namespace custos::agent {

// Where a replica streams from: a member's connection keywords (host, port).
struct Upstream {
  std::string name;
  std::string host;
  int port = 5432;
};

// Upstream from a member key (conn_url / conn_kwargs); nullopt without a usable address.
std::optional<Upstream> upstream_of(const dcs::Member& member);

// Result of the diverged-timeline check (ha.md §4).
enum class DivergeVerdict { need_rewind, not_needed, unknown };

class PgNode {
 public:
  explicit PgNode(PgSettings settings);
  ~PgNode();

  void set_settings(PgSettings settings);
  PgSettings settings() const;

  // ---- cheap local facts ----
  ha::DataDir data_dir_state() const;
  std::optional<postgres::ControlData> controldata() const;
  // Tracks (adopting an already running postmaster when needed) and reports the postmaster.
  ha::PgProcess process_state();
  std::optional<pid_t> postmaster_pid();
  // One status query (loop thread), bounded by `timeout`.
  Result<postgres::ServerStatus, std::string> query_status(std::chrono::milliseconds timeout);
  // A statement on the local server with the superuser connection of the calling thread's kind.
  Result<postgres::QueryResult, std::string> query(const std::string& sql, const postgres::Params& params = {},
                                                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // ---- configuration files ----
  // postgresql.conf (+ recovery section and standby.signal when `upstream_recovery`), pg_hba,
  // pg_ident, pgpass. `upstream` nullopt with replica = true: a replica without primary_conninfo.
  void write_configuration(bool replica, const std::optional<Upstream>& upstream);
  // Rewrites the files with the role and upstream last written (after a parameter change).
  void rewrite_configuration();
  // The recovery parameters last written (to compare with a new target).
  std::map<std::string, std::string> recovery_params(const std::optional<Upstream>& upstream) const;
  const std::map<std::string, std::string>& written_recovery() const { return written_recovery_; }
  bool written_replica() const { return written_replica_; }

  // ---- process control ----
  // Writes the configuration and spawns the postmaster (does not wait).
  Status<std::string> start(bool replica, const std::optional<Upstream>& upstream);
  // Waits until it accepts connections (Ready), dies, or the timeout passes.
  ha::PgProcess wait_ready(std::chrono::milliseconds timeout);
  // Stops it (mode), escalating to immediate then SIGKILL after the timeout. True once stopped.
  bool stop(postgres::StopMode mode, std::chrono::milliseconds timeout);
  bool reload();

  // ---- long operations (worker thread) ----
  Status<std::string> bootstrap();             // initdb + hba + start + wait ready
  Status<std::string> post_bootstrap();        // roles, grants, post_bootstrap script
  Status<std::string> clone(const Upstream& from);  // pg_basebackup (2 attempts) + start as replica
  Status<std::string> promote(std::chrono::milliseconds wait);  // pg_ctl promote + wait + CHECKPOINT
  Status<std::string> rewind(const Upstream& from);  // stop + pg_rewind + replica configuration
  Status<std::string> crash_recovery();        // postgres --single
  // Renames the data directory to <data_dir>.<suffix> (never deletes it). Returns the new path.
  Result<std::string, std::string> move_data_dir_aside(const std::string& suffix);

  // ---- replication slots / checks ----
  // Creates missing physical slots, drops inactive physical slots not in `expected`.
  void sync_physical_slots(const std::vector<std::string>& expected);
  // ha.md §4 over a connection to the leader.
  DivergeVerdict check_diverged(const Upstream& leader, bool running, const postgres::ServerStatus* status);
  // pg_rewind usable: use_pg_rewind, binary present, wal_log_hints or checksums.
  bool can_rewind() const;
  // Reads pg_wal/<TL>.history of the local data directory (for /history), empty if absent.
  std::string read_history_file(int64_t timeline) const;
  // SELECT name FROM pg_settings WHERE pending_restart.
  std::vector<std::string> pending_restart_parameters();

  // Cancels a long operation between its steps (best effort).
  void request_cancel() { cancel_ = true; }
  // Called when a new long operation starts.
  void reset_cancel() { cancel_ = false; }

 private:
  postgres::PostmasterOptions postmaster_options() const;
  void write_pgpass() const;
  std::string source_conninfo(const Upstream& from, const Credentials& creds, const std::string& dbname) const;

  mutable std::mutex settings_mu_;
  PgSettings settings_;
  mutable std::mutex mu_;  // postmaster_
  std::unique_ptr<postgres::Postmaster> postmaster_;
  std::mutex conn_mu_;
  std::unique_ptr<postgres::PgConnection> conn_;  // loop thread connection
  std::map<std::string, std::string> written_recovery_;
  bool written_replica_ = false;
  std::optional<Upstream> written_upstream_;
  bool written_any_ = false;
  std::atomic<bool> cancel_{false};
};

}  // namespace custos::agent
