#include "postgres/config_generator.h"

#include <netdb.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/terminal_echo.h"
#include "config/loader.h"
#include "config/merge.h"
#include "config/records.h"
#include "config/validate.h"
#include "postgres/conninfo.h"
#include "postgres/pg_connection.h"

namespace custos::postgres {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kFixme = "#FIXME";

// PostgreSQL's command-line options with a default (Patroni's bootstrap.dcs parameters).
json default_parameters() {
  return {{"wal_level", "hot_standby"},         {"hot_standby", "on"},
          {"max_connections", 100},             {"max_wal_senders", 10},
          {"max_prepared_transactions", 0},     {"max_locks_per_transaction", 64},
          {"track_commit_timestamp", "off"},    {"max_replication_slots", 10},
          {"max_worker_processes", 8},          {"wal_log_hints", "on"}};
}

// The names whose values --generate-config always reads (the command-line options and files).
const char* const kAlwaysRead[] = {"hba_file", "ident_file", "config_file", "data_directory", "listen_addresses",
                                   "port", "cluster_name", "wal_level", "hot_standby", "max_connections",
                                   "max_wal_senders", "wal_keep_segments", "wal_keep_size",
                                   "max_prepared_transactions", "max_locks_per_transaction",
                                   "track_commit_timestamp", "max_replication_slots", "max_worker_processes",
                                   "wal_log_hints"};

// Settings that stay local (postgresql.parameters) rather than going into bootstrap.dcs.
const char* const kLocalParameters[] = {"archive_command",        "restore_command",  "archive_cleanup_command",
                                        "recovery_end_command",   "ssl_passphrase_command", "hba_file",
                                        "ident_file",             "config_file"};

json template_config(const GeneratorHost& host) {
  json t = json::object();
  t["scope"] = kFixme;
  t["name"] = host.hostname;
  t["restapi"] = {{"connect_address", host.address + ":8008"}, {"listen", host.address + ":8008"}};
  t["log"] = {{"type", "plain"},
              {"level", "INFO"},
              {"traceback_level", "ERROR"},
              {"format", "%(asctime)s %(levelname)s: %(message)s"},
              {"max_queue_size", 1000}};
  t["postgresql"] = {{"data_dir", kFixme},
                     {"connect_address", host.address + ":5432"},
                     {"listen", host.address + ":5432"},
                     {"bin_dir", ""},
                     {"authentication",
                      {{"superuser", {{"username", "postgres"}, {"password", kFixme}}},
                       {"replication", {{"username", "replicator"}, {"password", kFixme}}}}}};
  t["tags"] = {{"failover_priority", 1}, {"sync_priority", 1}, {"noloadbalance", false},
               {"clonefrom", true},      {"nosync", false},      {"nostream", false}};
  return t;
}

// parent[key], made an object when it is absent or something else.
json& object_at(json& parent, const char* key) {
  if (!parent.contains(key) || !parent[key].is_object()) parent[key] = json::object();
  return parent[key];
}

// The string at obj[key]; `fallback` when absent or not a string.
std::string string_at(const json& obj, const char* key, const std::string& fallback = "") {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// The template with the PATRONI_* configuration (or PATRONI_CONFIGURATION) merged in, and the
// default dynamic configuration as bootstrap.dcs.
Result<json, std::string> base_config(const config::EnvMap& env, const GeneratorHost& host) {
  auto loaded = config::load_local_configuration("", env);
  if (!loaded) return make_error(loaded.error().to_string());
  json from_env = loaded->local.is_object() ? loaded->local : json::object();
  json dcs = {{"ttl", 30}, {"loop_wait", 10}, {"retry_timeout", 10},
              {"postgresql", {{"use_slots", true}, {"parameters", default_parameters()}}}};
  if (from_env.contains("bootstrap") && from_env["bootstrap"].is_object() && from_env["bootstrap"].contains("dcs"))
    config::patch_config(dcs, from_env["bootstrap"]["dcs"]);
  dcs.erase("standby_cluster");
  if (!from_env.contains("bootstrap") || !from_env["bootstrap"].is_object()) from_env["bootstrap"] = json::object();
  from_env["bootstrap"]["dcs"] = dcs;
  json t = template_config(host);
  config::patch_config(t, from_env);
  // The variables may have nulled or reshaped what the generators fill in: those parts are
  // objects again (their other values kept where they were objects).
  object_at(object_at(object_at(t, "postgresql"), "authentication"), "superuser");
  object_at(object_at(t["postgresql"], "authentication"), "replication");
  object_at(object_at(object_at(object_at(t, "bootstrap"), "dcs"), "postgresql"), "parameters");
  return t;
}

std::string postgres_binary(const json& config) {
  const json& pg = config.at("postgresql");  // an object (base_config)
  std::string name = "postgres";
  if (auto bn = pg.find("bin_name"); bn != pg.end() && bn->is_object()) name = string_at(*bn, "postgres", "postgres");
  if (name.empty()) name = "postgres";
  const std::string bin_dir = string_at(pg, "bin_dir");
  return bin_dir.empty() ? name : (fs::path(bin_dir) / name).string();
}

// What depends on the server's major version, as Patroni sets it.
void apply_version(json& config, int version, bool set_rewind_from_hints) {
  const std::string method = version >= 100000 ? "scram-sha-256" : "md5";
  json& pg = config["postgresql"];
  pg["parameters"] = {{"password_encryption", method}};
  const std::string repl_user = string_at(pg["authentication"]["replication"], "username", "replicator");
  pg["pg_hba"] = json::array({"host all all all " + method, "host replication " + repl_user + " all " + method});
  json& params = config["bootstrap"]["dcs"]["postgresql"]["parameters"];
  if (version < 130000)
    params["wal_keep_segments"] = 8;
  else
    params["wal_keep_size"] = "128MB";
  params["wal_level"] = version < 90600 ? "hot_standby" : "replica";
  if (set_rewind_from_hints) {
    bool hints = true;
    if (params.contains("wal_log_hints")) {
      const json& h = params["wal_log_hints"];
      if (h.is_boolean()) hints = h.get<bool>();
      else if (h.is_string()) hints = h == "on" || h == "true" || h == "yes" || h == "1";
    }
    config["bootstrap"]["dcs"]["postgresql"]["use_pg_rewind"] = hints;
  }
  if (version >= 110000) {
    json& rewind = pg["authentication"]["rewind"];
    if (!rewind.is_object()) rewind = json::object();
    if (!rewind.contains("username")) rewind["username"] = "rewind_user";
    if (!rewind.contains("password")) rewind["password"] = kFixme;
  }
}

int version_number(const std::string& major) {
  // "15" -> 150000, "9.6" -> 90600
  auto dot = major.find('.');
  const int first = std::atoi(major.substr(0, dot).c_str());
  if (dot == std::string::npos) return first * 10000;
  return first * 10000 + std::atoi(major.substr(dot + 1).c_str()) * 100;
}

std::string indent(const std::string& text, const std::string& prefix) {
  std::string out, line;
  std::istringstream in(text);
  bool first = true;
  while (std::getline(in, line)) {
    out += (first ? "" : "\n") + prefix + line;
    first = false;
  }
  return out;
}

std::string dump_block(const json& object) { return config::yaml_dump(config::to_ordered(object)); }

std::optional<std::string> read_file(const std::string& path, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws) == std::string::npos ? s.size() : s.find_first_not_of(ws));
  auto end = s.find_last_not_of(ws);
  s.erase(end == std::string::npos ? 0 : end + 1);
  return s;
}

}  // namespace

