// ControlData: the output of `pg_controldata -D DIR` (run with LANG=C, LC_ALL=C), kept as a
// map of all "Field name: value" lines plus typed accessors for the fields the agent uses.
#pragma once

#include "common/process_runner.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace custos::postgres {

// "Database cluster state" values (PostgreSQL's dbState names).
enum class ClusterState {
  StartingUp,          // "starting up"
  ShutDown,            // "shut down"
  ShutDownInRecovery,  // "shut down in recovery"
  ShuttingDown,        // "shutting down"
  InCrashRecovery,     // "in crash recovery"
  InArchiveRecovery,   // "in archive recovery"
  InProduction,        // "in production"
  Unknown,             // anything else / missing
};

ClusterState parse_cluster_state(std::string_view text);

class ControlData {
 public:
  ControlData() = default;
  // Parses pg_controldata output: each "Key:<blanks>value" line (split at the first ':', both
  // sides trimmed). Lines without ':' are ignored. Never throws.
  static ControlData parse(std::string_view text);

  const std::map<std::string, std::string>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }
  std::optional<std::string> get(const std::string& key) const;
  std::optional<int64_t> get_int(const std::string& key) const;
  std::optional<int64_t> get_lsn(const std::string& key) const;

  // "Database system identifier" as printed (a decimal uint64; kept as text like Patroni).
  std::optional<std::string> system_identifier() const;
  std::string cluster_state_text() const;  // "Database cluster state", "" if missing
  ClusterState cluster_state() const;
  std::optional<int64_t> pg_control_version() const;
  std::optional<int64_t> checkpoint_lsn() const;           // "Latest checkpoint location"
  std::optional<int64_t> checkpoint_redo_lsn() const;      // "Latest checkpoint's REDO location"
  std::optional<int64_t> checkpoint_timeline() const;      // "Latest checkpoint's TimeLineID"
  std::optional<int64_t> checkpoint_prev_timeline() const; // "Latest checkpoint's PrevTimeLineID"
  std::optional<int64_t> min_recovery_lsn() const;         // "Minimum recovery ending location"
  std::optional<int64_t> min_recovery_timeline() const;    // "Min recovery ending loc's timeline"
  std::optional<int64_t> max_connections() const;          // "max_connections setting"
  std::optional<int64_t> max_worker_processes() const;     // "max_worker_processes setting"
  std::optional<int64_t> max_wal_senders() const;          // "max_wal_senders setting"
  std::optional<int64_t> max_prepared_xacts() const;       // "max_prepared_xacts setting"
  std::optional<int64_t> max_locks_per_xact() const;       // "max_locks_per_xact setting"
  std::optional<std::string> wal_level() const;            // "wal_level setting"
  bool wal_log_hints() const;                              // "wal_log_hints setting" == on
  bool data_checksums() const;                             // "Data page checksum version" != 0
  std::optional<int64_t> wal_segment_size() const;         // "Bytes per WAL segment"

 private:
  std::map<std::string, std::string> fields_;
};

// Runs `<pg_controldata> -D <data_dir>` with LANG=C and LC_ALL=C. Errors (missing binary, not a
// data directory, timeout) are returned with pg_controldata's stderr.
Result<ControlData, std::string> read_controldata(const std::string& pg_controldata_bin, const std::string& data_dir,
                                                  std::chrono::milliseconds timeout = std::chrono::seconds(30),
                                                  ProcessRunner& runner = system_process_runner());

}  // namespace custos::postgres
