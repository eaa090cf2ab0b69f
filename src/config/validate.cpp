#include "config/validate.h"

#include "common/presentation.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <set>

#include "common/json_truth.h"
#include "common/python_int.h"
#include "config/config.h"
#include "config/dynamic.h"
#include "config/loader.h"
#include "config/values.h"
#include "config/yaml.h"

namespace custos::config {

namespace fs = std::filesystem;

std::string Problem::to_string() const {
  return std::string(severity == Severity::kError ? "ERROR  " : "WARNING ") + (path.empty() ? "(root)" : path) +
         ": " + message;
}

bool has_errors(const std::vector<Problem>& problems) {
  for (const auto& p : problems)
    if (p.severity == Severity::kError) return true;
  return false;
}

namespace {

using KeySet = std::set<std::string>;

const KeySet kTopLevelKeys = {"name", "scope", "namespace", "log", "restapi", "ctl", "bootstrap", "citus",
                              "postgresql", "watchdog", "tags", "consul", "etcd", "etcd3", "exhibitor",
                              "kubernetes", "raft", "zookeeper", "custos"};
// custos's own section (not read by Patroni, which ignores it).
const KeySet kCustosKeys = {"compat"};
// Dynamic-only keys: accepted at the top level but without effect there.
const KeySet kDynamicKeys = {"ttl", "loop_wait", "retry_timeout", "maximum_lag_on_failover",
                             "maximum_lag_on_syncnode", "max_timelines_history", "primary_start_timeout",
                             "primary_stop_timeout", "master_start_timeout", "master_stop_timeout",
                             "synchronous_mode", "synchronous_mode_strict", "synchronous_node_count",
                             "failsafe_mode", "check_timeline", "pause", "standby_cluster", "slots",
                             "permanent_slots", "permanent_replication_slots", "ignore_slots"};
// Every key a dynamic configuration (DCS `config`, bootstrap.dcs) may hold.
const KeySet kDynamicConfigurationKeys = [] {
  KeySet keys = kDynamicKeys;
  keys.insert({"postgresql", "member_slots_ttl"});
  return keys;
}();
const KeySet kLogKeys = {"type", "level", "traceback_level", "format", "dateformat", "static_fields",
                         "max_queue_size", "dir", "file_num", "file_size", "mode", "loggers",
                         "deduplicate_heartbeat_logs"};
const KeySet kRestapiKeys = {"listen", "connect_address", "authentication", "certfile", "keyfile",
                             "keyfile_password", "cafile", "ciphers", "verify_client", "allowlist",
                             "allowlist_include_members", "http_extra_headers", "https_extra_headers",
                             "request_queue_size", "server_tokens"};
const KeySet kCtlKeys = {"authentication", "insecure", "cacert", "certfile", "keyfile", "keyfile_password"};
const KeySet kBasicAuthKeys = {"username", "password"};
const KeySet kBootstrapKeys = {"dcs", "method", "initdb", "post_bootstrap", "post_init", "users", "pg_hba"};
const KeySet kPostgresqlKeys = {
    "listen", "connect_address", "proxy_address", "data_dir", "config_dir", "config_base_name", "custom_conf",
    "bin_dir", "bin_name", "database", "pgpass", "authentication", "parameters", "pg_hba", "pg_ident",
    "pg_ctl_timeout", "use_pg_rewind", "remove_data_directory_on_rewind_failure",
    "remove_data_directory_on_diverged_timelines", "use_unix_socket", "use_unix_socket_repl", "recovery_conf",
    "create_replica_methods", "create_replica_method", "basebackup", "callbacks", "pre_promote", "before_stop",
    "krbsrvname",
    // legacy forms
    "name", "replication", "superuser", "pg_rewind", "use_slots"};
const KeySet kBinNameKeys = {"pg_ctl", "initdb", "pg_controldata", "pg_basebackup", "postgres", "pg_isready",
                             "pg_rewind"};
const KeySet kPgAuthKeys(kAuthenticationKeys.begin(), kAuthenticationKeys.end());
const KeySet kCallbackKeys = {"on_start", "on_stop", "on_restart", "on_reload", "on_role_change"};
const KeySet kWatchdogKeys = {"mode", "device", "safety_margin", "driver"};
const KeySet kCitusKeys = {"group", "database"};
const KeySet kStandbyClusterKeys = {"host", "port", "primary_slot_name", "create_replica_methods",
                                    "restore_command", "archive_cleanup_command", "recovery_min_apply_delay"};
const KeySet kPropagatedKeys = {"namespace", "name", "scope", "loop_wait", "ttl", "retry_timeout"};
const std::map<std::string, KeySet> kDcsKeys = {
    {"etcd", {"host", "hosts", "url", "proxy", "srv", "discovery_srv", "srv_domain", "srv_suffix", "use_proxies",
              "protocol", "username", "password", "cacert", "cert", "key"}},
    {"etcd3", {"host", "hosts", "url", "proxy", "srv", "discovery_srv", "srv_domain", "srv_suffix", "use_proxies",
               "protocol", "username", "password", "cacert", "cert", "key"}},
    {"zookeeper", {"hosts", "use_ssl", "cacert", "cert", "key", "key_password", "verify", "set_acls", "auth_data",
                   "exhibitor"}},
    {"consul", {"host", "url", "port", "scheme", "token", "verify", "cacert", "cert", "key", "dc", "consistency",
                "checks", "register_service", "service_tags", "service_check_interval",
                "service_check_tls_server_name"}},
    {"kubernetes", {"labels", "namespace", "scope_label", "role_label", "leader_label_value", "follower_label_value",
                    "standby_leader_label_value", "tmp_role_label", "use_endpoints", "pod_ip", "ports", "cacert",
                    "retriable_http_codes", "bypass_api_service", "context"}},
    {"exhibitor", {"hosts", "port", "poll_interval"}},
    {"raft", {"self_addr", "bind_addr", "partner_addrs", "data_dir", "password"}},
};
const KeySet kInitdbForbidden = {"pgdata", "nosync", "pwfile", "sync-only", "version"};
const KeySet kBasebackupForbidden = {"pgdata", "format", "wal-method", "xlog-method", "gzip", "version",
                                     "compress", "dbname", "host", "port", "username", "password"};

// PostgreSQL parameter ranges checked by Patroni's schema (config.md §5.2).
struct Range {
  int64_t min, max;
};
const std::map<std::string, Range> kParameterRanges = {
    {"max_connections", {1, 262143}},
    {"max_locks_per_transaction", {10, 2147483647}},
    {"max_prepared_transactions", {0, 262143}},
    {"max_replication_slots", {0, 262143}},
    {"max_wal_senders", {0, 262143}},
    {"max_worker_processes", {0, 262143}},
};

std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

struct HostPort {
  std::string host;
  std::optional<int> port;
  bool port_invalid = false;
};

// "host:port", "[v6]:port", "h1,h2:port". Without ':' the whole text is the host.
HostPort split_host_port(const std::string& value) {
  HostPort hp;
  auto colon = value.rfind(':');
  if (colon == std::string::npos) {
    hp.host = value;
    return hp;
  }
  hp.host = value.substr(0, colon);
  std::string port = trim(value.substr(colon + 1));
  auto p = parse_int(port);
  bool digits = !port.empty() && port.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || !p || *p < 1 || *p > 65535) hp.port_invalid = true;
  else hp.port = static_cast<int>(*p);
  if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']') hp.host = hp.host.substr(1, hp.host.size() - 2);
  return hp;
}

