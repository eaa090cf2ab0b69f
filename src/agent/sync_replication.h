// SyncReplication: the protocol of synchronous replication on the lock-holding primary
// (ha.md §6). Each cycle it reads pg_stat_replication and the settings (postgres/sync_status.h:
// all the SQL lives there), lets the pure rules (ha/sync_selection.h) pick the standbys and plan
// the step, and carries it out in the safe order: names are added to synchronous_standby_names
// before `/sync`, and removed from `/sync` (CAS) before synchronous_standby_names. It also owns
// the synchronous_standby_names value the agent writes into postgresql.conf while
// synchronous_mode is on (or until `/sync` is removed after it was turned off); the agent applies
// it through a callback.
//
// Thread: HA loop only. Blocking: a few statements (5 s each) and a 2 s pause after a change.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

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

  // Sets the managed value (decide()'s set_synchronous_standby_names step, or the protocol).
  // Calls `apply` when it changed. Returns true when it changed.
  bool set_names(const std::string& value, const ApplyFn& apply);

  // ha.md §6.4, a replica leaving (shutdown): when `name` is listed in /sync, calls `publish_nosync`
  // (the member key then carries `nosync: true`) and polls /sync every 2 s for up to `wait_seconds`
  // until the primary has removed it. Returns false when it was still listed at the end.
  static bool leave_sync_role(dcs::Dcs& dcs, const std::string& name, int wait_seconds,
                              const std::function<void()>& publish_nosync);

  // ha.md §6.2/§6.4 for this cycle (lock holder, running primary).
  void manage(dcs::Dcs& dcs, const dcs::Cluster& cluster, const ha::HaSettings& settings,
              const std::string& my_name, postgres::PostgresNode& pg, const ApplyFn& apply);

 private:
  struct Evaluation;
  std::optional<Evaluation> evaluate(const dcs::Cluster& cluster, const ha::HaSettings& settings,
                                     const std::string& my_name, postgres::PostgresNode& pg);
  void disable(dcs::Dcs& dcs, const dcs::Cluster& cluster, const ApplyFn& apply);
  // After a change: primary flush LSN + a tiny WAL write (ha.md §6.3).
  void after_change(postgres::PostgresNode& pg);

  std::optional<std::string> managed_;
  std::map<std::string, int64_t> ready_;  // replicas confirmed synchronous (name -> walsender pid)
  int64_t flush_lsn_at_change_ = 0;
};

}  // namespace custos::agent
