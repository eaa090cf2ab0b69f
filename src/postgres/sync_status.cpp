#include "postgres/sync_status.h"

#include "postgres/lsn.h"

namespace custos::postgres {

const char* const kSyncStatusQuery =
    "SELECT s.sc, s.ssn, s.flush, s.ver, r.pid, r.application_name, r.state, r.sync_state, "
    "r.write_lsn, r.flush_lsn, r.replay_lsn "
    "FROM (SELECT pg_catalog.current_setting('synchronous_commit') AS sc, "
    "pg_catalog.current_setting('synchronous_standby_names') AS ssn, "
    "pg_catalog.pg_current_wal_flush_lsn() AS flush, "
    "pg_catalog.current_setting('server_version_num') AS ver) s "
    "LEFT JOIN pg_catalog.pg_stat_replication r ON true";

// synchronous_commit=local: this commit must not wait for the standbys it is meant to wake.
const char* const kTinyWalWriteQuery =
    "SELECT pg_catalog.set_config('synchronous_commit', 'local', true), pg_catalog.txid_current()";
const char* const kFlushLsnQuery = "SELECT pg_catalog.pg_current_wal_flush_lsn()";
const char* const kSynchronousStandbyNamesQuery =
    "SELECT pg_catalog.current_setting('synchronous_standby_names')";

namespace {

Result<int64_t, std::string> to_int(const std::optional<std::string>& v, const char* what) {
  if (!v) return make_error(std::string(what) + " is NULL");
  try {
    std::size_t used = 0;
    long long n = std::stoll(*v, &used);
    if (used != v->size()) throw std::invalid_argument(*v);
    return static_cast<int64_t>(n);
  } catch (const std::exception&) {
    return make_error(std::string(what) + " is not an integer: '" + *v + "'");
  }
}

Result<std::optional<int64_t>, std::string> to_lsn(const std::optional<std::string>& v, const char* what) {
  if (!v) return std::optional<int64_t>{};
  auto lsn = parse_lsn(*v);
  if (!lsn) return make_error(std::string(what) + " is not an LSN: '" + *v + "'");
  return std::optional<int64_t>(*lsn);
}

}  // namespace

Result<SyncStatus, std::string> parse_sync_status(const QueryResult& result) {
  if (result.rows.empty()) return make_error(std::string("no row returned"));
  SyncStatus out;
  for (const Row& row : result.rows) {
    if (row.size() != 11) return make_error("expected 11 columns, got " + std::to_string(row.size()));
    if (&row == &result.rows.front()) {
      out.synchronous_commit = row[0].value_or("");
      out.synchronous_standby_names = row[1].value_or("");
      if (!row[2]) return make_error(std::string("flush LSN is NULL"));
      auto flush = parse_lsn(*row[2]);
      if (!flush) return make_error("flush LSN is not an LSN: '" + *row[2] + "'");
      out.flush_lsn = *flush;
      auto ver = to_int(row[3], "server_version_num");
      if (!ver) return make_error(ver.error());
      out.server_version = static_cast<int>(*ver);
    }
    if (!row[4]) continue;  // no walsender (LEFT JOIN) or not visible to this user
    WalSender w;
    auto pid = to_int(row[4], "pid");
    if (!pid) return make_error(pid.error());
    w.pid = *pid;
    w.application_name = row[5].value_or("");
    w.state = row[6].value_or("");
    w.sync_state = row[7].value_or("");
    auto wl = to_lsn(row[8], "write_lsn");
    auto fl = to_lsn(row[9], "flush_lsn");
    auto rl = to_lsn(row[10], "replay_lsn");
    if (!wl) return make_error(wl.error());
    if (!fl) return make_error(fl.error());
    if (!rl) return make_error(rl.error());
    w.write_lsn = *wl;
    w.flush_lsn = *fl;
    w.replay_lsn = *rl;
    out.senders.push_back(std::move(w));
  }
  return out;
}

}  // namespace custos::postgres