std::string render_generated_config(const json& config) {
  std::vector<std::string> blocks;
  for (const char* key : {"scope", "namespace", "name", "log", "restapi", "ctl", "citus", "consul", "etcd", "etcd3",
                          "exhibitor", "kubernetes", "raft", "zookeeper"}) {
    if (!config.contains(key)) continue;
    const std::string block = trim(dump_block(json{{key, config[key]}}));
    blocks.push_back((config[key].is_object() ? "\n" : "") + block);
  }
  if (config.contains("bootstrap") && config["bootstrap"].is_object()) {
    std::string b =
        "\n# The bootstrap configuration. Works only when the cluster is not yet initialized.\n"
        "# If the cluster is already initialized, all changes in the `bootstrap` section are ignored!\n"
        "bootstrap:\n"
        "  # This section will be written into <dcs>:/<namespace>/<scope>/config after initializing\n"
        "  # new cluster and all other cluster members will use it as a `global configuration`.\n"
        "  # WARNING! If you want to change any of the parameters that were set up\n"
        "  # via `bootstrap.dcs` section, please use `custosctl edit-config` (or `patronictl edit-config`)!\n"
        "  dcs:";
    json dcs = config["bootstrap"].value("dcs", json::object());
    for (const char* key : {"loop_wait", "retry_timeout", "ttl"}) {
      if (!dcs.contains(key)) continue;
      b += "\n" + indent(trim(dump_block(json{{key, dcs[key]}})), "    ");
      dcs.erase(key);
    }
    if (!dcs.empty()) b += "\n" + indent(trim(dump_block(dcs)), "    ");
    json rest = config["bootstrap"];
    rest.erase("dcs");
    if (!rest.empty()) b += "\n" + indent(trim(dump_block(rest)), "  ");
    blocks.push_back(b);
  }
  for (const char* key : {"postgresql", "watchdog", "tags", "custos"}) {
    if (!config.contains(key)) continue;
    blocks.push_back("\n" + trim(dump_block(json{{key, config[key]}})));
  }
  std::string out;
  for (std::size_t i = 0; i < blocks.size(); ++i) out += (i ? "\n" : "") + blocks[i];
  return out;
}

