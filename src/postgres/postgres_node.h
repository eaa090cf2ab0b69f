// PostgresNode: everything the agent does to this node's PostgreSQL (config.md §6, ha.md §3-§5,
// §10), behind one interface. LocalPostgres (postgres/local_postgres.h) is the real one; tests
// use a fake (tests/support/fake_postgres_node.h).
//
// Thread: every method may be called from any thread; the HA loop, the async worker and REST
// threads call it concurrently. Cheap facts (data_dir_state, process_state, postmaster_pid,
// settings) never wait behind a long operation. Blocking: queries until their timeout; the long
// operations (bootstrap, clone, promote, rewind, crash_recovery, stop) until done, their timeout,
// or their CancelToken. Errors: typed results (text naming what failed); a failure of PostgreSQL
// or of one of its programs is an error result, never an exception.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/cancel_token.h"
#include "common/result.h"
#include "postgres/controldata.h"
#include "postgres/node_settings.h"
#include "postgres/pg_connection.h"
#include "postgres/postmaster.h"
#include "postgres/replication_status.h"
#include "postgres/server_status.h"
#include "postgres/slots.h"
#include "postgres/timeline_check.h"

namespace custos::postgres {

// Where a replica streams from: a member's host and port.
struct Upstream {
  std::string name;
  std::string host;  // "" with `remote`: no streaming, the archive only (restore_command)
  int port = 5432;
  // The remote primary of a standby cluster (NodeSettings::standby_cluster): its slot,
  // restore_command, archive_cleanup_command and recovery_min_apply_delay apply, and a standby
  // leader is built with standby_cluster.create_replica_methods.
  bool remote = false;
  // A standby (a standby leader): its timeline is read from the newest history file it has,
  // as it runs no WAL of its own (the divergence check).
  bool standby = false;
  bool operator==(const Upstream&) const = default;
};

// The data directory as found on disk.
enum class DataDirState { present, empty, inaccessible };

// The postmaster as seen from outside: `starting` = alive but not accepting connections yet.
enum class ServerProcess { stopped, starting, running };

// How follow() left a running server.
enum class FollowOutcome {
  unchanged,     // it already followed that upstream
  reconfigured,  // primary_conninfo / slot rewritten and the configuration reloaded
};

class PostgresNode {
 public:
  virtual ~PostgresNode() = default;

  virtual void set_settings(NodeSettings settings) = 0;
  virtual NodeSettings settings() const = 0;

  // ---- cheap local facts ----
  // why_inaccessible (when given) receives, for `inaccessible`, the error as Python words it
  // ("[Errno 13] Permission denied: '/data'"), which the cycle message names.
  virtual DataDirState data_dir_state(std::string* why_inaccessible = nullptr) const = 0;
  // pg_controldata of the data directory (nullopt: no pg_control, or pg_controldata failed).
  virtual std::optional<ControlData> controldata() const = 0;
  // Tracks the postmaster (adopting one already running for the data directory).
  virtual ServerProcess process_state() = 0;
  virtual std::optional<pid_t> postmaster_pid() = 0;
  // standby.signal or recovery.signal exists.
  virtual bool recovery_signal_present() const = 0;
  // pg_rewind can run here: use_pg_rewind, the binary works, and `controldata` shows
  // wal_log_hints on or data checksums.
  virtual bool can_rewind(const std::optional<ControlData>& controldata) const = 0;

  // ---- queries on the local server (superuser connection) ----
  virtual Result<ServerStatus, std::string> query_status(std::chrono::milliseconds timeout) = 0;
  virtual Result<QueryResult, std::string> query(const std::string& sql, const Params& params,
                                                 std::chrono::milliseconds timeout) = 0;
  // pg_stat_replication, for the REST API (primary only).
  virtual Result<std::vector<ReplicationConnection>, std::string> replication_connections(
      std::chrono::milliseconds timeout) = 0;
  // SELECT name FROM pg_settings WHERE pending_restart.
  virtual std::vector<std::string> pending_restart_parameters() = 0;
  // CHECKPOINT (before a graceful demote).
  virtual Status<std::string> checkpoint(std::chrono::milliseconds timeout) = 0;

  // ---- configuration files ----
  // Rewrites postgresql.conf / pg_hba / pg_ident with the current settings, keeping the role
  // and upstream last written (after a parameter change). No-op before anything was written.
  virtual Status<std::string> rewrite_configuration() = 0;
  // Rewrites the configuration of a primary (no recovery section, no standby.signal).
  virtual Status<std::string> write_primary_configuration() = 0;