class Validator {
 public:
  explicit Validator(const ValidateOptions& options) : opt_(options) {}

  std::vector<Problem> problems;

  void error(const std::string& path, const std::string& msg) { problems.push_back({Severity::kError, path, msg}); }
  void warning(const std::string& path, const std::string& msg) {
    problems.push_back({Severity::kWarning, path, msg});
  }

  // ---- type helpers: each returns true when the value is usable as that type ----
  bool is_map(const json& v, const std::string& path) {
    if (v.is_object()) return true;
    error(path, "expected a mapping, got " + type_name(v) + " " + show(v));
    return false;
  }

  bool is_string(const json& v, const std::string& path, bool allow_empty = true) {
    if (v.is_string()) {
      if (!allow_empty && v.get_ref<const std::string&>().empty()) {
        error(path, "must not be an empty string");
        return false;
      }
      return true;
    }
    error(path, "expected a string, got " + type_name(v) + " " + show(v));
    return false;
  }

  std::optional<int64_t> as_int(const json& v, const std::string& path) {
    if (v.is_number_integer()) {
      if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        // Python keeps any integer; Patroni's validator takes it. Said, not refused.
        warning(path, "integer beyond 64 bits, got " + show(v) + " (custos reads it as the nearest value it can hold)");
        return std::nullopt;
      }
      return v.get<int64_t>();
    }
    if (v.is_number_float()) {
      double d = v.get<double>();
      if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) >= 9.2e18) {
        // A YAML integer beyond 64 bits arrives here as its nearest double (yaml.cpp).
        warning(path, "integer beyond 64 bits, got " + show(v) + " (custos reads it as the nearest value it can hold)");
      } else {
        error(path, "expected an integer, got float " + show(v));
      }
      return std::nullopt;
    }
    if (v.is_string()) {
      auto i = parse_int(v.get_ref<const std::string&>());
      if (i) {
        warning(path, "expected an integer, got string " + show(v) + " (accepted as " + std::to_string(*i) + ")");
        return i;
      }
    }
    error(path, "expected an integer, got " + type_name(v) + " " + show(v));
    return std::nullopt;
  }

  static constexpr int64_t kNoMin = std::numeric_limits<int64_t>::min();
  static constexpr int64_t kNoMax = std::numeric_limits<int64_t>::max();

  std::optional<int64_t> int_in(const json& v, const std::string& path, int64_t min = kNoMin,
                                int64_t max = kNoMax) {
    auto i = as_int(v, path);
    if (!i) return std::nullopt;
    int64_t x = *i;
    if (x < min) {
      error(path, "must be >= " + std::to_string(min) + ", got " + std::to_string(x));
      return std::nullopt;
    }
    if (x > max) {
      error(path, "must be <= " + std::to_string(max) + ", got " + std::to_string(x));
      return std::nullopt;
    }
    return x;
  }

  bool is_bool(const json& v, const std::string& path) {
    if (v.is_boolean()) return true;
    if (v.is_number_integer() && (v == 0 || v == 1)) return true;  // Patroni's docs write `no_master: 1`
    if (auto b = patroni_parse_bool(v)) {
      if (!v.is_boolean()) warning(path, "expected a boolean, got " + type_name(v) + " " + show(v) +
                                             " (accepted as " + (*b ? "true" : "false") + ")");
      return true;
    }
    error(path, "expected a boolean (true/false), got " + type_name(v) + " " + show(v));
    return false;
  }

  bool is_list_of_strings(const json& v, const std::string& path) {
    if (!v.is_array()) {
      error(path, "expected a list of strings, got " + type_name(v) + " " + show(v));
      return false;
    }
    bool ok = true;
    for (std::size_t i = 0; i < v.size(); ++i)
      if (!is_string(v[i], path + "[" + std::to_string(i) + "]")) ok = false;
    return ok;
  }

  // Strings, or a list of strings, or a comma separated string.
  bool is_hosts(const json& v, const std::string& path) {
    if (v.is_string()) return true;
    return is_list_of_strings(v, path);
  }

  bool one_of(const json& v, const std::string& path, const KeySet& allowed, bool case_insensitive = false) {
    if (!is_string(v, path)) return false;
    std::string s = case_insensitive ? to_lower(v.get<std::string>()) : v.get<std::string>();
    if (allowed.count(s)) return true;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    error(path, "must be one of " + list + ", got " + show(v));
    return false;
  }

  void unknown_keys(const json& obj, const std::string& path, const KeySet& known) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (!known.count(it.key())) warning(join(path, it.key()), "unknown key (ignored)");
  }

  // obj[key] if present and not null.
  static const json* get(const json& obj, const std::string& key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }

  template <class F>
  void opt(const json& obj, const std::string& path, const std::string& key, F check) {
    if (const json* v = get(obj, key)) check(*v, join(path, key));
  }
  void opt_string(const json& obj, const std::string& path, const std::string& key) {
    opt(obj, path, key, [&](const json& v, const std::string& p) { is_string(v, p); });
  }
  void opt_bool(const json& obj, const std::string& path, const std::string& key) {
    opt(obj, path, key, [&](const json& v, const std::string& p) { is_bool(v, p); });
  }
  // A boolean that Patroni (and custos) read with Python truthiness, not parse_bool: a quoted
  // "false" means true. Strings are accepted as they are read, with a warning saying so.
  bool is_truthy_bool(const json& v, const std::string& path) {
    if (!v.is_string()) return is_bool(v, path);
    const std::string& s = v.get_ref<const std::string&>();
    if (s.empty()) {
      warning(path, "the empty string is read as false; write an unquoted boolean (true or false)");
      return true;
    }
    std::string hint = "true or false";
    if (auto meant = patroni_parse_bool(s)) hint = *meant ? "true" : "false";
    warning(path, "the string " + show(v) + " is read as true: Patroni and custos read any non-empty string " +
                      "here as true; write an unquoted boolean (" + hint + ")");
    return true;
  }
  void opt_truthy_bool(const json& obj, const std::string& path, const std::string& key) {
    opt(obj, path, key, [&](const json& v, const std::string& p) { is_truthy_bool(v, p); });
  }
  void opt_map(const json& obj, const std::string& path, const std::string& key) {
    opt(obj, path, key, [&](const json& v, const std::string& p) { is_map(v, p); });
  }
  void opt_int(const json& obj, const std::string& path, const std::string& key, int64_t min = kNoMin,
               int64_t max = kNoMax) {
    opt(obj, path, key, [&](const json& v, const std::string& p) { int_in(v, p, min, max); });
  }

  // ---- addresses ----
  std::optional<HostPort> host_port(const json& v, const std::string& path, bool port_required) {
    if (!is_string(v, path, false)) return std::nullopt;
    HostPort hp = split_host_port(v.get<std::string>());
    if (hp.port_invalid) {
      error(path, "must be host:port with a port in 1..65535, got " + show(v));
      return std::nullopt;
    }
    if (port_required && !hp.port) {
      error(path, "must be host:port, the port is missing in " + show(v));
      return std::nullopt;
    }
    return hp;
  }

  void connect_address(const json& v, const std::string& path, bool port_required) {
    auto hp = host_port(v, path, port_required);
    if (!hp) return;
    // Patroni's list; "::" is accepted by Patroni and named in a warning.
    static const KeySet kBad = {"127.0.0.1", "0.0.0.0", "*", "::1", "localhost", ""};
    if (kBad.count(to_lower(hp->host))) {
      error(path, "must not be a loopback or wildcard address (127.0.0.1, 0.0.0.0, *, ::1, localhost): "
                  "other members connect to it, got " + show(v));
    } else if (hp->host == "::") {
      warning(path, "\"::\" is a wildcard address: other members cannot connect to it, got " + show(v));
    }
  }

  // ---- sections ----
  void validate(const json& config) {
    if (!config.is_object()) {
      error("(root)", "the configuration must be a mapping, got " + type_name(config));
      return;
    }
    if (config.empty()) {
      error("(root)", "the configuration is empty");
      return;
    }
    for (auto it = config.begin(); it != config.end(); ++it) {
      if (kTopLevelKeys.count(it.key())) continue;
      if (kDynamicKeys.count(it.key())) {
        warning(it.key(), "dynamic configuration key has no effect in the local configuration; set it in "
                          "bootstrap.dcs (or with custosctl edit-config)");
      } else {
        warning(it.key(), "unknown key (ignored)");
      }
    }

    // name (legacy postgresql.name), scope, namespace
    const json* pg = get(config, "postgresql");
    if (const json* n = get(config, "name")) {
      is_string(*n, "name", false);
    } else if (pg && pg->is_object() && get(*pg, "name")) {
      is_string((*pg)["name"], "postgresql.name", false);
    } else {
      error("name", "required key is missing (the member name)");
    }
    if (const json* s = get(config, "scope")) is_string(*s, "scope", false);
    else error("scope", "required key is missing (the cluster name)");
    opt_string(config, "", "namespace");

    if (const json* v = get(config, "log")) log(*v, "log");
    if (const json* v = get(config, "restapi")) restapi(*v, "restapi");
    else error("restapi", "required section is missing (needs listen and connect_address)");
    if (const json* v = get(config, "ctl")) ctl(*v, "ctl");
    if (const json* v = get(config, "bootstrap")) bootstrap(*v, "bootstrap");
    if (const json* v = get(config, "citus")) citus(*v, "citus");
    if (pg) postgresql(*pg, "postgresql");
    else error("postgresql", "required section is missing (needs listen, data_dir and authentication)");
    if (const json* v = get(config, "watchdog")) watchdog(*v, "watchdog", config);
    if (const json* v = get(config, "tags")) tags(*v, "tags");
    if (const json* v = get(config, "custos")) custos(*v, "custos");
    dcs_sections(config);
  }

  void log(const json& v, const std::string& path) {
    if (!is_map(v, path)) return;
    unknown_keys(v, path, kLogKeys);
    static const KeySet kLevels = {"DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL", "CRITICAL"};
    opt(v, path, "type", [&](const json& x, const std::string& p) { one_of(x, p, {"plain", "json"}); });
    opt(v, path, "level", [&](const json& x, const std::string& p) { one_of(x, p, kLevels); });
    opt(v, path, "traceback_level", [&](const json& x, const std::string& p) { one_of(x, p, {"DEBUG", "ERROR"}); });
    opt(v, path, "format", [&](const json& x, const std::string& p) {
      if (x.is_string()) return;
      if (!x.is_array()) {
        error(p, "expected a string or a list of fields, got " + type_name(x));
        return;
      }
      for (std::size_t i = 0; i < x.size(); ++i) {
        const json& f = x[i];
        std::string fp = p + "[" + std::to_string(i) + "]";
        if (f.is_string()) continue;
        if (f.is_object()) {
          for (auto it = f.begin(); it != f.end(); ++it) is_string(it.value(), join(fp, it.key()));
          continue;
        }
        error(fp, "expected a field name or {field: renamed}, got " + type_name(f));
      }
    });
    opt_string(v, path, "dateformat");
    opt_map(v, path, "static_fields");
    opt_int(v, path, "max_queue_size", 1);
    opt_string(v, path, "dir");
    opt_int(v, path, "file_num", 1);
    opt_int(v, path, "file_size", 1);
    opt(v, path, "loggers", [&](const json& x, const std::string& p) {
      if (!is_map(x, p)) return;
      for (auto it = x.begin(); it != x.end(); ++it) one_of(it.value(), join(p, it.key()), kLevels);
    });
  }

  void basic_auth(const json& v, const std::string& path) {
    if (!is_map(v, path)) return;
    unknown_keys(v, path, kBasicAuthKeys);
    if (const json* u = get(v, "username")) is_string(*u, join(path, "username"));
    else error(join(path, "username"), "required key is missing");
    if (const json* pw = get(v, "password")) is_string(*pw, join(path, "password"));
    else error(join(path, "password"), "required key is missing");
  }

  void restapi(const json& v, const std::string& path) {
    if (!is_map(v, path)) return;
    unknown_keys(v, path, kRestapiKeys);
    opt(v, path, "server_tokens", [&](const json& x, const std::string& p) {
      std::string t = x.is_string() ? x.get<std::string>() : "";
      for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (t != "original" && t != "productonly" && t != "minimal")
        warning(p, "must be Original, ProductOnly or Minimal, got " + x.dump() + " (Original is used)");
    });
    if (const json* l = get(v, "listen")) {
      auto hp = host_port(*l, join(path, "listen"), true);
      if (hp && opt_.check_listen_port) {
        auto check = opt_.port_is_free ? opt_.port_is_free : default_port_is_free;
        if (!check(hp->host, *hp->port)) {
          error(join(path, "listen"), "cannot listen on " + show(*l) + ": the port is already in use or the "
                                      "address is not local");
        }
      }
    } else {
      error(join(path, "listen"), "required key is missing (host:port the REST API listens on)");
    }
    if (const json* c = get(v, "connect_address")) connect_address(*c, join(path, "connect_address"), true);
    else error(join(path, "connect_address"), "required key is missing (host:port advertised to other members)");
    opt(v, path, "authentication", [&](const json& x, const std::string& p) { basic_auth(x, p); });
    for (const char* k : {"certfile", "keyfile", "keyfile_password", "cafile", "ciphers"}) opt_string(v, path, k);
    opt(v, path, "verify_client",
        [&](const json& x, const std::string& p) { one_of(x, p, {"none", "optional", "required"}); });
    opt(v, path, "allowlist", [&](const json& x, const std::string& p) { is_list_of_strings(x, p); });
    opt_bool(v, path, "allowlist_include_members");
    opt_map(v, path, "http_extra_headers");
    opt_map(v, path, "https_extra_headers");
    opt_int(v, path, "request_queue_size", 0, 4096);
    if (get(v, "keyfile") && !get(v, "certfile")) {
      warning(join(path, "keyfile"), "keyfile without certfile: HTTPS is enabled only by certfile");
    }
  }

  void custos(const json& v, const std::string& path) {
    if (!is_map(v, path)) return;
    unknown_keys(v, path, kCustosKeys);
    opt(v, path, "compat", [&](const json& x, const std::string& p) {
      if (!x.is_null() && !parse_patroni_generation(x))
        error(p, "the Patroni generation to present must be \"3.3\" or \"4.1\", got " + x.dump());
    });
  }

  void ctl(const json& v, const std::string& path) {
    if (!is_map(v, path)) return;
    unknown_keys(v, path, kCtlKeys);
    opt(v, path, "authentication", [&](const json& x, const std::string& p) { basic_auth(x, p); });
    opt_truthy_bool(v, path, "insecure");
    for (const char* k : {"cacert", "certfile", "keyfile", "keyfile_password"}) opt_string(v, path, k);
  }

  // initdb / basebackup option lists: "flag", {opt: value}, or a mapping.
  void tool_options(const json& v, const std::string& path, const KeySet& forbidden, const std::string& tool) {
    auto check_name = [&](const std::string& name, const std::string& p) {
      if (forbidden.count(name)) error(p, "option '" + name + "' is not allowed for " + tool + " (custos sets it)");
    };
    auto check_value = [&](const json& x, const std::string& p) {
      if (x.is_object() || x.is_array()) error(p, "option value must be a scalar, got " + type_name(x));
    };
    if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        check_name(it.key(), join(path, it.key()));
        check_value(it.value(), join(path, it.key()));
      }
      return;
    }
    if (!v.is_array()) {
      error(path, "expected a list of options (flag or {option: value}), got " + type_name(v));
      return;
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
      const json& item = v[i];
      std::string p = path + "[" + std::to_string(i) + "]";
      if (item.is_string()) {
        check_name(item.get<std::string>(), p);
      } else if (item.is_object()) {
        for (auto it = item.begin(); it != item.end(); ++it) {
          check_name(it.key(), p);
          check_value(it.value(), join(p, it.key()));
        }
      } else {
        error(p, "expected an option name or {option: value}, got " + type_name(item) + " " + show(item));
      }
    }
  }

  void bootstrap(const json& v, const std::string& path) {
    if (!is_map(v, path)) return;
    if (const json* d = get(v, "dcs")) {
      if (is_map(*d, join(path, "dcs"))) {
        auto sub = validate_dynamic_configuration(*d, join(path, "dcs"));
        problems.insert(problems.end(), sub.begin(), sub.end());
      }
    }
    std::string method = "initdb";
    if (const json* m = get(v, "method")) {
      if (is_string(*m, join(path, "method"), false)) method = m->get<std::string>();
    }
    if (method != "initdb") {
      const json* section = get(v, method);
      if (!section) {
        warning(join(path, "method"), "bootstrap method '" + method + "' has no bootstrap." + method +
                                           " section: initdb runs instead, as in Patroni");
      } else if (is_map(*section, join(path, method))) {
        if (const json* c = get(*section, "command")) is_string(*c, join(join(path, method), "command"), false);
        else warning(join(join(path, method), "command"),
                     "missing: without a command the custom bootstrap method is not used and initdb runs, as in "
                     "Patroni");
        opt_bool(*section, join(path, method), "no_params");
        opt_bool(*section, join(path, method), "keep_existing_recovery_conf");
        opt_map(*section, join(path, method), "recovery_conf");
      }
    }
    opt(v, path, "initdb",
        [&](const json& x, const std::string& p) { tool_options(x, p, kInitdbForbidden, "initdb"); });
    opt_string(v, path, "post_bootstrap");
    opt_string(v, path, "post_init");
    opt(v, path, "pg_hba", [&](const json& x, const std::string& p) { is_list_of_strings(x, p); });
    opt(v, path, "users", [&](const json& x, const std::string& p) {
      if (!is_map(x, p)) return;
      warning(p, "deprecated: create roles in post_bootstrap instead");
      for (auto it = x.begin(); it != x.end(); ++it) {
        std::string up = join(p, it.key());
        if (it.value().is_null()) continue;
        if (!is_map(it.value(), up)) continue;
        unknown_keys(it.value(), up, {"password", "options"});
        opt_string(it.value(), up, "password");
        opt(it.value(), up, "options", [&](const json& o, const std::string& op) { is_list_of_strings(o, op); });
      }
    });
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (kBootstrapKeys.count(it.key()) || it.key() == method) continue;
      // Other mappings are custom bootstrap method sections (free-form); anything else is unknown.
      if (!it.value().is_object()) warning(join(path, it.key()), "unknown key (ignored)");
    }
  }

  void parameters(const json& v, const std::string& path, bool local) {
    if (!is_map(v, path)) return;
    for (auto it = v.begin(); it != v.end(); ++it) {
      std::string p = join(path, it.key());
      std::string lname = to_lower(it.key());
      const json& value = it.value();
      if (value.is_object() || value.is_array()) {
        error(p, "a PostgreSQL parameter value must be a scalar, got " + type_name(value));
        continue;
      }
      auto range = kParameterRanges.find(lname);
      if (range != kParameterRanges.end()) {
        if (!int_in(value, p, range->second.min, range->second.max)) continue;
      }
      const CommandLineParameter* cmd = find_command_line_parameter(lname);
      if (!cmd) continue;
      if (cmd->default_value.is_null()) {
        warning(p, "is set by custos from postgresql.listen / scope; this value is ignored");
      } else if (local) {
        warning(p, "command-line parameter: only the dynamic configuration (bootstrap.dcs) sets it; the local "
                   "value is ignored");
      } else if (!cmd->valid(value)) {
        warning(p, "value " + show(value) + " is not accepted for this parameter; the default " +
                       show(cmd->default_value) + " is used");
      }
    }
  }

  void pg_user(const json& v, const std::string& path, bool username_required) {
    if (!is_map(v, path)) return;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!kPgAuthKeys.count(it.key())) warning(join(path, it.key()), "unknown key (dropped)");
      else if (!it.value().is_null()) is_string(it.value(), join(path, it.key()));
    }
    if (username_required && !get(v, "username")) error(join(path, "username"), "required key is missing");
  }

  void postgresql(const json& v, const std::string& path) {
    if (!is_map(v, path)) return;
    // Replica methods named anywhere make their sections known.
    KeySet methods;
    auto collect = [&](const json* m) {
      if (!m) return;
      if (m->is_string()) methods.insert(m->get<std::string>());
      if (m->is_array())
        for (const auto& x : *m)
          if (x.is_string()) methods.insert(x.get<std::string>());
    };
    collect(get(v, "create_replica_methods"));
    collect(get(v, "create_replica_method"));
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (kPostgresqlKeys.count(it.key()) || methods.count(it.key())) continue;
      if (it.value().is_object() && it.value().contains("command")) continue;  // a replica method section
      warning(join(path, it.key()), "unknown key (ignored)");
    }

    if (const json* l = get(v, "listen")) {
      auto hp = host_port(*l, join(path, "listen"), false);
      if (hp) {
        std::string hosts = hp->host;
        std::size_t start = 0;
        while (start <= hosts.size()) {
          auto comma = hosts.find(',', start);
          std::string h = trim(hosts.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
          if (h.empty()) error(join(path, "listen"), "empty host in " + show(*l));
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
      }
    } else {
      error(join(path, "listen"), "required key is missing (h1[,h2...]:port PostgreSQL listens on)");
    }
    opt(v, path, "connect_address", [&](const json& x, const std::string& p) { connect_address(x, p, false); });
    opt(v, path, "proxy_address", [&](const json& x, const std::string& p) { host_port(x, p, false); });
    if (const json* d = get(v, "data_dir")) {
      if (is_string(*d, join(path, "data_dir"), false)) data_dir(d->get<std::string>(), join(path, "data_dir"), v);
    } else {
      error(join(path, "data_dir"), "required key is missing");
    }
    for (const char* k : {"config_dir", "config_base_name", "custom_conf", "bin_dir", "database", "pre_promote",
                          "before_stop", "krbsrvname"})
      opt_string(v, path, k);
    opt(v, path, "pgpass", [&](const json& x, const std::string& p) {
      if (!is_string(x, p, false)) return;
      std::error_code ec;
      const std::string s = x.get<std::string>();
      if (fs::exists(s, ec) && !fs::is_regular_file(s, ec)) error(p, "exists and is not a file: " + s);
    });
    opt(v, path, "bin_name", [&](const json& x, const std::string& p) {
      if (!is_map(x, p)) return;
      unknown_keys(x, p, kBinNameKeys);
      for (const auto& k : kBinNameKeys) opt_string(x, p, k);
    });

    // authentication (or the legacy form)
    if (const json* a = get(v, "authentication")) {
      std::string ap = join(path, "authentication");
      if (is_map(*a, ap)) {
        unknown_keys(*a, ap, {"superuser", "replication", "rewind"});
        for (const char* u : {"superuser", "replication"}) {
          if (const json* e = get(*a, u)) pg_user(*e, join(ap, u), true);
          else error(join(ap, u), "required key is missing (username/password of the " + std::string(u) + " role)");
        }
        opt(*a, ap, "rewind", [&](const json& x, const std::string& p) { pg_user(x, p, true); });
      }
    } else {
      bool legacy = false;
      for (const char* u : {"superuser", "replication", "pg_rewind"}) {
        if (const json* e = get(v, u)) {
          legacy = true;
          pg_user(*e, join(path, u), true);
        }
      }
      if (!legacy) {
        error(join(path, "authentication"), "required key is missing (superuser and replication roles)");
      } else {
        if (!get(v, "replication")) error(join(path, "authentication.replication"), "required key is missing");
        if (!get(v, "superuser") && !get(v, "pg_rewind"))
          error(join(path, "authentication.superuser"), "required key is missing");
      }
    }
    opt(v, path, "parameters", [&](const json& x, const std::string& p) { parameters(x, p, true); });
    opt(v, path, "pg_hba", [&](const json& x, const std::string& p) { is_list_of_strings(x, p); });
    opt(v, path, "pg_ident", [&](const json& x, const std::string& p) { is_list_of_strings(x, p); });
    opt_int(v, path, "pg_ctl_timeout", 0);
    for (const char* k : {"use_pg_rewind", "remove_data_directory_on_rewind_failure",
                          "remove_data_directory_on_diverged_timelines"})
      opt_truthy_bool(v, path, k);
    for (const char* k : {"use_unix_socket", "use_unix_socket_repl"}) opt_bool(v, path, k);
    opt(v, path, "use_slots", [&](const json&, const std::string& p) {
      warning(p, "postgresql.use_slots is global: set it in bootstrap.dcs.postgresql; the local value is ignored");
    });
    opt_map(v, path, "recovery_conf");
    for (const char* k : {"create_replica_methods", "create_replica_method"}) {
      opt(v, path, k, [&](const json& x, const std::string& p) {
        if (x.is_string()) return;
        if (!is_list_of_strings(x, p)) return;
        for (const auto& m : x) {
          std::string name = m.get<std::string>();
          if (name == "basebackup") continue;
          const json* s = get(v, name);
          if (!s || !s->is_object() || !get(*s, "command")) {
            warning(p, "replica method '" + name + "' has no postgresql." + name + ".command; it will be skipped");
          }
        }
      });
    }
    opt(v, path, "basebackup",
        [&](const json& x, const std::string& p) { tool_options(x, p, kBasebackupForbidden, "pg_basebackup"); });
    opt(v, path, "callbacks", [&](const json& x, const std::string& p) {
      if (!is_map(x, p)) return;
      unknown_keys(x, p, kCallbackKeys);
      for (const auto& k : kCallbackKeys) opt_string(x, p, k);
    });
    // Replica method sections.
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (kPostgresqlKeys.count(it.key()) || !it.value().is_object()) continue;
      std::string p = join(path, it.key());
      opt_string(it.value(), p, "command");
      for (const char* k : {"no_params", "keep_data"}) opt_bool(it.value(), p, k);
      for (const char* k : {"no_leader", "no_master"}) opt_truthy_bool(it.value(), p, k);
    }
  }

  void data_dir(const std::string& dir, const std::string& path, const json& pg) {
    if (!opt_.check_data_dir) return;
    std::error_code ec;
    if (!fs::exists(dir, ec)) return;
    if (!fs::is_directory(dir, ec)) {
      error(path, "exists and is not a directory: " + dir);
      return;
    }
    bool empty = true;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string n = e.path().filename().string();
      if (n.empty() || n[0] == '.' || n == "lost+found") continue;
      empty = false;
      break;
    }
    if (ec) {
      error(path, "cannot read directory " + dir + ": " + ec.message());
      return;
    }
    if (empty) return;
    fs::path version_file = fs::path(dir) / "PG_VERSION";
    if (!fs::is_regular_file(version_file, ec)) {
      error(path, "is not empty and has no PG_VERSION: does not look like a PostgreSQL data directory: " + dir);
      return;
    }
    std::ifstream in(version_file);
    std::string version;
    std::getline(in, version);
    version = trim(version);
    double numeric = std::strtod(version.c_str(), nullptr);
    if (version.empty() || numeric <= 0) {
      error(path, "PG_VERSION holds no version: " + dir);
      return;
    }
    std::string waldir = numeric >= 10 ? "pg_wal" : "pg_xlog";
    if (!fs::is_directory(fs::path(dir) / waldir, ec)) {
      error(path, "is not empty but has no " + waldir + " directory: " + dir);
      return;
    }
    if (!opt_.check_postgres_version) return;
    std::string binary = "postgres";
    if (const json* bn = get(pg, "bin_name"); bn && bn->is_object() && get(*bn, "postgres") &&
                                              (*bn)["postgres"].is_string()) {
      binary = (*bn)["postgres"].get<std::string>();
    }
    if (const json* bd = get(pg, "bin_dir"); bd && bd->is_string() && !bd->get<std::string>().empty()) {
      binary = (fs::path(bd->get<std::string>()) / binary).string();
    }
    auto get_version = opt_.postgres_major_version ? opt_.postgres_major_version : default_postgres_major_version;
    auto major = get_version(binary);
    if (!major) {
      warning(path, "could not run '" + binary + " --version'; the data directory version (" + version +
                        ") was not compared");
    } else if (*major != version) {
      error(path, "data directory version (" + version + ") does not match '" + binary + " --version' (" + *major +
                      ")");
    }
  }

  void citus(const json& v, const std::string& path) {
    if (!is_map(v, path)) return;
    unknown_keys(v, path, kCitusKeys);
    if (const json* g = get(v, "group")) int_in(*g, join(path, "group"), 0);
    else error(join(path, "group"), "required key is missing (0 = coordinator)");
    if (const json* d = get(v, "database")) is_string(*d, join(path, "database"), false);
    else error(join(path, "database"), "required key is missing");
  }

  void watchdog(const json& v, const std::string& path, const json& config) {
    if (!is_map(v, path)) return;
    unknown_keys(v, path, kWatchdogKeys);
    opt(v, path, "mode", [&](const json& x, const std::string& p) {
      if (x.is_boolean()) {
        if (x.get<bool>()) error(p, "must be off, automatic or required, got true");
        return;
      }
      one_of(x, p, {"off", "automatic", "required", "false", "disable", "disabled", "auto", "require"}, true);
    });
    opt_string(v, path, "device");
    opt_string(v, path, "driver");
    std::optional<int64_t> margin;
    opt(v, path, "safety_margin", [&](const json& x, const std::string& p) { margin = int_in(x, p, -1); });
    if (margin && *margin >= 0) {
      int64_t ttl = kDefaultTtl, loop_wait = kDefaultLoopWait;
      if (const json* b = get(config, "bootstrap"); b && b->is_object()) {
        if (const json* d = get(*b, "dcs"); d && d->is_object()) {
          if (const json* t = get(*d, "ttl")) ttl = parse_int(*t).value_or(ttl);
          if (const json* l = get(*d, "loop_wait")) loop_wait = parse_int(*l).value_or(loop_wait);
        }
      }
      if (ttl - *margin < loop_wait) {
        warning(join(path, "safety_margin"), "watchdog timeout ttl (" + std::to_string(ttl) + ") - safety_margin (" +
                                                 std::to_string(*margin) + ") is below loop_wait (" +
                                                 std::to_string(loop_wait) + "): the watchdog cannot be used");
      }
    }
  }

  void tags(const json& v, const std::string& path) {
    if (!is_map(v, path)) return;
    // nostream is the one tag read with parse_bool ("false" is false); the others are truthy.
    for (const char* k : {"nofailover", "clonefrom", "noloadbalance", "nosync"}) opt_truthy_bool(v, path, k);
    opt_bool(v, path, "nostream");
    opt_string(v, path, "replicatefrom");
    opt(v, path, "failover_priority", [&](const json& x, const std::string& p) { int_in(x, p, 0); });
    opt(v, path, "sync_priority", [&](const json& x, const std::string& p) { int_in(x, p, 0); });
    // Patroni warns and lets the boolean tag win; so does every node.
    for (const auto& w : contradictory_tag_warnings(v)) warning(path, w);
  }

  void dcs_sections(const json& config) {
    std::vector<std::string> present;
    for (const char* n : {"etcd3", "etcd", "zookeeper", "consul", "kubernetes", "exhibitor", "raft"})
      if (config.contains(n)) present.push_back(n);
    if (present.empty()) {
      error("(root)", "exactly one DCS section is required (etcd3, etcd, zookeeper, consul, kubernetes, exhibitor, "
                      "raft); none found");
      return;
    }
    if (present.size() > 1) {
      std::string list;
      for (const auto& p : present) list += (list.empty() ? "" : ", ") + p;
      std::string used;
      for (const char* n : kDcsSectionNames)
        if (config.contains(n) && used.empty()) used = n;
      // Patroni uses the first in its order and ignores the others; so does custos.
      warning(present[1], "several DCS sections (" + list + "): only " + used +
                              " is used (the first in Patroni's order); remove the others");
    }
    for (const auto& name : present) dcs(config[name], name);
  }

  void dcs(const json& v, const std::string& name) {
    const std::string& path = name;
    if (v.is_null()) {
      error(path, "the DCS section is empty");
      return;
    }
    if (!is_map(v, path)) return;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (kPropagatedKeys.count(it.key()) && !(name == "kubernetes" && it.key() == "namespace")) {
        warning(join(path, it.key()), "ignored: custos sets it from the top level / dynamic configuration");
      } else if (!kDcsKeys.at(name).count(it.key())) {
        warning(join(path, it.key()), "unknown key (ignored)");
      }
    }
    if (name == "etcd" || name == "etcd3") {
      bool any = false;
      for (const char* k : {"host", "hosts", "url", "proxy", "srv", "discovery_srv", "srv_domain"})
        if (get(v, k)) any = true;
      if (!any) error(path, "one of host, hosts, url, proxy or srv is required");
      opt(v, path, "host", [&](const json& x, const std::string& p) { host_port(x, p, false); });
      opt(v, path, "hosts", [&](const json& x, const std::string& p) { is_hosts(x, p); });
      for (const char* k : {"url", "proxy", "srv", "discovery_srv", "srv_domain", "srv_suffix", "username",
                            "password", "cacert", "cert", "key"})
        opt_string(v, path, k);
      opt_bool(v, path, "use_proxies");
      opt(v, path, "protocol", [&](const json& x, const std::string& p) { one_of(x, p, {"http", "https"}); });
      if (get(v, "use_proxies") && patroni_parse_bool(v["use_proxies"]).value_or(false) && !get(v, "url") &&
          !get(v, "proxy") && !get(v, "hosts") && !get(v, "host")) {
        error(join(path, "use_proxies"), "needs url, proxy, host or hosts");
      }
    } else if (name == "zookeeper") {
      if (const json* h = get(v, "hosts")) is_hosts(*h, join(path, "hosts"));
      else if (!get(v, "exhibitor")) error(join(path, "hosts"), "required key is missing");
      opt_bool(v, path, "use_ssl");
      opt_bool(v, path, "verify");
      for (const char* k : {"cacert", "cert", "key", "key_password"}) opt_string(v, path, k);
      opt(v, path, "set_acls", [&](const json& x, const std::string& p) {
        if (!is_map(x, p)) return;
        static const KeySet kPerms = {"CREATE", "READ", "WRITE", "DELETE", "ADMIN", "ALL"};
        for (auto it = x.begin(); it != x.end(); ++it) {
          std::string ip = join(p, it.key());
          if (!is_list_of_strings(it.value(), ip)) continue;
          for (const auto& perm : it.value())
            if (!kPerms.count(perm.get<std::string>())) {
              error(ip, "permission must be one of CREATE, READ, WRITE, DELETE, ADMIN, ALL, got " + show(perm));
            }
        }
      });
      opt_map(v, path, "auth_data");
      opt_map(v, path, "exhibitor");
      // What the agent refuses at start (src/dcs/zookeeper/zookeeper_settings.h), said here too.
      if (const json* ssl = get(v, "use_ssl");
          ssl && (ssl->is_string() ? patroni_parse_bool(*ssl).value_or(true) : python_truthy(*ssl)))
        error(join(path, "use_ssl"),
              "not supported by custos: Debian's ZooKeeper C client (libzookeeper-mt) is built without TLS");
      if (const json* acls = get(v, "set_acls"); acls && acls->is_object() && !acls->empty())
        error(join(path, "set_acls"),
              "not supported by custos: its x509 principals need TLS, which Debian's ZooKeeper C client lacks");
      if (get(v, "exhibitor") && !get(v, "hosts"))
        error(join(path, "exhibitor"), "not supported by custos yet; list the ZooKeeper `hosts`");
    } else if (name == "consul") {
      if (!get(v, "host") && !get(v, "url")) error(path, "one of host or url is required");
      opt(v, path, "host", [&](const json& x, const std::string& p) { host_port(x, p, false); });
      opt_int(v, path, "port", 1, 65535);
      for (const char* k : {"url", "scheme", "token", "cacert", "cert", "key", "dc", "service_check_interval",
                            "service_check_tls_server_name"})
        opt_string(v, path, k);
      opt_bool(v, path, "verify");
      opt_bool(v, path, "register_service");
      opt(v, path, "consistency",
          [&](const json& x, const std::string& p) { one_of(x, p, {"default", "consistent", "stale"}); });
      opt(v, path, "checks", [&](const json& x, const std::string& p) { is_list_of_strings(x, p); });
      opt(v, path, "service_tags", [&](const json& x, const std::string& p) { is_list_of_strings(x, p); });
    } else if (name == "kubernetes") {
      if (const json* l = get(v, "labels")) {
        if (is_map(*l, join(path, "labels"))) {
          for (auto it = l->begin(); it != l->end(); ++it) is_string(it.value(), join(join(path, "labels"), it.key()));
        }
      } else {
        error(join(path, "labels"), "required key is missing");
      }
      for (const char* k : {"namespace", "scope_label", "role_label", "leader_label_value", "follower_label_value",
                            "standby_leader_label_value", "tmp_role_label", "cacert", "context"})
        opt_string(v, path, k);
      opt_bool(v, path, "use_endpoints");
      opt_bool(v, path, "bypass_api_service");
      opt(v, path, "pod_ip", [&](const json& x, const std::string& p) {
        if (!is_string(x, p)) return;
        unsigned char buf[sizeof(struct in6_addr)];
        std::string s = x.get<std::string>();
        if (inet_pton(AF_INET, s.c_str(), buf) != 1 && inet_pton(AF_INET6, s.c_str(), buf) != 1) {
          error(p, "must be an IPv4 or IPv6 address, got " + show(x));
        }
      });
      opt(v, path, "ports", [&](const json& x, const std::string& p) {
        if (!x.is_array()) {
          error(p, "expected a list of {name, port}, got " + type_name(x));
          return;
        }
        for (std::size_t i = 0; i < x.size(); ++i) {
          std::string ip = p + "[" + std::to_string(i) + "]";
          if (!is_map(x[i], ip)) continue;
          opt_string(x[i], ip, "name");
          if (const json* port = get(x[i], "port")) int_in(*port, join(ip, "port"), 1, 65535);
          else error(join(ip, "port"), "required key is missing");
        }
      });
      opt(v, path, "retriable_http_codes", [&](const json& x, const std::string& p) {
        if (x.is_array()) {
          for (std::size_t i = 0; i < x.size(); ++i) int_in(x[i], p + "[" + std::to_string(i) + "]", 100, 599);
        } else {
          int_in(x, p, 100, 599);
        }
      });
    } else if (name == "exhibitor") {
      warning(path, "the exhibitor DCS is not implemented by custos");
      if (const json* h = get(v, "hosts")) is_hosts(*h, join(path, "hosts"));
      else error(join(path, "hosts"), "required key is missing");
      opt_int(v, path, "port", 1, 65535);
      opt_int(v, path, "poll_interval", 1);
    } else if (name == "raft") {
      warning(path, "the raft DCS is deprecated in Patroni and not implemented by custos");
      for (const char* k : {"self_addr", "bind_addr", "data_dir", "password"}) opt_string(v, path, k);
      opt(v, path, "partner_addrs", [&](const json& x, const std::string& p) { is_list_of_strings(x, p); });
    }
  }

  // ---- dynamic configuration ----
  void dynamic(const json& d, const std::string& path) {
    if (!is_map(d, path.empty() ? "(root)" : path)) return;
    // Timing as every node applies it (timing_from_dynamic): a value Python's int() cannot
    // read makes the nodes keep the dynamic configuration in force; values they adjust are
    // named with the values they will use.
    bool readable = true;
    for (const char* key : {"ttl", "loop_wait", "retry_timeout"}) {
      auto it = d.find(key);
      if (it == d.end()) continue;
      auto i = python_int(*it);
      if (!i) {
        error(join(path, key), "not an integer (" + show(*it) +
                                   "): nodes refuse this dynamic configuration and keep the one in force");
        readable = false;
      } else if (it->is_string()) {
        warning(join(path, key), "a string, accepted as " + std::to_string(*i));
      } else if (!it->is_number_integer() && !it->is_number_unsigned()) {
        warning(join(path, key), "expected an integer, got " + type_name(*it) + ": read as " + std::to_string(*i));
      }
    }
    if (readable) {
      std::vector<std::string> adjustments;
      auto timing = timing_from_dynamic(d, &adjustments);
      for (const auto& a : adjustments) warning(path.empty() ? "(root)" : path, a);
    }
    opt_int(d, path, "maximum_lag_on_failover", 0);
    opt_int(d, path, "maximum_lag_on_syncnode", -1);
    opt_int(d, path, "max_timelines_history", 0);
    // Patroni 4: seconds, or a time with its unit ("30min").
    opt(d, path, "member_slots_ttl", [&](const json& v, const std::string& p) {
      auto seconds = parse_int(v, "s");
      if (!seconds || *seconds < 0)
        error(p, "expected a number of seconds >= 0 or a time with its unit (us, ms, s, min, h, d), got " +
                     type_name(v) + " " + show(v));
    });
    opt_int(d, path, "synchronous_node_count", 1);
    for (const char* k : {"primary_start_timeout", "primary_stop_timeout", "master_start_timeout",
                          "master_stop_timeout"})
      opt_int(d, path, k, 0);
    // synchronous_mode: a boolean, or "quorum" in any case (Patroni 4 quorum commit).
    opt(d, path, "synchronous_mode", [&](const json& v, const std::string& p) {
      if (v.is_string() && to_lower(v.get<std::string>()) == "quorum") return;
      is_bool(v, p);
    });
    for (const char* k : {"synchronous_mode_strict", "failsafe_mode", "check_timeline", "pause"})
      opt_bool(d, path, k);
    if (get(d, "primary_start_timeout") && get(d, "master_start_timeout")) {
      warning(join(path, "master_start_timeout"), "legacy name ignored: primary_start_timeout is set");
    }
    if (get(d, "primary_stop_timeout") && get(d, "master_stop_timeout")) {
      warning(join(path, "master_stop_timeout"), "legacy name ignored: primary_stop_timeout is set");
    }
    opt(d, path, "postgresql", [&](const json& x, const std::string& p) {
      if (!is_map(x, p)) return;
      opt_truthy_bool(x, p, "use_pg_rewind");
      opt_bool(x, p, "use_slots");
      opt(x, p, "parameters", [&](const json& y, const std::string& pp) { parameters(y, pp, false); });
      opt(x, p, "pg_hba", [&](const json& y, const std::string& pp) { is_list_of_strings(y, pp); });
      opt(x, p, "pg_ident", [&](const json& y, const std::string& pp) { is_list_of_strings(y, pp); });
      opt_map(x, p, "recovery_conf");
      opt_int(x, p, "pg_ctl_timeout", 0);
      for (const char* k : {"connect_address", "proxy_address", "listen", "config_dir", "data_dir", "pgpass",
                            "authentication"})
        if (get(x, k)) warning(join(p, k), "ignored in the dynamic configuration (local setting only)");
    });
    opt(d, path, "standby_cluster", [&](const json& x, const std::string& p) {
      if (!is_map(x, p)) return;
      unknown_keys(x, p, kStandbyClusterKeys);
      opt(x, p, "host", [&](const json& y, const std::string& pp) { is_hosts(y, pp); });
      opt_int(x, p, "port", 1, 65535);
      for (const char* k : {"primary_slot_name", "restore_command", "archive_cleanup_command"}) opt_string(x, p, k);
      opt(x, p, "recovery_min_apply_delay", [&](const json& y, const std::string& pp) {
        if (!y.is_string() && !y.is_number_integer()) error(pp, "expected a string or an integer, got " + type_name(y));
      });
      opt(x, p, "create_replica_methods", [&](const json& y, const std::string& pp) {
        if (!y.is_string()) is_list_of_strings(y, pp);
      });
    });
    for (const char* k : {"slots", "permanent_slots", "permanent_replication_slots"}) {
      opt(d, path, k, [&](const json& x, const std::string& p) {
        if (!is_map(x, p)) return;
        // As every node reads a slot (Patroni's rules): a name outside [a-z0-9_]{1,63} and a
        // value that is neither falsy (a physical slot) nor a mapping are ignored by the nodes.
        static const std::regex kSlotName("^[a-z0-9_]{1,63}$");
        for (auto it = x.begin(); it != x.end(); ++it) {
          std::string sp = join(p, it.key());
          if (!std::regex_match(it.key(), kSlotName)) {
            error(sp, "Invalid permanent replication slot name: nodes ignore this slot");
            continue;
          }
          const json& v = it.value();
          if (!python_truthy(v)) continue;  // a physical slot
          if (!v.is_object()) {
            error(sp, "Bad value for slot in permanent_slots (" + show(v) + "): nodes ignore this slot");
            continue;
          }
          const json* t = get(v, "type");
          if (t && !one_of(*t, join(sp, "type"), {"physical", "logical"})) continue;
          const bool logical = t ? *t == "logical"
                                 : (v.contains("database") && python_truthy(v["database"]) && v.contains("plugin") &&
                                    python_truthy(v["plugin"]));
          if (logical) {
            for (const char* req : {"database", "plugin"}) {
              if (const json* r = get(v, req)) is_string(*r, join(sp, req), false);
              else error(join(sp, req), "required for a logical slot: nodes ignore this slot");
            }
          }
        }
      });
    }
    opt(d, path, "ignore_slots", [&](const json& x, const std::string& p) {
      if (!x.is_array()) {
        error(p, "expected a list of {name, type, database, plugin} matchers, got " + type_name(x));
        return;
      }
      for (std::size_t i = 0; i < x.size(); ++i) {
        std::string ip = p + "[" + std::to_string(i) + "]";
        if (!is_map(x[i], ip)) continue;
        unknown_keys(x[i], ip, {"name", "type", "database", "plugin"});
      }
    });
  }

 private:
  const ValidateOptions& opt_;
};

}  // namespace