GeneratorHost this_host() {
  GeneratorHost h;
  char name[256] = {};
  h.hostname = h.address = kFixme;
  if (::gethostname(name, sizeof name - 1) == 0 && name[0]) {
    struct addrinfo hints {};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo* res = nullptr;
    const int rc = ::getaddrinfo(name, nullptr, &hints, &res);
    if (rc == 0 && res) {
      std::vector<std::pair<int, std::string>> found;
      for (auto* ai = res; ai; ai = ai->ai_next) {
        char buf[NI_MAXHOST];
        if (::getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) == 0)
          found.emplace_back(ai->ai_family == AF_INET ? 0 : 1, buf);
      }
      ::freeaddrinfo(res);
      std::stable_sort(found.begin(), found.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      if (!found.empty()) {
        h.hostname = name;
        h.address = found.front().second;
      }
    }
    if (h.address == kFixme) std::cerr << "Failed to obtain address: " << (rc ? ::gai_strerror(rc) : "none") << "\n";
  }
  h.postgres_version = [](const std::string& binary) -> Result<int, std::string> {
    auto major = config::default_postgres_major_version(binary);
    if (!major) return make_error("Failed to get postgres version: cannot run '" + binary + " --version'");
    return version_number(*major);
  };
  h.ask_password = [] {
    // As getpass: the terminal, with echo off; stdin when there is no terminal.
    std::string password;
    FILE* tty = std::fopen("/dev/tty", "r+");
    FILE* in = tty ? tty : stdin;
    std::fputs("Please enter the user password: ", tty ? tty : stderr);
    std::fflush(tty ? tty : stderr);
    {
      const TerminalEchoOff quiet(::fileno(in));
      char buf[1024];
      if (std::fgets(buf, sizeof buf, in)) password = buf;
    }
    std::fputs("\n", tty ? tty : stderr);
    if (tty) std::fclose(tty);
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) password.pop_back();
    return password;
  };
  return h;
}

