// What a running server says about itself (role, timeline, WAL positions), and promotion.
#pragma once

#include "common/process_runner.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "postgres/pg_connection.h"

namespace custos::postgres {

struct ServerStatus {
  bool in_recovery = false;
  // Primary: from the current WAL file name; replica: the WAL receiver's timeline, else the
  // latest checkpoint's. 0 if unknown.
  int64_t timeline = 0;
  std::optional<int64_t> flush_lsn;    // pg_current_wal_flush_lsn(), primary only
  std::optional<int64_t> receive_lsn;  // pg_last_wal_receive_lsn(), replica (NULL if never streamed)
  std::optional<int64_t> replay_lsn;   // pg_last_wal_replay_lsn(), replica
  // The WAL receiver's written_lsn (PostgreSQL 13+) and latest_end_lsn (the sender's end of WAL
  // last reported to it); replica with a receiver only.
  std::optional<int64_t> written_lsn;
  std::optional<int64_t> latest_end_lsn;
  // The WAL receiver's status is "streaming" (connected to its upstream and receiving): what
  // Patroni reports as replication_state "streaming". pg_last_wal_receive_lsn() stays set after
  // the receiver stopped, so it cannot tell.
  bool receiver_streaming = false;
  bool replay_paused = false;
  std::string postmaster_start_time;   // pg_postmaster_start_time() as text
  int server_version = 0;              // server_version_num

  // Primary: flush LSN; replica: max(receive, replay) (as Patroni's wal_position). 0 if unknown.
  int64_t wal_position() const;
};

// One round trip.
Result<ServerStatus, PgError> query_server_status(PgConnection& conn,
                                                  std::optional<std::chrono::milliseconds> timeout = std::nullopt);

// SELECT pg_promote(wait, wait_seconds): true if promoted (or, without wait, signalled).
Result<bool, PgError> promote_with_sql(PgConnection& conn, bool wait = true, int wait_seconds = 60);

// `pg_ctl promote -W -D <data_dir>` (Patroni's way: no waiting; readiness is checked afterwards).
Status<std::string> promote_with_pg_ctl(const std::string& pg_ctl_bin, const std::string& data_dir,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(30),
                                        ProcessRunner& runner = system_process_runner());

}  // namespace custos::postgres
