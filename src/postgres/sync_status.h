// What the primary's synchronous replication management (ha.md §6) reads from PostgreSQL in one
// statement: the walsenders of pg_stat_replication with their WAL positions, the settings
// synchronous_commit / synchronous_standby_names / server_version_num and the own flush LSN.
// Plus the statement that forces a tiny WAL write after synchronous_standby_names changed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "postgres/pg_connection.h"

namespace custos::postgres {

struct WalSender {
  int64_t pid = 0;
  std::string application_name;
  std::string state;       // streaming, catchup, ...
  std::string sync_state;  // sync, quorum, potential, async
  std::optional<int64_t> write_lsn, flush_lsn, replay_lsn;
};

struct SyncStatus {
  std::vector<WalSender> senders;
  std::string synchronous_commit;
  std::string synchronous_standby_names;
  int64_t flush_lsn = 0;
  int server_version = 0;
};

// One row per walsender (or one row with NULL walsender columns when there is none); primary only
// (pg_current_wal_flush_lsn fails in recovery).
extern const char* const kSyncStatusQuery;
// Forces a small WAL write so that synchronous standbys confirm a position after a change.
extern const char* const kTinyWalWriteQuery;
// The primary's WAL flush position (one row, one column).
extern const char* const kFlushLsnQuery;
// synchronous_standby_names as this session sees it (after a reload: what PostgreSQL runs).
extern const char* const kSynchronousStandbyNamesQuery;

// Parses the result of kSyncStatusQuery; an error names the malformed column.
Result<SyncStatus, std::string> parse_sync_status(const QueryResult& result);

}  // namespace custos::postgres