std::vector<Problem> validate_dynamic_configuration(const json& dynamic, const std::string& prefix) {
  ValidateOptions options;
  Validator v(options);
  try {
    v.dynamic(dynamic, prefix);
  } catch (const std::exception& e) {
    v.error(prefix.empty() ? "(root)" : prefix, std::string("internal validation error: ") + e.what());
  }
  return std::move(v.problems);
}

std::vector<std::string> contradictory_tag_warnings(const json& tags) {
  std::vector<std::string> out;
  if (!tags.is_object()) return out;
  auto python_str = [](const json& v) {
    if (v.is_boolean()) return std::string(v.get<bool>() ? "True" : "False");
    if (v.is_string()) return v.get<std::string>();
    return v.dump();
  };
  for (auto [flag, priority_tag] : {std::pair<const char*, const char*>{"nofailover", "failover_priority"},
                                    {"nosync", "sync_priority"}}) {
    auto f = tags.find(flag);
    auto p = tags.find(priority_tag);
    if (f == tags.end() || f->is_null() || p == tags.end() || p->is_null()) continue;
    auto priority = parse_int(*p);
    if (!priority) continue;
    const bool on = python_truthy(*f);
    if ((on && *priority > 0) || (!on && *priority <= 0)) {
      out.push_back(std::string("Conflicting configuration between ") + flag + ": " + python_str(*f) + " and " +
                    priority_tag + ": " + std::to_string(*priority) + ". Defaulting to " + flag + ": " +
                    python_str(*f));
    }
  }
  return out;
}

