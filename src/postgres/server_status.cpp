#include "postgres/server_status.h"

#include <algorithm>

#include "postgres/lsn.h"
#include "common/process.h"

namespace custos::postgres {

int64_t ServerStatus::wal_position() const {
  if (!in_recovery) return flush_lsn.value_or(0);
  return std::max(receive_lsn.value_or(0), replay_lsn.value_or(0));
}

namespace {
// One statement, every function called once per cycle: the WAL receiver's row, the last
// checkpoint's and the recovery state are each a single composite row (with NULLs when there
// is no receiver), joined in FROM rather than called once per column.
constexpr const char* kStatusQuery =
    "SELECT r.in_recovery, "
    "CASE WHEN r.in_recovery THEN NULL ELSE "
    "('x' || pg_catalog.substr(pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()), 1, 8))::bit(32)::int END, "
    "CASE WHEN r.in_recovery THEN NULL ELSE pg_catalog.pg_current_wal_flush_lsn()::text END, "
    "pg_catalog.pg_last_wal_receive_lsn()::text, "
    "pg_catalog.pg_last_wal_replay_lsn()::text, "
    "r.in_recovery AND pg_catalog.pg_is_wal_replay_paused(), "
    "w.received_tli, "
    "c.timeline_id, "
    "pg_catalog.pg_postmaster_start_time()::text, "
    "pg_catalog.current_setting('server_version_num')::int, "
    "v.min_recovery_end_timeline, "
    // By name through jsonb: written_lsn exists from PostgreSQL 13 only; NULL before.
    "pg_catalog.to_jsonb(w) ->> 'written_lsn', "
    "w.latest_end_lsn::text, "
    "w.status "
    "FROM (SELECT pg_catalog.pg_is_in_recovery() AS in_recovery) r, "
    "pg_catalog.pg_stat_get_wal_receiver() w, pg_catalog.pg_control_checkpoint() c, "
    "pg_catalog.pg_control_recovery() v";

std::optional<int64_t> to_int(const std::optional<std::string>& v) {
  if (!v || v->empty()) return std::nullopt;
  try {
    return std::stoll(*v);
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<int64_t> to_lsn(const std::optional<std::string>& v) {
  if (!v) return std::nullopt;
  return parse_lsn(*v);
}
}  // namespace

Result<ServerStatus, PgError> query_server_status(PgConnection& conn, std::optional<std::chrono::milliseconds> timeout) {
  auto r = conn.query(kStatusQuery, {}, timeout);
  if (!r) return make_error(r.error());
  if (r->rows.size() != 1 || r->rows[0].size() != 14)
    return make_error(PgError{PgError::Kind::QueryFailed, "unexpected status query result", ""});
  const Row& row = r->rows[0];
  ServerStatus s;
  s.in_recovery = row[0].value_or("") == "t";
  s.flush_lsn = to_lsn(row[2]);
  s.receive_lsn = to_lsn(row[3]);
  s.replay_lsn = to_lsn(row[4]);
  s.replay_paused = row[5].value_or("") == "t";
  if (!s.in_recovery) s.timeline = to_int(row[1]).value_or(0);
  else {
    // A standby has no SQL function for the timeline it replays. The best estimate is the
    // highest of: the timeline the WAL receiver streams, the timeline of the minimum recovery
    // point (advanced as replay flushes buffers; set to the source's timeline by pg_rewind)
    // and the timeline of the last restartpoint. The last one alone lags behind a freshly
    // rewound node and would make it look diverged again.
    s.timeline = std::max({to_int(row[6]).value_or(0), to_int(row[10]).value_or(0), to_int(row[7]).value_or(0)});
  }
  s.postmaster_start_time = row[8].value_or("");
  s.server_version = static_cast<int>(to_int(row[9]).value_or(0));
  s.written_lsn = to_lsn(row[11]);
  s.latest_end_lsn = to_lsn(row[12]);
  s.receiver_streaming = row[13].value_or("") == "streaming";
  return s;
}

Result<bool, PgError> promote_with_sql(PgConnection& conn, bool wait, int wait_seconds) {
  auto timeout = std::chrono::milliseconds((wait ? wait_seconds : 0) * 1000 + 10'000);
  auto v = conn.query_value("SELECT pg_catalog.pg_promote($1::boolean, $2::int)",
                            {wait ? "true" : "false", std::to_string(wait_seconds)}, timeout);
  if (!v) return make_error(v.error());
  return v.value().value_or("") == "t";
}

Status<std::string> promote_with_pg_ctl(const std::string& pg_ctl_bin, const std::string& data_dir,
                                        std::chrono::milliseconds timeout, ProcessRunner& runner) {
  RunOptions o;
  o.timeout = timeout;
  auto r = runner.run({pg_ctl_bin, "promote", "-W", "-D", data_dir}, o);
  if (!r) return make_error(r.error());
  if (!r->success()) return make_error("pg_ctl promote " + r->describe() + ": " + r->err + r->out);
  return Unit{};
}

}  // namespace custos::postgres
