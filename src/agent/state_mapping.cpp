#include "agent/state_mapping.h"

#include <algorithm>

#include "common/json_truth.h"
#include "dcs/json_util.h"
#include "postgres/replica_methods.h"

namespace custos::agent {

using nlohmann::json;

namespace {

std::optional<int64_t> int_of(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number()) return static_cast<int64_t>(v.get<double>());
  if (v.is_string()) {
    try {
      size_t pos = 0;
      int64_t r = std::stoll(v.get<std::string>(), &pos);
      if (pos == v.get<std::string>().size()) return r;
    } catch (...) {
    }
  }
  return std::nullopt;
}

}  // namespace

ha::ControlState map_control_state(postgres::ClusterState state) {
  using postgres::ClusterState;
  switch (state) {
    case ClusterState::StartingUp: return ha::ControlState::starting_up;
    case ClusterState::ShutDown: return ha::ControlState::shut_down;
    case ClusterState::ShutDownInRecovery: return ha::ControlState::shut_down_in_recovery;
    case ClusterState::ShuttingDown: return ha::ControlState::shutting_down;
    case ClusterState::InCrashRecovery: return ha::ControlState::in_crash_recovery;
    case ClusterState::InArchiveRecovery: return ha::ControlState::in_archive_recovery;
    case ClusterState::InProduction: return ha::ControlState::in_production;
    case ClusterState::Unknown: break;
  }
  return ha::ControlState::unknown;
}

void apply_server_status(ha::LocalState& local, const postgres::ServerStatus& status) {
  local.in_recovery = status.in_recovery;
  if (status.timeline > 0) local.timeline = status.timeline;
  else local.timeline.reset();
  local.flush_lsn = status.flush_lsn.value_or(0);
  local.received_lsn = status.receive_lsn.value_or(0);
  local.replayed_lsn = status.replay_lsn.value_or(0);
  local.server_version = status.server_version;
  if (!status.postmaster_start_time.empty()) local.postmaster_start_time = status.postmaster_start_time;
}

ha::Tags tags_from_config(const json& tags) {
  ha::Tags t;
  if (!tags.is_object()) return t;
  auto find = [&](const char* key) -> const json* {
    auto it = tags.find(key);
    return it == tags.end() ? nullptr : &*it;
  };
  // Patroni's Tags rules, the same as dcs::Member's for other members' keys.
  if (const json* v = find("nofailover"); v && !v->is_null()) t.nofailover = python_truthy(*v);
  if (const json* v = find("failover_priority")) t.failover_priority = dcs::parse_int(*v);
  if (const json* v = find("replicatefrom"); v && v->is_string()) t.replicatefrom = v->get<std::string>();
  if (const json* v = find("clonefrom")) t.clonefrom = python_truthy(*v);
  if (const json* v = find("sync_priority")) t.sync_priority = dcs::parse_int(*v);
  if (const json* v = find("nosync"); v && !v->is_null()) t.nosync = python_truthy(*v);
  else t.nosync = t.sync_priority && *t.sync_priority <= 0;
  if (const json* v = find("nostream")) t.nostream = patroni_parse_bool(*v).value_or(false);
  return t;
}