std::vector<std::string> dynamic_configuration_problems(const json& dynamic) {
  std::vector<std::string> out;
  // A key the nodes do not read is most likely a typo (bootstrap.dcs may carry a user's own
  // keys without a warning; a change to the stored value is named).
  if (dynamic.is_object())
    for (const auto& [key, value] : dynamic.items())
      if (!kDynamicConfigurationKeys.count(key)) out.push_back(key + ": unknown key (ignored)");
  for (const auto& p : validate_dynamic_configuration(dynamic, "")) out.push_back(p.path + ": " + p.message);
  return out;
}

std::vector<Problem> validate_config(const json& config, const ValidateOptions& options) {
  Validator v(options);
  try {
    v.validate(config);
  } catch (const std::exception& e) {
    v.error("(root)", std::string("internal validation error: ") + e.what());
  }
  return std::move(v.problems);
}

std::vector<Problem> validate_config_text(std::string_view yaml_text, const ValidateOptions& options) {
  auto parsed = parse_yaml(yaml_text);
  if (!parsed) {
    const auto& e = parsed.error();
    std::string where;
    if (e.line > 0) where = "line " + std::to_string(e.line) + (e.column > 0 ? ", column " + std::to_string(e.column) : "") + ": ";
    return {Problem{Severity::kError, "(root)", "invalid YAML: " + where + e.message}};
  }
  const json& root = parsed.value();
  if (root.is_null()) return {Problem{Severity::kError, "(root)", "the configuration is empty"}};
  return validate_config(root, options);
}

