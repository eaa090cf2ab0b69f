#include "config/dynamic.h"

#include <set>
#include <tuple>

#include "common/json_truth.h"
#include "common/python_int.h"
#include "config/config.h"
#include "config/values.h"

namespace custos::config {

Timing adjust_timing(Timing t, std::vector<std::string>* warnings) {
  auto warn = [&](const std::string& m) {
    if (warnings) warnings->push_back(m);
  };
  auto raise = [&](int& v, int min, const char* name) {
    if (v < min) {
      warn(std::string(name) + "=" + std::to_string(v) + " can't be smaller than " + std::to_string(min) +
           ", adjusting...");
      v = min;
    }
  };
  // Patroni's order: loop_wait, retry_timeout, ttl.
  raise(t.loop_wait, kMinLoopWait, "loop_wait");
  raise(t.retry_timeout, kMinRetryTimeout, "retry_timeout");
  raise(t.ttl, kMinTtl, "ttl");
  // 64-bit arithmetic: values come from untrusted input.
  auto lhs = [](int64_t lw, int64_t rt) { return lw + 2 * rt; };
  const std::string rule = "Violated the rule \"loop_wait + 2*retry_timeout <= ttl\", where ttl=" + std::to_string(t.ttl);
  if (lhs(kMinLoopWait, t.retry_timeout) > t.ttl) {
    const int old_loop_wait = t.loop_wait, old_retry_timeout = t.retry_timeout;
    t.loop_wait = kMinLoopWait;
    t.retry_timeout = (t.ttl - kMinLoopWait) / 2;
    warn(rule + ". Adjusting loop_wait from " + std::to_string(old_loop_wait) + " to " + std::to_string(t.loop_wait) +
         " and retry_timeout from " + std::to_string(old_retry_timeout) + " to " + std::to_string(t.retry_timeout));
  } else if (lhs(t.loop_wait, t.retry_timeout) > t.ttl) {
    const int old_loop_wait = t.loop_wait;
    t.loop_wait = t.ttl - 2 * t.retry_timeout;
    warn(rule + " and retry_timeout=" + std::to_string(t.retry_timeout) + ". Adjusting loop_wait from " +
         std::to_string(old_loop_wait) + " to " + std::to_string(t.loop_wait));
  }
  return t;
}

Result<Timing, std::string> timing_from_dynamic(const json& dynamic, std::vector<std::string>* warnings) {
  Timing t;
  if (dynamic.is_object()) {
    auto read = [&](const char* key, int& out) -> std::optional<std::string> {
      auto it = dynamic.find(key);
      if (it == dynamic.end()) return std::nullopt;
      auto i = python_int(*it);
      if (!i) return std::string(key) + "=" + show(*it) + " is not an integer";
      constexpr int64_t kLimit = 1000000000;
      if (*i > kLimit || *i < -kLimit) {
        if (warnings)
          warnings->push_back(std::string(key) + "=" + std::to_string(*i) + " is out of range, using " +
                              std::to_string(*i > 0 ? kLimit : -kLimit));
        *i = *i > 0 ? kLimit : -kLimit;
      }
      out = static_cast<int>(*i);
      return std::nullopt;
    };
    for (auto [key, field] : {std::pair<const char*, int*>{"loop_wait", &t.loop_wait},
                              {"retry_timeout", &t.retry_timeout}, {"ttl", &t.ttl}})
      if (auto error = read(key, *field)) return make_error(*error);
  }
  return adjust_timing(t, warnings);
}

json with_adjusted_timing(const json& dynamic) {
  if (!dynamic.is_object()) return dynamic;
  auto adjusted = timing_from_dynamic(dynamic);
  if (!adjusted) return dynamic;
  json out = dynamic;
  const Timing defaults;
  for (auto [key, value, fallback] : {std::tuple<const char*, int, int>{"ttl", adjusted->ttl, defaults.ttl},
                                      {"loop_wait", adjusted->loop_wait, defaults.loop_wait},
                                      {"retry_timeout", adjusted->retry_timeout, defaults.retry_timeout}}) {
    auto it = dynamic.find(key);
    const int64_t written = it == dynamic.end() ? fallback : python_int(*it).value_or(fallback);
    if (written != value) out[key] = value;
  }
  return out;
}

namespace {

bool int_at_least(const json& v, int64_t min) {
  auto i = parse_int(v);
  return i && *i >= min;
}

}  // namespace

const std::vector<CommandLineParameter>& command_line_parameters() {
  static const std::vector<CommandLineParameter> params = [] {
    auto never = [](const json&) { return false; };
    std::vector<CommandLineParameter> p;
    p.push_back({"listen_addresses", json(), never, false});
    p.push_back({"port", json(), never, false});
    p.push_back({"cluster_name", json(), never, false});
    p.push_back({"wal_level", "hot_standby", [](const json& v) {
                   if (!v.is_string()) return false;
                   auto s = to_lower(v.get<std::string>());
                   return s == "hot_standby" || s == "replica" || s == "logical";
                 }});
    p.push_back({"hot_standby", "on", [](const json& v) { return patroni_parse_bool(v) == true; }});
    p.push_back({"max_connections", 100, [](const json& v) { return int_at_least(v, 25); }});
    p.push_back({"max_wal_senders", 10, [](const json& v) { return int_at_least(v, 3); }});
    p.push_back({"wal_keep_segments", 8, [](const json& v) { return int_at_least(v, 1); }, false});
    p.push_back({"wal_keep_size", "128MB", [](const json& v) {
                   auto i = parse_int(v, "MB");
                   return i && *i >= 16;
                 }, false});
    p.push_back({"max_prepared_transactions", 0, [](const json& v) { return int_at_least(v, 0); }});
    p.push_back({"max_locks_per_transaction", 64, [](const json& v) { return int_at_least(v, 32); }});
    p.push_back({"track_commit_timestamp", "off", [](const json& v) { return patroni_parse_bool(v).has_value(); }});
    p.push_back({"max_replication_slots", 10, [](const json& v) { return int_at_least(v, 4); }});
    p.push_back({"max_worker_processes", 8, [](const json& v) { return int_at_least(v, 2); }});
    p.push_back({"wal_log_hints", "on", [](const json& v) { return patroni_parse_bool(v).has_value(); }});
    return p;
  }();
  return params;
}

const CommandLineParameter* find_command_line_parameter(std::string_view name) {
  std::string n = to_lower(name);
  for (const auto& p : command_line_parameters())
    if (p.name == n) return &p;
  return nullptr;
}

namespace {

json default_parameters() {
  json out = json::object();
  for (const auto& p : command_line_parameters())
    if (p.in_defaults && !p.default_value.is_null()) out[p.name] = p.default_value;
  return out;
}

// PostgreSQL parameter names are case-insensitive: setting one replaces any spelling of it.
void set_parameter(json& params, const std::string& name, const json& value) {
  std::string lower = to_lower(name);
  for (auto it = params.begin(); it != params.end();) {
    if (to_lower(it.key()) == lower && it.key() != name) it = params.erase(it);
    else ++it;
  }
  params[name] = value;
}

const std::set<std::string> kDcsIgnoredPostgresqlKeys = {"connect_address", "proxy_address", "listen", "config_dir",
                                                         "data_dir", "pgpass", "authentication"};
const std::set<std::string> kStandbyClusterKeys = {"create_replica_methods", "host", "port", "primary_slot_name",
                                                   "restore_command", "archive_cleanup_command",
                                                   "recovery_min_apply_delay"};
constexpr const auto& kAuthAllowed = kAuthenticationKeys;

}  // namespace

json default_dynamic_configuration() {
  return json{{"ttl", kDefaultTtl},
              {"loop_wait", kDefaultLoopWait},
              {"retry_timeout", kDefaultRetryTimeout},
              {"maximum_lag_on_failover", 1048576},
              {"maximum_lag_on_syncnode", -1},
              {"max_timelines_history", 0},
              {"primary_start_timeout", 300},
              {"primary_stop_timeout", 0},
              {"synchronous_mode", false},
              {"synchronous_mode_strict", false},
              {"synchronous_node_count", 1},
              {"failsafe_mode", false},
              {"check_timeline", false},
              {"postgresql", {{"use_pg_rewind", false}, {"use_slots", true}, {"parameters", default_parameters()}}}};
}

EffectiveConfig build_effective_configuration(const json& dynamic, const json& local) {
  EffectiveConfig out;
  auto warn = [&](const std::string& m) { out.warnings.push_back(m); };
  json& config = out.config;
  config = json{{"ttl", kDefaultTtl},
                {"loop_wait", kDefaultLoopWait},
                {"retry_timeout", kDefaultRetryTimeout},
                {"postgresql", {{"bin_dir", ""}, {"use_slots", true}, {"parameters", default_parameters()}}}};

  // ---- dynamic configuration ----
  if (!dynamic.is_null() && !dynamic.is_object()) warn("dynamic configuration is not a mapping; ignored");
  if (dynamic.is_object()) {
    for (auto it = dynamic.begin(); it != dynamic.end(); ++it) {
      const std::string& name = it.key();
      const json& value = it.value();
      if (name == "postgresql") {
        if (value.is_null()) continue;
        if (!value.is_object()) {
          warn("dynamic configuration: postgresql is not a mapping; ignored");
          continue;
        }
        for (auto pit = value.begin(); pit != value.end(); ++pit) {
          if (pit.key() == "parameters") {
            if (pit.value().is_null()) continue;
            if (!pit.value().is_object()) {
              warn("dynamic configuration: postgresql.parameters is not a mapping; ignored");
              continue;
            }
            json& params = config["postgresql"]["parameters"];
            for (auto q = pit.value().begin(); q != pit.value().end(); ++q) {
              const auto* cmd = find_command_line_parameter(q.key());
              if (!cmd) {
                set_parameter(params, q.key(), q.value());
              } else if (cmd->valid(q.value())) {
                set_parameter(params, cmd->name, q.value());
              } else if (!cmd->default_value.is_null()) {
                auto text = [](const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
                warn("postgresql parameter " + q.key() + "=" + text(q.value()) + " failed validation, defaulting to " +
                     text(cmd->default_value));
              } else {
                warn("postgresql.parameters." + q.key() + " is controlled by custos and cannot be set; ignored");
              }
            }
          } else if (!kDcsIgnoredPostgresqlKeys.count(pit.key())) {
            config["postgresql"][pit.key()] = pit.value();
          }
        }
      } else if (name == "standby_cluster") {
        if (value.is_null()) continue;
        if (!value.is_object()) {
          warn("dynamic configuration: standby_cluster is not a mapping; ignored");
          continue;
        }
        for (auto sit = value.begin(); sit != value.end(); ++sit)
          if (kStandbyClusterKeys.count(sit.key())) config["standby_cluster"][sit.key()] = sit.value();
      }
    }
  }
  // ttl, loop_wait and retry_timeout as Patroni reads them; a value int() cannot read makes
  // Patroni refuse the whole dynamic configuration (dynamic_error), the defaults stand here.
  Timing t;
  if (auto timing = timing_from_dynamic(dynamic, &out.warnings)) {
    t = *timing;
  } else {
    out.dynamic_error = timing.error();
  }
  config["ttl"] = t.ttl;
  config["loop_wait"] = t.loop_wait;
  config["retry_timeout"] = t.retry_timeout;

  // ---- local configuration ----
  if (local.is_object()) {
    for (auto it = local.begin(); it != local.end(); ++it) {
      const std::string& name = it.key();
      const json& value = it.value();
      if (name == "citus") {
        // As Patroni: a group that parses as an integer ("2" too) and a string database.
        if (citus_group_of(value) && citus_database_of(value)) {
          config[name] = value;
        } else {
          warn("citus section needs an integer group and a string database; ignored");
        }
      } else if (name == "postgresql") {
        if (value.is_null()) continue;
        if (!value.is_object()) {
          warn("postgresql is not a mapping; ignored");
          continue;
        }
        for (auto pit = value.begin(); pit != value.end(); ++pit) {
          if (pit.key() == "parameters") {
            if (pit.value().is_null()) continue;
            if (!pit.value().is_object()) {
              warn("postgresql.parameters is not a mapping; ignored");
              continue;
            }
            json& params = config["postgresql"]["parameters"];
            for (auto q = pit.value().begin(); q != pit.value().end(); ++q) {
              if (find_command_line_parameter(q.key())) {
                warn("postgresql.parameters." + q.key() +
                     " is a command-line parameter: only the dynamic configuration (bootstrap.dcs) sets it; the "
                     "local value is ignored");
              } else {
                set_parameter(params, q.key(), q.value());
              }
            }
          } else if (pit.key() == "use_slots") {
            warn("postgresql.use_slots is global: only the dynamic configuration sets it; the local value is ignored");
          } else {
            config["postgresql"][pit.key()] = pit.value();
          }
        }
      } else if (!config.contains(name) || name == "watchdog") {
        config[name] = value.is_null() ? json::object() : value;
      }
    }
  }

  // restapi / ctl expect `auth` = "username:password".
  for (const char* section : {"ctl", "restapi"}) {
    if (config.contains(section) && config[section].is_object() && config[section].contains("authentication") &&
        config[section]["authentication"].is_object()) {
      const json& a = config[section]["authentication"];
      auto part = [&](const char* k) {
        return a.contains(k) && a[k].is_string() ? a[k].get<std::string>()
                                                 : (a.contains(k) && !a[k].is_null() ? a[k].dump() : "");
      };
      config[section]["auth"] = part("username") + ":" + part("password");
    }
  }

  // Legacy: `exhibitor` inside `zookeeper`.
  if (config.contains("zookeeper") && config["zookeeper"].is_object() && config["zookeeper"].contains("exhibitor")) {
    config["exhibitor"] = config["zookeeper"]["exhibitor"];
    config.erase("zookeeper");
  }

  json& pg = config["postgresql"];
  // Legacy: no `authentication`, but `replication`/`superuser`/`pg_rewind` directly in postgresql.
  if (!pg.contains("authentication")) {
    pg["use_pg_rewind"] = pg.contains("pg_rewind");
    json auth = json::object();
    for (const char* u : {"replication", "superuser"})
      if (pg.contains(u)) auth[u] = pg[u];
    pg["authentication"] = auth;
  }
  if (!pg["authentication"].is_object()) {
    warn("postgresql.authentication is not a mapping; ignored");
    pg["authentication"] = json::object();
  }
  if (!pg["authentication"].contains("superuser") && pg.contains("pg_rewind")) {
    pg["authentication"]["superuser"] = pg["pg_rewind"];
  }
  for (auto it = pg["authentication"].begin(); it != pg["authentication"].end(); ++it) {
    if (!it.value().is_object()) continue;
    json filtered = json::object();
    for (const char* k : kAuthAllowed)
      if (it.value().contains(k)) filtered[k] = it.value()[k];
    it.value() = filtered;
  }
  // Legacy: create_replica_method.
  if (!pg.contains("create_replica_methods") && pg.contains("create_replica_method")) {
    pg["create_replica_methods"] = pg["create_replica_method"];
  }
  // Legacy: name inside postgresql.
  if (!config.contains("name") && pg.contains("name")) config["name"] = pg["name"];

  // A new Citus cluster runs synchronous replication by default.
  if (config.contains("citus")) {
    if (!config.contains("bootstrap") || !config["bootstrap"].is_object()) config["bootstrap"] = json::object();
    json& bootstrap = config["bootstrap"];
    if (!bootstrap.contains("dcs") || !bootstrap["dcs"].is_object()) bootstrap["dcs"] = json::object();
    if (!bootstrap["dcs"].contains("synchronous_mode")) bootstrap["dcs"]["synchronous_mode"] = true;
  }

  for (const char* p : {"name", "scope", "retry_timeout", "citus"})
    if (config.contains(p)) pg[p] = config[p];
  return out;
}

}  // namespace custos::config
