// Synchronous replication (ha.md §6) as pure functions: candidate selection from
// pg_stat_replication (§6.1) and the synchronous_standby_names value (§6.3).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "dcs/cluster.h"

namespace custos::ha {

// One row of pg_stat_replication.
struct ReplicationRow {
  int64_t pid = 0;
  std::string application_name;
  std::string state;       // "streaming", ...
  std::string sync_state;  // "sync", "quorum", "potential", "async"
  std::optional<int64_t> write_lsn;
  std::optional<int64_t> flush_lsn;
  std::optional<int64_t> replay_lsn;
};

struct SyncSelectionInput {
  std::string my_name;
  std::vector<ReplicationRow> rows;
  // PostgreSQL synchronous_commit: remote_apply -> replay LSN, remote_write -> write, else flush.
  std::string synchronous_commit = "on";
  int synchronous_node_count = 1;
  int64_t maximum_lag_on_syncnode = -1;
  int server_version = 0;
  // Own flush LSN now.
  int64_t my_flush_lsn = 0;
  // Primary flush LSN recorded when synchronous_standby_names last changed.
  int64_t flush_lsn_at_ssn_change = 0;
  // Names currently listed in synchronous_standby_names (lowercase compare).
  std::vector<std::string> ssn_members;
  // Replicas found "ready" in earlier cycles (application names).
  std::set<std::string> ready;
};

struct SyncSelection {
  // Up to synchronous_node_count candidates, best first.
  std::vector<std::string> picked;
  // picked members that are `sync` and ready: may be written to /sync.
  std::vector<std::string> allow_promote;
  // Updated readiness memory for the next cycle.
  std::set<std::string> ready;
};

SyncSelection select_sync_candidates(const dcs::Cluster& cluster, const SyncSelectionInput& in);

// §6.3: "*" when star; one name -> name; several (PG >= 9.6) -> "N (a,b)"; names double-quoted
// unless ^[A-Za-z_][A-Za-z_0-9$]*$; empty list -> "" (parameter removed).
std::string render_synchronous_standby_names(const std::vector<std::string>& names, bool star,
                                             int server_version);

}  // namespace custos::ha
