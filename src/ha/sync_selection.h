// Synchronous replication (ha.md §6) as pure functions: candidate selection from
// pg_stat_replication (§6.1; standbys with a higher sync_priority tag first, Patroni 4.1), the ordering protocol's decisions (§6.2), the
// synchronous_standby_names value (§6.3: rendering and parsing) and the `/sync` value.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
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
  // Replicas found "ready" in earlier cycles: application name -> walsender pid. An entry is
  // forgotten when that replica's walsender is gone or has another pid (it reconnected).
  std::map<std::string, int64_t> ready;
  // Plain mode: a standby listed in /sync counts as ready. Not while synchronous_standby_names
  // is an ANY (quorum) list: a voter of quorum mode may lack commits only others acknowledged.
  bool trust_sync_key = true;
  // Quorum commit (synchronous_mode: quorum): every standby within maximum_lag_on_syncnode is
  // picked (nofailover ones only while fewer than synchronous_node_count are), and `confirmed`
  // lists those at or past flush_lsn_at_ssn_change (none while it is 0: unknown).
  bool quorum = false;
};

struct SyncSelection {
  // Up to synchronous_node_count candidates, best first.
  std::vector<std::string> picked;
  // picked members that are `sync` and ready: may be written to /sync.
  std::vector<std::string> allow_promote;
  // Updated readiness memory for the next cycle.
  std::map<std::string, int64_t> ready;
  // Quorum commit: picked members known to hold every commit acknowledged before the last
  // change of synchronous_standby_names.
  std::vector<std::string> confirmed;
};

SyncSelection select_sync_candidates(const dcs::Cluster& cluster, const SyncSelectionInput& in);

// §6.3: "*" when star; one name -> name; several (PG >= 9.6) -> "N (a,b)"; names double-quoted
// unless ^[A-Za-z_][A-Za-z_0-9$]*$; empty list -> "" (parameter removed).
std::string render_synchronous_standby_names(const std::vector<std::string>& names, bool star,
                                             int server_version);

// A synchronous_standby_names value as PostgreSQL reads it: `*`, `name`, `a, b`,
// `[FIRST|ANY] N (a, "b c", ...)`. Names keep their case (quotes removed, `""` -> `"`).
struct StandbyNames {
  bool star = false;  // `*` listed
  int num = 0;        // N (0 when the value is empty)
  bool any = false;   // ANY (quorum)
  std::vector<std::string> names;
};
// Malformed text -> std::nullopt (the caller treats the value as unknown).
std::optional<StandbyNames> parse_synchronous_standby_names(const std::string& value);

// Same names ignoring case and order (sets).
bool same_names(const std::vector<std::string>& a, const std::vector<std::string>& b);
// Names of `a` also in `b` (case-insensitive), in `a`'s order.
std::vector<std::string> intersect_names(const std::vector<std::string>& a, const std::vector<std::string>& b);

// The `/sync` value: {"leader": leader, "sync_standby": sorted comma-joined names or null}.
std::string sync_state_value(const std::string& leader, const std::vector<std::string>& names);
// Quorum mode (Patroni 4): {"leader": leader, "quorum": quorum, "sync_standby": ... as above}.
std::string quorum_sync_state_value(const std::string& leader, int quorum, const std::vector<std::string>& voters);

// ha.md §6.4: whether `name` holds the synchronous standby role that a replica leaving gives up
// first: the cluster has a leader, `/sync` was written by that leader, and `/sync` lists `name`
// (names compared case-insensitively). A `/sync` left by a former leader, or no leader at all,
// binds nobody: a replica then stops without waiting.
bool is_sync_standby(const dcs::Cluster& cluster, const std::string& name);

// §6.2 steps 2-3 for one cycle, decided from the current `/sync` members and the selection.
struct SyncProtocolPlan {
  // Step 2: picked == /sync members but /sync != allow_promote: write /sync = allow_promote.
  bool rewrite_to_allow_promote = false;
  // Step 3 (picked != /sync members).
  bool change = false;
  // /sync members that stay while synchronous_standby_names changes (current ∩ allow_promote).
  std::vector<std::string> shrunk;
  // true when `shrunk` differs from the current members: CAS-write it first.
  bool shrink_first = false;
  // The new synchronous_standby_names content.
  std::vector<std::string> ssn_names;
  bool ssn_star = false;  // strict mode and nothing picked
};
SyncProtocolPlan plan_sync_protocol(const std::vector<std::string>& current_sync, const SyncSelection& selection,
                                    bool strict);
// After synchronous_standby_names was set: the /sync members to write, if any (allow_promote
// non-empty and not the shrunk set).
std::optional<std::vector<std::string>> final_sync_write(const std::vector<std::string>& shrunk,
                                                         const std::vector<std::string>& allow_promote);

}  // namespace custos::ha
