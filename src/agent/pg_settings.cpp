#include "agent/pg_settings.h"

#include <algorithm>
#include <cctype>

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

bool bool_at(const json& obj, const char* key, bool fallback = false) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_number()) return it->get<double>() != 0;
  if (it->is_string()) {
    std::string s = it->get<std::string>();
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s == "true" || s == "on" || s == "yes" || s == "1" || s == "y";
  }
  return fallback;
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

Credentials credentials(const json& auth, const char* who) {
  Credentials c;
  if (!auth.is_object() || !auth.contains(who) || !auth[who].is_object()) return c;
  const json& a = auth[who];
  c.username = str_at(a, "username");
  if (a.contains("password") && !a["password"].is_null()) c.password = str_at(a, "password");
  for (const char* k : {"sslmode", "sslcert", "sslkey", "sslpassword", "sslrootcert", "sslcrl",
                        "sslcrldir", "gssencmode", "channel_binding"})
    if (a.contains(k) && !a[k].is_null()) c.extra[k] = str_at(a, k);
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

HostPort parse_host_port(const std::string& text, int default_port) {
  HostPort hp;
  hp.port = default_port;
  auto port_of = [&](const std::string& p) {
    try {
      if (!p.empty()) hp.port = std::stoi(p);
    } catch (...) {
    }
  };
  if (!text.empty() && text[0] == '[') {
    auto b = text.find(']');
    if (b == std::string::npos) {
      hp.host = text;
      return hp;
    }
    hp.host = text.substr(1, b - 1);
    if (b + 1 < text.size() && text[b + 1] == ':') port_of(text.substr(b + 2));
    return hp;
  }
  auto c = text.rfind(':');
  if (c != std::string::npos && text.find(':') == c) {
    hp.host = text.substr(0, c);
    port_of(text.substr(c + 1));
  } else {
    hp.host = text;
  }
  return hp;
}

std::string parameter_value(const json& value) {
  if (value.is_boolean()) return value.get<bool>() ? "on" : "off";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  return value.dump();
}

std::string PgSettings::local_host() const {
  std::string first = listen.host.substr(0, listen.host.find(','));
  while (!first.empty() && first.front() == ' ') first.erase(first.begin());
  while (!first.empty() && first.back() == ' ') first.pop_back();
  if (first.empty() || first == "*" || first == "0.0.0.0") return "127.0.0.1";
  if (first == "::") return "::1";
  return first;
}

std::string PgSettings::local_conninfo(const std::string& dbname) const {
  auto q = [](const std::string& v) {
    std::string out = "'";
    for (char c : v) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    return out + "'";
  };
  std::string ci = "host=" + q(local_host()) + " port=" + std::to_string(listen.port) +
                   " dbname=" + q(dbname.empty() ? database : dbname);
  if (!superuser.username.empty()) ci += " user=" + q(superuser.username);
  if (superuser.password) ci += " password=" + q(*superuser.password);
  return ci;
}

std::string PgSettings::conn_url() const {
  std::string host = connect_address.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "postgres://" + host + ":" + std::to_string(connect_address.port) + "/" + database;
}

std::string PgSettings::log_file() const {
  std::string d = data_dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return d + ".log";
}

PgSettings pg_settings_from_config(const config::Config& config) {
  PgSettings s;
  const json& pg = config.postgresql();
  s.name = config.name();
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

  s.listen = parse_host_port(str_at(pg, "listen"), 5432);
  const std::string ca = str_at(pg, "connect_address");
  if (!ca.empty()) {
    s.connect_address = parse_host_port(ca, s.listen.port);
  } else {
    s.connect_address = HostPort{s.local_host(), s.listen.port};
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
    lower[k] = parameter_value(it.value());
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
  s.post_bootstrap = str_at(boot, "post_bootstrap", str_at(boot, "post_init"));
  if (pg.is_object() && pg.contains("recovery_conf") && pg["recovery_conf"].is_object())
    for (auto it = pg["recovery_conf"].begin(); it != pg["recovery_conf"].end(); ++it)
      s.recovery_conf[it.key()] = parameter_value(it.value());

  s.use_pg_rewind = config.use_pg_rewind();
  s.use_slots = config.global().use_slots();
  s.remove_data_directory_on_rewind_failure = bool_at(pg, "remove_data_directory_on_rewind_failure");
  s.remove_data_directory_on_diverged_timelines = bool_at(pg, "remove_data_directory_on_diverged_timelines");
  try {
    s.pg_ctl_timeout = std::max(1, std::stoi(str_at(pg, "pg_ctl_timeout", "60")));
  } catch (...) {
  }
  return s;
}

}  // namespace custos::agent