  // ---- process control ----
  // Writes the configuration (replica: recovery section + standby.signal following `upstream`,
  // none = no primary_conninfo) and spawns the postmaster; does not wait. Adopts a running one.
  // Refused once `cancel` is cancelled: a task that was cancelled (fencing, a lost lock) never
  // starts PostgreSQL again behind the loop's back. Starts and stops never interleave.
  virtual Status<std::string> start(bool replica, const std::optional<Upstream>& upstream,
                                    const CancelToken& cancel = CancelToken()) = 0;
  // Waits until it accepts connections, dies, the timeout passes, or `cancel`.
  virtual ServerProcess wait_ready(std::chrono::milliseconds timeout, const CancelToken& cancel) = 0;
  // Stops it in `mode`; after `timeout` escalates to immediate, then SIGKILL of the postmaster
  // and its children. True once no postmaster runs for the data directory; false = one still
  // runs (never assume it stopped then: its data directory is in use).
  virtual bool stop(StopMode mode, std::chrono::milliseconds timeout) = 0;
  // The fence: an immediate shutdown (SIGQUIT) right now, from any thread, never waiting behind
  // a start, a stop or a long operation in progress; SIGKILL of the postmaster and its children
  // when it is still alive after `grace`. True once no postmaster runs for the data directory.
  virtual bool stop_now(std::chrono::milliseconds grace) = 0;
  // A fast or immediate shutdown was signalled to the postmaster that runs now (it takes no new
  // transactions; it may still be writing its shutdown checkpoint). Cheap, any thread.
  virtual bool shutdown_in_progress() = 0;
  virtual bool reload() = 0;
  // A running replica follows `upstream` (none: no primary_conninfo): rewrites and reloads
  // only when the recovery parameters differ from those last written.
  virtual Result<FollowOutcome, std::string> follow(const std::optional<Upstream>& upstream) = 0;

  // ---- long operations (async worker) ----
  virtual Status<std::string> bootstrap(const CancelToken& cancel) = 0;       // initdb + start + wait
  virtual Status<std::string> post_bootstrap() = 0;                           // roles, grants, script
  // create_replica_methods in order until one works (pg_basebackup for `basebackup`, the
  // method's command otherwise), then starts PostgreSQL as a replica of `from`. Without `from`
  // only methods that work without a leader (no_leader/no_master) are tried. kBasebackupOnly
  // (reinitialize --from-leader, Patroni 4.1) runs pg_basebackup from `from` whatever is configured.
  enum class CloneMethods { kConfigured, kBasebackupOnly };
  virtual Status<std::string> clone(const std::optional<Upstream>& from, const CancelToken& cancel,
                                    CloneMethods methods) = 0;
  // pg_ctl promote, then until PostgreSQL is out of recovery (at most `wait`); no CHECKPOINT
  // (the caller issues it once the role change is announced).
  virtual Status<std::string> promote(std::chrono::milliseconds wait) = 0;
  virtual Status<std::string> rewind(const Upstream& from, const CancelToken& cancel) = 0;  // stop + pg_rewind
  virtual Status<std::string> crash_recovery(const CancelToken& cancel) = 0;  // postgres --single
  // Renames the data directory to <data_dir>.<suffix>, with the WAL and tablespace directories
  // it links to (postgres/data_directory.h; never deletes); refused while a postmaster runs.
  // Returns the new path.
  virtual Result<std::string, std::string> move_data_dir_aside(const std::string& suffix) = 0;

  // ---- slots, timelines ----
  // Reconciles the local slots with `request` (postgres/slots.h: drop unknown and changed ones,
  // create, advance); returns the logical slots a replica lacks and must copy from the primary.
  virtual std::vector<std::string> sync_slots(const SlotSyncRequest& request) = 0;
  // A replica takes the logical slots `names` from the primary `from` (their state files, read
  // over the rewind user's connection, only those whose database and plugin match `expected`):
  // PostgreSQL is stopped, the files installed, and PostgreSQL started again following the
  // upstream it followed. Blocking (a restart).
  virtual Status<std::string> copy_logical_slots(const Upstream& from, const std::vector<std::string>& names,
                                                 const std::map<std::string, ExpectedSlot>& expected) = 0;
  // hot_standby_feedback forced on while this node (or one cascading from it) keeps permanent
  // logical slots as a replica (Patroni); a change rewrites the configuration and reloads.
  virtual void set_enforce_hot_standby_feedback(bool enforce) = 0;
  // Positions of the local slots (physical: restart_lsn, logical: confirmed_flush_lsn); empty
  // when they cannot be read.
  virtual std::map<std::string, int64_t> slot_positions() = 0;
  // The upstream has a replication slot named `slot` (its pg_replication_slots, asked over the
  // rewind user's connection); false when it has none or cannot be asked.
  virtual bool upstream_has_slot(const Upstream& upstream, const std::string& slot,
                                 std::chrono::milliseconds timeout) = 0;
  // ha.md §4 against the leader; `status` = this cycle's status query while running.
  virtual DivergeVerdict check_diverged(const Upstream& leader, const std::optional<ServerStatus>& status) = 0;
  // The local pg_wal/<TL>.history, parsed (empty when absent).
  virtual std::vector<TimelineSwitch> timeline_history(int64_t timeline) const = 0;
};

}  // namespace custos::postgres