Result<std::string, std::string> generate_sample_config(const config::EnvMap& env, const GeneratorHost& host) {
  auto base = base_config(env, host);
  if (!base) return make_error(base.error());
  json c = std::move(base).value();
  auto version = host.postgres_version(postgres_binary(c));
  if (!version) return make_error(version.error());
  apply_version(c, version.value(), /*set_rewind_from_hints=*/true);
  return render_generated_config(c);
}

Result<std::string, std::string> generate_config_from_server(const std::string& dsn, const config::EnvMap& env,
                                                             const GeneratorHost& host) {
  auto base = base_config(env, host);
  if (!base) return make_error(base.error());
  json c = std::move(base).value();

  std::map<std::string, std::string> params;
  if (!dsn.empty()) {
    auto parsed = parse_conninfo(dsn);
    if (!parsed || parsed->empty()) return make_error(std::string("Failed to parse DSN string"));
    params = std::move(parsed).value();
  }
  // The superuser's settings: the DSN first, then the PG* variables.
  json superuser = json::object();
  const std::pair<const char*, const char*> kKeys[] = {
      {"user", "PGUSER"},           {"password", "PGPASSWORD"},     {"sslmode", "PGSSLMODE"},
      {"sslcert", "PGSSLCERT"},     {"sslkey", "PGSSLKEY"},         {"sslpassword", nullptr},
      {"sslrootcert", "PGSSLROOTCERT"}, {"sslcrl", "PGSSLCRL"},     {"sslcrldir", "PGSSLCRLDIR"},
      {"gssencmode", "PGGSSENCMODE"}, {"channel_binding", "PGCHANNELBINDING"}};
  for (const auto& [key, var] : kKeys) {
    std::string value;
    if (auto it = params.find(key); it != params.end()) value = it->second;
    if (value.empty() && var)
      if (const char* e = std::getenv(var)) value = e;
    if (!value.empty()) superuser[std::string(key) == "user" ? "username" : key] = value;
  }
  if (!superuser.contains("username")) {
    const passwd* pw = ::getpwuid(::geteuid());
    superuser["username"] = pw && pw->pw_name ? pw->pw_name : "postgres";
  }
  if (!superuser.contains("password") && host.ask_password) superuser["password"] = host.ask_password();
  c["postgresql"]["authentication"] = {{"superuser", superuser},
                                       {"replication", {{"username", kFixme}, {"password", kFixme}}}};

  ConninfoParams conninfo;
  for (const auto& [k, v] : params) conninfo.emplace_back(k, v);
  conninfo = with_param(conninfo, "user", superuser["username"].get<std::string>());
  if (superuser.contains("password"))
    conninfo = with_param(conninfo, "password", superuser["password"].get<std::string>());
  PgConnection conn(build_conninfo(conninfo));
  if (auto st = conn.connect(); !st) return make_error("Failed to establish PostgreSQL connection: " + st.error().message);
  auto su = conn.query("SELECT pg_catalog.current_setting('is_superuser')");
  if (!su) return make_error("Failed to establish PostgreSQL connection: " + su.error().message);
  if (su->rows.empty() || su->rows[0].empty() || su->rows[0][0].value_or("") != "on")
    return make_error(std::string("The provided user does not have superuser privilege"));
  const int version = conn.server_version();

  std::string names = "ARRAY[";
  for (std::size_t i = 0; i < std::size(kAlwaysRead); ++i) names += (i ? ",'" : "'") + std::string(kAlwaysRead[i]) + "'";
  names += "]";
  auto rows = conn.query(
      "SELECT name, pg_catalog.current_setting(name) FROM pg_catalog.pg_settings "
      "WHERE context <> 'internal' AND source IN ('configuration file', 'command line', 'environment variable') "
      "AND category <> 'Write-Ahead Log / Recovery Target' AND setting <> '(disabled)' OR name = ANY(" +
      names + ")");
  if (!rows) return make_error("Failed to read the server's settings: " + rows.error().message);

  json& pg = c["postgresql"];
  json& dcs_params = c["bootstrap"]["dcs"]["postgresql"]["parameters"];
  json local_params = json::object();
  std::string port, listen_addresses;
  for (const auto& row : rows->rows) {
    if (row.size() < 2 || !row[0]) continue;
    const std::string name = *row[0];
    const std::string value = row[1].value_or("");
    if (name == "data_directory") {
      pg["data_dir"] = value;
    } else if (name == "cluster_name" && !value.empty()) {
      c["scope"] = value;
    } else if (std::find(std::begin(kLocalParameters), std::end(kLocalParameters), name) != std::end(kLocalParameters)) {
      local_params[name] = value;
    } else if (name == "port") {
      port = value;
    } else if (name == "listen_addresses") {
      listen_addresses = value;
    } else {
      dcs_params[name] = value;
    }
  }
  if (!local_params.empty()) pg["parameters"] = local_params;
  else pg.erase("parameters");
  std::string connect_host = string_at(pg, "connect_address");
  connect_host = connect_host.substr(0, connect_host.rfind(':'));
  std::string connect_port = port;
  if (auto it = params.find("port"); it != params.end() && !it->second.empty()) connect_port = it->second;
  else if (const char* e = std::getenv("PGPORT"); e && *e) connect_port = e;
  pg["connect_address"] = connect_host + ":" + connect_port;
  pg["listen"] = listen_addresses + ":" + port;

  const std::string data_dir = string_at(pg, "data_dir");
  std::string error;
  // pg_hba.conf / pg_ident.conf, read only from their default place in the data directory:
  // the trimmed lines `keep` accepts.
  auto lines_of = [&](const char* setting, const char* file,
                      const std::function<bool(const std::string&)>& keep) -> Result<std::optional<json>, std::string> {
    if (string_at(local_params, setting) != (fs::path(data_dir) / file).string()) return std::optional<json>();
    auto text = read_file(local_params[setting].get<std::string>(), error);
    if (!text) return make_error("Failed to read " + std::string(file) + ": " + error);
    json kept = json::array();
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);)
      if (line = trim(line); !line.empty() && keep(line)) kept.push_back(line);
    return std::optional<json>(std::move(kept));
  };
  auto hba = lines_of("hba_file", "pg_hba.conf", [version](const std::string& line) {
    static const std::vector<std::string> kTypes = {"local", "host", "hostssl", "hostnossl", "hostgssenc",
                                                    "hostnogssenc"};
    static const std::vector<std::string> kIncludes = {"include", "include_if_exists", "include_dir"};
    const std::string first = line.substr(0, line.find_first_of(" \t"));
    return std::find(kTypes.begin(), kTypes.end(), first) != kTypes.end() ||
           (version >= 160000 && std::find(kIncludes.begin(), kIncludes.end(), first) != kIncludes.end());
  });
  if (!hba) return make_error(hba.error());
  if (*hba) pg["pg_hba"] = **hba;
  auto ident = lines_of("ident_file", "pg_ident.conf", [](const std::string& line) { return line[0] != '#'; });
  if (!ident) return make_error(ident.error());
  if (*ident && !(*ident)->empty()) pg["pg_ident"] = **ident;

  auto pid_text = read_file((fs::path(data_dir) / "postmaster.pid").string(), error);
  if (!pid_text) return make_error("Error while reading postmaster.pid file: " + error);
  const std::string pid_line = trim(pid_text->substr(0, pid_text->find('\n')));
  if (pid_line.empty()) return make_error(std::string("Failed to obtain postmaster pid from postmaster.pid file"));
  if (pid_line.find_first_not_of("0123456789") != std::string::npos)
    return make_error("Unexpected exception: invalid postmaster pid '" + pid_line + "'");
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/" + pid_line + "/exe", ec);
  if (ec) return make_error(std::string("Obtained postmaster pid doesn't exist."));
  pg["bin_dir"] = exe.parent_path().string();
  return render_generated_config(c);
}

}  // namespace custos::postgres
