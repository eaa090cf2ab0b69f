#include "config/env.h"

#include <cstdlib>
#include <cstring>
#include <regex>
#include <set>

#include "common/json_truth.h"
#include "config/values.h"
#include "config/yaml.h"

extern char** environ;

namespace custos::config {

EnvMap patroni_environment() {
  EnvMap out;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    if (entry.rfind(kEnvPrefix, 0) != 0) continue;
    auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    out[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return out;
}

void remove_patroni_environment() {
  for (const auto& [name, value] : patroni_environment()) ::unsetenv(name.c_str());
}

namespace {

constexpr const auto& kAuthParams = kAuthenticationKeys;

const std::set<std::string> kGenericSuffixes = {
    "HOST", "HOSTS", "PORT", "USE_PROXIES", "PROTOCOL", "SRV", "SRV_SUFFIX", "URL", "PROXY",
    "CACERT", "CERT", "KEY", "VERIFY", "TOKEN", "CHECKS", "DC", "CONSISTENCY", "REGISTER_SERVICE",
    "SERVICE_CHECK_INTERVAL", "SERVICE_CHECK_TLS_SERVER_NAME", "SERVICE_TAGS", "NAMESPACE",
    "CONTEXT", "USE_ENDPOINTS", "SCOPE_LABEL", "ROLE_LABEL", "POD_IP", "PORTS", "LABELS",
    "BYPASS_API_SERVICE", "RETRIABLE_HTTP_CODES", "KEY_PASSWORD", "USE_SSL", "SET_ACLS", "GROUP",
    "DATABASE", "LEADER_LABEL_VALUE", "FOLLOWER_LABEL_VALUE", "STANDBY_LEADER_LABEL_VALUE",
    "TMP_ROLE_LABEL", "AUTH_DATA"};

std::string to_upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

class Builder {
 public:
  Builder(EnvMap env, std::vector<std::string>* warnings) : env_(std::move(env)), warnings_(warnings) {}

  json build() {
    for (const char* p : {"name", "namespace", "scope"}) {
      auto v = pop(p);
      if (!v.empty()) ret_[p] = v;
    }
    // Legacy log variable names, used only when the new one is not set.
    fix_log_env("level", "loglevel");
    fix_log_env("format", "logformat");
    fix_log_env("dateformat", "log_datefmt");

    section_values("restapi", {"listen", "connect_address", "certfile", "keyfile", "keyfile_password", "cafile",
                               "ciphers", "verify_client", "http_extra_headers", "https_extra_headers",
                               "allowlist", "allowlist_include_members", "request_queue_size", "server_tokens"});
    section_values("ctl", {"insecure", "cacert", "certfile", "keyfile", "keyfile_password"});
    section_values("postgresql", {"listen", "connect_address", "proxy_address", "config_dir", "data_dir",
                                  "pgpass", "bin_dir"});
    section_values("log", {"type", "level", "traceback_level", "format", "dateformat", "static_fields",
                           "max_queue_size", "dir", "file_size", "file_num", "loggers"});
    section_values("custos", {"compat"});
    section_values("raft", {"data_dir", "self_addr", "partner_addrs", "password", "bind_addr"});

    for (const char* binary :
         {"pg_ctl", "initdb", "pg_controldata", "pg_basebackup", "postgres", "pg_isready", "pg_rewind"}) {
      auto v = pop(std::string("postgresql_bin_") + binary);
      if (!v.empty()) ret_["postgresql"]["bin_name"][binary] = v;
    }

    // Patroni keeps a parsed false (PATRONI_CTL_INSECURE=false overrides ctl.insecure: true in
    // the file); only unparsable values are dropped.
    for (auto [first, second] : {std::pair{"restapi", "allowlist_include_members"}, std::pair{"ctl", "insecure"}}) {
      convert(
          first, second,
          [&](const std::string& v) -> json {
            auto b = patroni_parse_bool(v);
            return b ? json(*b) : json();
          },
          /*drop_falsy=*/false);
    }
    for (auto [first, second] : {std::pair{"restapi", "request_queue_size"}, std::pair{"log", "max_queue_size"},
                                 std::pair{"log", "file_size"}, std::pair{"log", "file_num"}}) {
      convert(first, second, [&](const std::string& v) -> json {
        auto i = parse_int(v);
        return i ? json(*i) : json();
      });
    }
    for (auto [first, second] : {std::pair{"raft", "partner_addrs"}, std::pair{"restapi", "allowlist"}}) {
      convert(first, second, [&](const std::string& v) { return parse_list(v); });
    }
    for (auto [first, second] : {std::pair{"restapi", "http_extra_headers"}, std::pair{"restapi", "https_extra_headers"},
                                 std::pair{"log", "static_fields"}, std::pair{"log", "loggers"}}) {
      convert(first, second, [&](const std::string& v) { return parse_dict(v); });
    }
    // log.format: a printf-style string, or (json logs) a list of fields.
    {
      static const std::regex kToken(R"(%\(\w+\))");
      convert("log", "format", [&](const std::string& v) -> json {
        if (std::regex_search(v, kToken)) return json(v);
        json l = parse_list(v);
        return l;
      });
    }

    for (const char* section : {"ctl", "restapi"}) {
      json auth = get_auth(section, 2);
      if (!auth.empty()) ret_[section]["authentication"] = auth;
    }
    json authentication = json::object();
    for (const char* user_type : {"replication", "superuser", "rewind"}) {
      json entry = get_auth(user_type, std::size(kAuthParams));
      if (!entry.empty()) authentication[user_type] = entry;
    }
    if (!authentication.empty()) ret_["postgresql"]["authentication"] = authentication;

    // PATRONI_<DCS>_<SUFFIX>: the first token names the section.
    std::vector<std::string> names;
    for (const auto& [k, v] : env_) names.push_back(k);
    for (const auto& param : names) {
      if (param.rfind(kEnvPrefix, 0) != 0 || !env_.count(param)) continue;
      std::string rest = param.substr(std::strlen(kEnvPrefix));
      auto us = rest.find('_');
      std::string name = rest.substr(0, us);
      std::string suffix = us == std::string::npos ? "" : rest.substr(us + 1);
      if (name.empty() || !kGenericSuffixes.count(suffix)) continue;
      std::string value = env_[param];
      env_.erase(param);
      json v;
      if (name == "CITUS") {
        if (suffix == "GROUP") {
          auto i = parse_int(value);
          if (i) v = *i;
        } else if (suffix == "DATABASE") {
          v = value;
        } else {
          continue;
        }
      } else if (suffix == "PORT") {
        if (value.empty()) v = value;
        else if (auto i = parse_int(value)) v = *i;
      } else if (suffix == "HOSTS" || suffix == "PORTS" || suffix == "CHECKS" || suffix == "SERVICE_TAGS" ||
                 suffix == "RETRIABLE_HTTP_CODES") {
        v = value.empty() ? json(value) : parse_list(value);
      } else if (suffix == "LABELS" || suffix == "SET_ACLS" || suffix == "AUTH_DATA") {
        v = parse_dict(value);
      } else if (suffix == "USE_PROXIES" || suffix == "REGISTER_SERVICE" || suffix == "USE_ENDPOINTS" ||
                 suffix == "BYPASS_API_SERVICE" || suffix == "VERIFY") {
        if (auto b = patroni_parse_bool(value)) v = *b;
      } else {
        v = value;
      }
      if (v.is_null()) {
        warn(param + ": value '" + value + "' could not be parsed and is ignored");
        continue;
      }
      ret_[to_lower(name)][to_lower(suffix)] = v;
    }
    for (const char* dcs : {"etcd", "etcd3"}) {
      if (ret_.contains(dcs)) {
        json auth = get_auth(dcs, 2);
        for (auto it = auth.begin(); it != auth.end(); ++it) ret_[dcs][it.key()] = it.value();
      }
    }

    // PATRONI_<USER>_PASSWORD (+ PATRONI_<USER>_OPTIONS): users created after bootstrap.
    json users = json::object();
    names.clear();
    for (const auto& [k, v] : env_) names.push_back(k);
    for (const auto& param : names) {
      if (param.rfind(kEnvPrefix, 0) != 0 || !env_.count(param)) continue;
      std::string rest = param.substr(std::strlen(kEnvPrefix));
      auto us = rest.rfind('_');
      if (us == std::string::npos || us == 0) continue;
      std::string name = rest.substr(0, us);
      if (rest.substr(us + 1) != "PASSWORD") continue;
      std::string password = env_[param];
      env_.erase(param);
      if (password.empty()) continue;
      users[name] = {{"password", password}};
      std::string opt_name = std::string(kEnvPrefix) + name + "_OPTIONS";
      auto opt = env_.find(opt_name);
      if (opt != env_.end()) {
        std::string options = opt->second;
        env_.erase(opt);
        if (!options.empty()) {
          json l = parse_list(options, opt_name);
          if (python_truthy(l)) users[name]["options"] = l;
        }
      }
    }
    if (!users.empty()) ret_["bootstrap"]["users"] = users;
    return ret_.is_null() ? json::object() : ret_;
  }

 private:
  std::string pop(const std::string& name) {
    auto key = std::string(kEnvPrefix) + to_upper(name);
    auto it = env_.find(key);
    if (it == env_.end()) return {};
    std::string v = it->second;
    env_.erase(it);
    return v;
  }

  void fix_log_env(const std::string& name, const std::string& oldname) {
    std::string value = pop(oldname);
    std::string key = std::string(kEnvPrefix) + "LOG_" + to_upper(name);
    if (!value.empty() && !env_.count(key)) env_[key] = value;
  }

  void section_values(const std::string& section, std::initializer_list<const char*> params) {
    for (const char* p : params) {
      auto v = pop(section + "_" + p);
      if (!v.empty()) ret_[section][p] = v;
    }
  }

  // Replaces ret[first][second] (a raw string) by conv(string); drops it if conv gives null, or
  // (drop_falsy) any Python-falsy value such as an empty list.
  template <class F>
  void convert(const std::string& first, const std::string& second, F conv, bool drop_falsy = true) {
    if (!ret_.contains(first) || !ret_[first].contains(second)) return;
    std::string raw = ret_[first][second].get<std::string>();
    ret_[first].erase(second);
    json v = conv(raw);
    if (drop_falsy ? python_truthy(v) : !v.is_null()) {
      ret_[first][second] = v;
    } else {
      warn(std::string(kEnvPrefix) + to_upper(first + "_" + second) + ": value '" + raw +
           "' could not be parsed and is ignored");
    }
    if (ret_[first].empty()) ret_.erase(first);
  }

  json get_auth(const std::string& name, std::size_t count) {
    json out = json::object();
    for (std::size_t i = 0; i < count; ++i) {
      auto v = pop(name + "_" + kAuthParams[i]);
      if (!v.empty()) out[kAuthParams[i]] = v;
    }
    return out;
  }

  json parse_list(const std::string& value, const std::string& what = {}) {
    std::string text = value;
    std::string t = trim(value);
    if (!(t.rfind("-", 0) == 0 || value.find('[') != std::string::npos)) text = "[" + value + "]";
    auto r = parse_yaml(text);
    if (!r) {
      if (!what.empty()) warn(what + ": cannot parse list '" + value + "': " + r.error().to_string());
      return json();
    }
    return r.value();
  }

  json parse_dict(const std::string& value, const std::string& what = {}) {
    std::string text = value;
    if (trim(value).rfind("{", 0) != 0) text = "{" + value + "}";
    auto r = parse_yaml(text);
    if (!r) {
      if (!what.empty()) warn(what + ": cannot parse mapping '" + value + "': " + r.error().to_string());
      return json();
    }
    return r.value();
  }

  void warn(const std::string& msg) {
    if (warnings_) warnings_->push_back(msg);
  }

  EnvMap env_;
  std::vector<std::string>* warnings_;
  json ret_ = json::object();
};

}  // namespace

json build_environment_configuration(const EnvMap& env, std::vector<std::string>* warnings) {
  return Builder(env, warnings).build();
}

}  // namespace custos::config
