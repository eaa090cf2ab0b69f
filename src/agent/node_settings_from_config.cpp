#include "agent/node_settings_from_config.h"

#include <algorithm>
#include <cctype>

#include "mpp/citus_settings.h"
#include "dcs/slot_names.h"
#include "common/json_truth.h"
#include "config/values.h"
#include "postgres/postmaster.h"

namespace custos::agent {
namespace {

using nlohmann::json;

std::string str_at(const json& obj, const char* key, const std::string& fallback = "") {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::vector<std::string> lines_at(const json& obj, const char* key) {
  std::vector<std::string> out;
  if (!obj.is_object()) return out;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_array()) return out;
  for (const auto& l : *it)
    if (l.is_string()) out.push_back(l.get<std::string>());
  return out;
}

postgres::Credentials credentials(const json& auth, const char* who) {
  postgres::Credentials c;
  if (!auth.is_object() || !auth.contains(who) || !auth[who].is_object()) return c;
  const json& a = auth[who];
  c.username = str_at(a, "username");
  if (a.contains("password") && !a["password"].is_null()) c.password = str_at(a, "password");
  for (const char* k : config::kAuthenticationKeys) {
    const std::string_view key = k;
    if (key != "username" && key != "password" && a.contains(k) && !a[k].is_null()) c.extra[k] = str_at(a, k);
  }
  return c;
}

std::string bin(const json& pg, const std::string& name) {
  std::string b = name;
  const json& names = pg.is_object() && pg.contains("bin_name") ? pg["bin_name"] : json();
  if (names.is_object() && names.contains(name) && names[name].is_string()) b = names[name].get<std::string>();
  std::string dir = str_at(pg, "bin_dir");
  if (!dir.empty() && b.find('/') == std::string::npos) {
    if (dir.back() != '/') dir += '/';
    return dir + b;
  }
  return b;
}

}  // namespace

postgres::NodeSettings node_settings_from_config(const config::Config& config) {
  postgres::NodeSettings s;
  const json& pg = config.postgresql();
  s.name = config.name();
  s.slot_name = dcs::slot_name_from_member_name(s.name);
  s.scope = config.scope();
  s.data_dir = config.data_dir();
  s.config_dir = config.config_dir();
  s.config_base_name = str_at(pg, "config_base_name", "postgresql");
  s.custom_conf = str_at(pg, "custom_conf");
  s.database = str_at(pg, "database", "postgres");
  {
    const char* home = std::getenv("HOME");
    s.pgpass = str_at(pg, "pgpass", std::string(home ? home : "/tmp") + "/pgpass");
  }
  s.postgres = bin(pg, "postgres");
  s.pg_ctl = bin(pg, "pg_ctl");
  s.initdb = bin(pg, "initdb");
  s.pg_controldata = bin(pg, "pg_controldata");
  s.pg_basebackup = bin(pg, "pg_basebackup");
  s.pg_rewind = bin(pg, "pg_rewind");
  s.pg_isready = bin(pg, "pg_isready");

  s.listen = postgres::parse_host_port(str_at(pg, "listen"), 5432);
  const std::string ca = str_at(pg, "connect_address");
  if (!ca.empty()) {
    s.connect_address = postgres::parse_host_port(ca, s.listen.port);
  } else {
    s.connect_address = postgres::HostPort{s.local_host(), s.listen.port};
  }
  {
    const json& api = config.restapi();
    std::string addr = str_at(api, "connect_address", str_at(api, "listen"));
    const bool https = !str_at(api, "certfile").empty();
    s.api_url = std::string(https ? "https" : "http") + "://" + addr + "/patroni";
  }
  const std::string proxy = str_at(pg, "proxy_address");
  if (!proxy.empty()) s.proxy_url = "postgres://" + proxy + "/" + s.database;

  const json auth = pg.is_object() && pg.contains("authentication") ? pg["authentication"] : json::object();
  s.superuser = credentials(auth, "superuser");
  s.replication = credentials(auth, "replication");
  s.has_rewind_user = auth.is_object() && auth.contains("rewind") && auth["rewind"].is_object();
  s.rewind = s.has_rewind_user ? credentials(auth, "rewind") : s.superuser;
  if (s.superuser.username.empty()) {
    const char* user = std::getenv("USER");
    s.superuser.username = user ? user : "postgres";
  }

  // Parameters: command-line ones go to argv, the rest to postgresql.conf.
  const json params = pg.is_object() && pg.contains("parameters") && pg["parameters"].is_object()
                          ? pg["parameters"]
                          : json::object();
  std::map<std::string, std::string> lower;  // lowercase name -> value
  for (auto it = params.begin(); it != params.end(); ++it) {
    std::string k = it.key();
    std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
    lower[k] = postgres::parameter_value(it.value());
  }
  for (const auto& name : postgres::kCommandLineParameters) {
    std::string value;
    if (name == "listen_addresses") value = s.listen.host;
    else if (name == "port") value = std::to_string(s.listen.port);
    else if (name == "cluster_name") value = s.scope;
    else if (lower.count(name)) value = lower[name];
    else continue;
    if (name == "wal_level" && value == "hot_standby") value = "replica";
    s.command_line.emplace_back(name, value);
  }
  for (const auto& [k, v] : lower) {
    if (std::find(postgres::kCommandLineParameters.begin(), postgres::kCommandLineParameters.end(), k) !=
        postgres::kCommandLineParameters.end())
      continue;
    if (k == "wal_keep_segments") continue;  // PG >= 13 uses wal_keep_size
    s.conf_parameters[k] = v;
  }
  s.pg_hba = lines_at(pg, "pg_hba");
  s.pg_ident = lines_at(pg, "pg_ident");
  const json& boot = config.bootstrap();
  s.bootstrap_pg_hba = lines_at(boot, "pg_hba");
  if (boot.is_object() && boot.contains("initdb")) s.initdb_options = boot["initdb"];
  if (pg.is_object() && pg.contains("basebackup")) s.basebackup_options = pg["basebackup"];
  s.create_replica_methods = config.create_replica_methods();
  for (const auto& m : s.create_replica_methods)
    if (m != "basebackup" && pg.is_object() && pg.contains(m) && pg[m].is_object()) s.replica_method_options[m] = pg[m];
  if (boot.is_object() && boot.contains("method") && boot["method"].is_string()) {
    const std::string method = boot["method"].get<std::string>();
    if (method != "initdb" && boot.contains(method) && boot[method].is_object() && boot[method].contains("command")) {
      s.bootstrap_method = method;
      s.bootstrap_method_options = boot[method];
    }
  }
  if (const config::GlobalConfig global = config.global(); global.is_standby_cluster()) {
    const json sc = global.standby_cluster();
    auto& out = s.standby_cluster;
    out.active = true;
    auto text = [&](const char* key) {
      auto it = sc.find(key);
      if (it == sc.end() || it->is_null()) return std::string();
      return it->is_string() ? it->get<std::string>() : postgres::parameter_value(*it);
    };
    out.host = text("host");
    out.port = text("port");
    if (sc.contains("primary_slot_name") && python_truthy(sc["primary_slot_name"]))
      out.primary_slot_name = dcs::slot_name_from_member_name(text("primary_slot_name"));
    out.restore_command = text("restore_command");
    out.archive_cleanup_command = text("archive_cleanup_command");
    out.recovery_min_apply_delay = text("recovery_min_apply_delay");
    if (auto it = sc.find("create_replica_methods"); it != sc.end() && it->is_array())
      for (const auto& m : *it)
        if (m.is_string()) out.create_replica_methods.push_back(m.get<std::string>());
    for (const auto& m : out.create_replica_methods)
      if (m != "basebackup" && pg.is_object() && pg.contains(m) && pg[m].is_object()) s.replica_method_options[m] = pg[m];
  }
  if (const json& tags = config.tags(); tags.is_object() && tags.contains("nostream"))
    s.nostream = patroni_parse_bool(tags["nostream"]).value_or(false);
  s.post_bootstrap = str_at(boot, "post_bootstrap", str_at(boot, "post_init"));
  if (pg.is_object() && pg.contains("recovery_conf") && pg["recovery_conf"].is_object())
    for (auto it = pg["recovery_conf"].begin(); it != pg["recovery_conf"].end(); ++it)
      s.recovery_conf[it.key()] = postgres::parameter_value(it.value());

  s.use_pg_rewind = config.use_pg_rewind();
  s.use_slots = config.global().use_slots();
  // Python truthiness, as Patroni reads them (a quoted "false" is true).
  auto truthy_at = [&](const char* key) {
    auto it = pg.find(key);
    return it != pg.end() && python_truthy(*it);
  };
  s.use_unix_socket = truthy_at("use_unix_socket");
  s.use_unix_socket_repl = truthy_at("use_unix_socket_repl");
  s.krbsrvname = str_at(pg, "krbsrvname");
  s.remove_data_directory_on_rewind_failure = truthy_at("remove_data_directory_on_rewind_failure");
  s.remove_data_directory_on_diverged_timelines = truthy_at("remove_data_directory_on_diverged_timelines");
  try {
    s.pg_ctl_timeout = std::max(1, std::stoi(str_at(pg, "pg_ctl_timeout", "60")));
  } catch (...) {
  }
  // A Citus node (citus.group and citus.database both valid): the settings Patroni forces.
  if (config.citus_group() && config.citus_database()) {
    s.citus = postgres::NodeSettings::Citus{*config.citus_group(), *config.citus_database()};
    mpp::apply_citus_settings(s);
  }
  return s;
}

}  // namespace custos::agent
