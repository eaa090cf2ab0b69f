// SyncReplication: the protocol of synchronous replication on the lock-holding primary
// (ha.md §6). Each cycle it reads pg_stat_replication and the settings (postgres/sync_status.h:
// all the SQL lives there), lets the pure rules (ha/sync_selection.h) pick the standbys and plan
// the step, and carries it out in the safe order: names are added to synchronous_standby_names
// before `/sync`, and removed from `/sync` (CAS) before synchronous_standby_names. It also owns
// the synchronous_standby_names value the agent writes into postgresql.conf while
// synchronous_mode is on (or until `/sync` is removed after it was turned off); the agent applies
// it through a callback.
//
// Quorum commit (synchronous_mode: quorum) follows the plans of ha/quorum_state.h instead: each
// round re-reads pg_stat_replication and synchronous_standby_names, plans from `/sync` and what
// PostgreSQL runs, and carries out the first write (a CAS on `/sync`, or a new
// synchronous_standby_names confirmed in force before the primary's position is recorded), for
// at most loop_wait seconds per cycle. Right after this node became primary only the hand-over of
// `/sync` is written; the rest waits loop_wait so that the standbys can reconnect first.
//
// Thread: HA loop only. Blocking: a few statements (5 s each) and pauses of up to 2 s after a
// change (quorum mode: at most loop_wait in all).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "common/cancel_token.h"
#include "common/clock.h"
#include "common/result.h"
#include "dcs/cluster.h"
#include "dcs/dcs.h"
#include "ha/settings.h"
#include "postgres/postgres_node.h"

namespace custos::agent {

class SyncReplication {
 public:
  // Makes `managed` the synchronous_standby_names in force (nullopt: the configured one; "":
  // removed), rewriting postgresql.conf and reloading PostgreSQL when it runs.
  using ApplyFn = std::function<void(const std::optional<std::string>& managed)>;

  // Sets the managed value (decide()'s set_synchronous_standby_names step: a role change, so the
  // quorum-mode memory starts again). Calls `apply` when it changed. Returns true when it changed.
  bool set_names(const std::string& value, const ApplyFn& apply);

  // ha.md §6.4, a replica leaving in synchronous mode (shutdown, restart), as Patroni's
  // while_not_sync_standby: calls `publish_nosync` (the member key then carries `nosync: true`,
  // so that the primary neither keeps nor picks this node; it returns whether the write
  // succeeded), then reads the cluster at once and every 2 s on `clock`, for up to
  // `wait_seconds`, while `name` is a synchronous standby (ha::is_sync_standby: listed in /sync
  // by the current leader). A failed publish, a failed DCS read or `cancel` (seen within 2 s)
  // ends the wait: the role is only a hint to the primary. The caller stops publishing nosync
  // once PostgreSQL is stopped (shutdown) or back (restart). True when the node is not (or no
  // longer) a synchronous standby; false when it stopped waiting for another reason.
  // Blocks the calling thread for the publish, then at most `wait_seconds` plus one DCS read.
  static bool leave_sync_role(dcs::Dcs& dcs, Clock& clock, const std::string& name, int wait_seconds,
                              const std::function<bool()>& publish_nosync, const CancelToken* cancel = nullptr);

  // ha.md §6.2/§6.4 for this cycle (lock holder, running primary). `now`: monotonic seconds.
  void manage(dcs::Dcs& dcs, const dcs::Cluster& cluster, const ha::HaSettings& settings,
              const std::string& my_name, postgres::PostgresNode& pg, const ApplyFn& apply, double now);

 private:
  struct Evaluation;
  std::optional<Evaluation> evaluate(const dcs::Cluster& cluster, const ha::HaSettings& settings,
                                     const std::string& my_name, postgres::PostgresNode& pg);
  void disable(dcs::Dcs& dcs, const dcs::Cluster& cluster, const ApplyFn& apply);
  void manage_quorum(dcs::Dcs& dcs, const dcs::Cluster& cluster, const ha::HaSettings& settings,
                     const std::string& my_name, postgres::PostgresNode& pg, const ApplyFn& apply, double now);
  // The managed value set by the protocol itself (no reset of the quorum memory).
  bool apply_names(const std::string& value, const ApplyFn& apply);
  // After a change: primary flush LSN + a tiny WAL write (ha.md §6.3), recorded with the
  // synchronous_standby_names in force. With `expected`, first waits (up to 2 s, never past
  // `deadline`) until PostgreSQL reports that value; false when it did not or the position could
  // not be read (nothing is recorded then).
  bool after_change(postgres::PostgresNode& pg, const std::optional<std::string>& expected,
                    std::chrono::steady_clock::time_point deadline);
  // Takes the running value as the managed one when nothing is managed yet (and applies it, so
  // that a later rewrite of postgresql.conf keeps it).
  void adopt(const std::string& running, const ApplyFn& apply);

  std::optional<std::string> managed_;
  std::map<std::string, int64_t> ready_;  // replicas confirmed synchronous (name -> walsender pid)
  int64_t flush_lsn_at_change_ = 0;
  // The synchronous_standby_names in force when flush_lsn_at_change_ was recorded (quorum mode
  // counts a standby as confirmed only against the value still in force).
  std::optional<std::string> position_names_;
  // Quorum mode: when this node started managing as primary (nullopt: not yet, or the role
  // changed since).
  std::optional<double> quorum_since_;
};

}  // namespace custos::agent