ha::HaSettings ha_settings_from_config(const config::Config& config) {
  ha::HaSettings s;
  const auto g = config.global();
  s.ttl = config.ttl();
  s.loop_wait = config.loop_wait();
  s.retry_timeout = config.retry_timeout();
  s.maximum_lag_on_failover = g.maximum_lag_on_failover();
  s.maximum_lag_on_syncnode = g.maximum_lag_on_syncnode();
  s.primary_start_timeout = static_cast<double>(g.primary_start_timeout());
  s.primary_stop_timeout = static_cast<double>(g.primary_stop_timeout());
  s.member_slots_ttl = g.member_slots_ttl();
  s.synchronous_mode = g.is_synchronous_mode();
  s.quorum_commit = g.is_quorum_commit_mode();
  s.synchronous_mode_strict = g.is_synchronous_mode_strict();
  s.synchronous_node_count = static_cast<int>(g.synchronous_node_count());
  s.check_timeline = g.check_timeline();
  s.failsafe_mode = g.is_failsafe_mode();
  s.pause = g.is_paused();
  s.use_pg_rewind = config.use_pg_rewind();
  const json& pg = config.postgresql();
  auto pg_bool = [&](const char* k) { return pg.is_object() && pg.contains(k) && python_truthy(pg[k]); };
  s.remove_data_directory_on_rewind_failure = pg_bool("remove_data_directory_on_rewind_failure");
  s.remove_data_directory_on_diverged_timelines = pg_bool("remove_data_directory_on_diverged_timelines");
  s.has_bootstrap_section = config.local().is_object() && config.local().contains("bootstrap");
  s.replica_method_without_leader =
      !postgres::replica_methods_to_run(config.create_replica_methods(), pg, false).empty();
  // Patroni tries to arm the watchdog whenever the mode is not off (automatic without a device
  // goes on without one).
  s.watchdog_enabled = watchdog_config_from(config).mode != watchdog::Mode::off;
  const json& sc = g.standby_cluster();
  if (g.is_standby_cluster() && sc.is_object()) {
    s.standby_cluster.active = true;
    if (sc.contains("host") && sc["host"].is_string()) s.standby_cluster.host = sc["host"].get<std::string>();
    if (sc.contains("port")) {
      auto p = int_of(sc["port"]);
      if (p) s.standby_cluster.port = static_cast<int>(*p);
    }
    if (sc.contains("create_replica_methods") && sc["create_replica_methods"].is_array())
      for (const auto& m : sc["create_replica_methods"])
        if (m.is_string() && postgres::replica_method_works_without_leader(pg, m.get<std::string>()))
          s.standby_cluster.replica_method_without_leader = true;
  }
  return s;
}

watchdog::WatchdogConfig watchdog_config_from(const config::Config& config, std::vector<std::string>* warnings) {
  return watchdog::WatchdogConfig::from_sections(config.watchdog(), static_cast<int>(config.ttl()),
                                                 static_cast<int>(config.loop_wait()), warnings);
}

ha::MemberStatus member_status_from_patroni(const std::string& name, const std::string& body) {
  ha::MemberStatus st;
  st.name = name;
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return st;
  const json* wal = nullptr;
  if (j.contains("xlog") && j["xlog"].is_object()) wal = &j["xlog"];
  else if (j.contains("wal") && j["wal"].is_object()) wal = &j["wal"];
  if (!wal) return st;
  st.reachable = true;
  const std::string role = j.contains("role") && j["role"].is_string() ? j["role"].get<std::string>() : "";
  st.in_recovery = !(wal->contains("location") || role == "master" || role == "primary");
  if (st.in_recovery) {
    int64_t r = 0, p = 0;
    if (wal->contains("received_location")) r = int_of((*wal)["received_location"]).value_or(0);
    if (wal->contains("replayed_location")) p = int_of((*wal)["replayed_location"]).value_or(0);
    st.wal_position = std::max(r, p);
  } else {
    st.wal_position = 0;
  }
  if (j.contains("timeline")) st.timeline = int_of(j["timeline"]);
  if (j.contains("tags") && j["tags"].is_object()) {
    ha::Tags t = tags_from_config(j["tags"]);
    st.nofailover = t.is_nofailover();
    st.failover_priority = t.priority();
  }
  if (j.contains("watchdog_failed")) st.watchdog_failed = python_truthy(j["watchdog_failed"]);
  return st;
}

std::string role_text(ha::Role role, PatroniGeneration presentation) {
  return role == ha::Role::primary ? std::string(primary_role_name(presentation)) : std::string(ha::to_string(role));
}

}  // namespace custos::agent
