// Replication slots of the local server (ha.md §10), reconciled as Patroni's slot handler does:
//   - every slot nobody expects (not temporary, not in use, not matched by an ignore_slots rule,
//     not while the cluster is paused) is dropped; an expected one whose type, database or
//     plugin changed is dropped and made again;
//   - physical slots are created (pg_create_physical_replication_slot(name, true)) and moved
//     forward to the LSN the cluster published for them (pg_replication_slot_advance, 11+);
//   - logical slots are created on a primary (pg_create_logical_replication_slot in their own
//     database); on a replica they cannot be created: those the primary published a position for
//     are reported for copying (copy_logical_slot_files), the existing ones are moved forward.
// Slot names, databases, plugins and LSNs reach SQL only as bound parameters. Blocking; every
// statement bounded by `timeout`; failures are collected, never thrown.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "postgres/pg_connection.h"

namespace custos::postgres {

// A slot this node must have. lsn: the position the cluster published for it (0: none known).
struct ExpectedSlot {
  bool logical = false;
  std::string database;  // logical only
  std::string plugin;    // logical only
  int64_t lsn = 0;
  friend bool operator==(const ExpectedSlot&, const ExpectedSlot&) = default;
};

// One ignore_slots entry: a slot matches when every attribute given equals the slot's (an
// empty type/database/plugin or no name matches any).
struct SlotIgnoreRule {
  std::optional<std::string> name;
  std::string type, database, plugin;
  friend bool operator==(const SlotIgnoreRule&, const SlotIgnoreRule&) = default;
};

struct SlotSyncRequest {
  std::map<std::string, ExpectedSlot> expected;
  std::vector<SlotIgnoreRule> ignore;
  bool primary = false;       // logical slots are created here, not copied
  bool advance = true;        // pg_replication_slot_advance exists (PostgreSQL 11+)
  bool drop_unknown = true;   // false while the cluster is paused
  // A Citus node: its citus.database (the shard move/split slots Citus makes there are kept).
  std::string citus_database;
  // The HA cycle's routine call: the reconciliation may be skipped when nothing it depends on
  // changed since one that found nothing to do (postgres/slot_sync_schedule.h). Calls that
  // must act now (before a promotion) leave it false.
  bool routine = false;
  friend bool operator==(const SlotSyncRequest&, const SlotSyncRequest&) = default;
};

// What sync_slots did, for logs and tests.
struct SlotChanges {
  std::vector<std::string> created;
  std::vector<std::string> dropped;
  std::vector<std::pair<std::string, int64_t>> advanced;  // slot, to LSN
  std::vector<std::string> to_copy;  // logical slots a replica lacks and the primary published
  std::vector<std::string> errors;   // one line per failed statement
};

// A slot as pg_replication_slots shows it.
struct ExistingSlot {
  std::string name;
  bool logical = false;
  std::string database, plugin;
  bool active = false;
  bool temporary = false;
  int64_t restart_lsn = 0;
  int64_t confirmed_flush_lsn = 0;
};

// True when some rule of `rules` matches `slot` (Patroni's ignore_replication_slot).
bool slot_is_ignored(const ExistingSlot& slot, const std::vector<SlotIgnoreRule>& rules);
// A slot Citus makes for itself on a primary (spec/citus.md §7): logical, in `citus_database`,
// named citus_shard_move_slot_<n>_<n>[_<n>] with plugin pgoutput, or citus_shard_split_slot_...
// with plugin citus. Never dropped by the reconciliation on a primary.
bool is_citus_slot(const ExistingSlot& slot, const std::string& citus_database);

// `connect(dbname)` gives a connection to that database of the local server ("" = the default
// one); nullptr when it cannot be had (the slots of that database are skipped with an error).
using DatabaseConnector = std::function<PgConnection*(const std::string& dbname)>;
SlotChanges sync_slots(const DatabaseConnector& connect, const SlotSyncRequest& request,
                       std::chrono::milliseconds timeout);

// Every slot's position (physical: restart_lsn; logical: confirmed_flush_lsn), for the leader's
// /status and POST /failsafe. Slots without a position are left out.
Result<std::map<std::string, int64_t>, PgError> slot_positions(PgConnection& conn, std::chrono::milliseconds timeout);

// A logical slot's state file as the primary has it (pg_replication_slots joined with
// pg_read_binary_file('pg_replslot/<name>/state')).
struct LogicalSlotFile {
  std::string name, database, plugin;
  std::string state;  // the bytes of pg_replslot/<name>/state
  int64_t restart_lsn = 0;  // decoding starts there: the replica must still have that WAL
};
// Reads the state files of `names` from a primary (nothing while it is in recovery).
Result<std::vector<LogicalSlotFile>, PgError> read_logical_slot_files(PgConnection& primary,
                                                                       const std::vector<std::string>& names,
                                                                       std::chrono::milliseconds timeout);
// wal_segment_size in bytes, as the server reports it (0 when it does not).
Result<int64_t, PgError> wal_segment_size(PgConnection& conn, std::chrono::milliseconds timeout);
// The LSN where the oldest WAL segment file in <data_dir>/pg_wal begins, read from the directory
// (also while PostgreSQL is stopped); 0 when none is found or segment_size is unknown.
int64_t oldest_wal_lsn_on_disk(const std::string& data_dir, int64_t segment_size);
// Installs the files in <data_dir>/pg_replslot/<name>/state (a temp dir renamed into place,
// fsynced); PostgreSQL must be stopped and loads them at its next start. Throws on I/O errors.
void install_logical_slot_files(const std::string& data_dir, const std::vector<LogicalSlotFile>& files);

}  // namespace custos::postgres