std::vector<Problem> validate_config_path(const std::string& path, const ValidateOptions& options) {
  auto loaded = load_config_path(path);
  if (!loaded) {
    const auto& e = loaded.error();
    return {Problem{Severity::kError, "(root)", e.to_string()}};
  }
  return validate_config(loaded.value(), options);
}

bool default_port_is_free(const std::string& host, int port) {
  std::string h = host;
  if (h.empty() || h == "*") h = "0.0.0.0";
  struct addrinfo hints {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  struct addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  if (::getaddrinfo(h.c_str(), service.c_str(), &hints, &res) != 0 || !res) return false;
  bool ok = true;
  for (auto* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) {
      ok = false;
      break;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) ok = false;
    ::close(fd);
    if (!ok) break;
  }
  ::freeaddrinfo(res);
  return ok;
}

std::optional<std::string> default_postgres_major_version(const std::string& postgres_binary) {
  std::string quoted = "'";
  for (char c : postgres_binary) {
    if (c == '\'') quoted += "'\\''";
    else quoted.push_back(c);
  }
  quoted += "'";
  std::string cmd = quoted + " --version 2>/dev/null";
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return std::nullopt;
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, f)) out += buf;
  int rc = ::pclose(f);
  if (rc != 0) return std::nullopt;
  // "postgres (PostgreSQL) 16.2 (Debian ...)" -> "16"; "9.6.24" -> "9.6"
  static const std::regex kVersion(R"((\d+)(?:\.(\d+))?)");
  auto paren = out.find(')');
  std::string tail = paren == std::string::npos ? out : out.substr(paren + 1);
  std::smatch m;
  if (!std::regex_search(tail, m, kVersion)) return std::nullopt;
  int major = std::stoi(m[1].str());
  if (major < 10 && m[2].matched) return m[1].str() + "." + m[2].str();
  return m[1].str();
}

}  // namespace custos::config
