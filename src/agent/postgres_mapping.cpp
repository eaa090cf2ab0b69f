#include "agent/postgres_mapping.h"

#include <charconv>

namespace custos::agent {

ha::DataDir to_ha(postgres::DataDirState state) {
  switch (state) {
    case postgres::DataDirState::present: return ha::DataDir::present;
    case postgres::DataDirState::empty: return ha::DataDir::empty;
    case postgres::DataDirState::inaccessible: return ha::DataDir::inaccessible;
  }
  return ha::DataDir::inaccessible;
}

ha::PgProcess to_ha(postgres::ServerProcess process) {
  switch (process) {
    case postgres::ServerProcess::stopped: return ha::PgProcess::stopped;
    case postgres::ServerProcess::starting: return ha::PgProcess::starting;
    case postgres::ServerProcess::running: return ha::PgProcess::running;
  }
  return ha::PgProcess::stopped;
}

std::optional<postgres::Upstream> remote_upstream_of(const postgres::NodeSettings& pg, const ha::HaSettings& ha) {
  if (!pg.standby_cluster.active) return std::nullopt;
  postgres::Upstream u;
  u.name = "remote";
  u.host = pg.standby_cluster.host;
  u.port = ha.standby_cluster.port.value_or(5432);
  u.remote = true;
  return u;
}

std::optional<postgres::Upstream> upstream_of(const dcs::Member& member) {
  nlohmann::json kw = member.conn_kwargs();
  if (!kw.is_object() || !kw.contains("host") || !kw["host"].is_string()) return std::nullopt;
  postgres::Upstream u;
  u.name = member.name();
  u.host = kw["host"].get<std::string>();
  if (kw.contains("port")) {
    if (kw["port"].is_number_integer()) {
      u.port = kw["port"].get<int>();
    } else if (kw["port"].is_string()) {
      const std::string& p = kw["port"].get_ref<const std::string&>();
      int v = 0;
      if (std::from_chars(p.data(), p.data() + p.size(), v).ec == std::errc()) u.port = v;
    }
  }
  if (u.host.empty()) return std::nullopt;
  return u;
}

void fill_pg_status(api::PgStatus& pg, const postgres::ServerStatus& st, double sampled_at) {
  pg.query_ok = true;
  pg.postmaster_start_time = st.postmaster_start_time;
  pg.server_version = st.server_version;
  pg.in_recovery = st.in_recovery;
  pg.flush_lsn = st.flush_lsn;
  pg.receive_lsn = st.receive_lsn;
  pg.replay_lsn = st.replay_lsn;
  pg.written_lsn = st.written_lsn;
  pg.latest_end_lsn = st.latest_end_lsn;
  pg.replay_paused = st.replay_paused;
  if (st.timeline > 0) pg.timeline = static_cast<int>(st.timeline);
  if (st.in_recovery) pg.replication_state = st.receiver_streaming ? "streaming" : "in archive recovery";
  pg.sampled_at = sampled_at;
}

}  // namespace custos::agent
