#include "dcs/zookeeper/zookeeper_settings.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/json_truth.h"
#include "config/config.h"

namespace custos::dcs::zookeeper {

namespace {

using json = nlohmann::json;
using SettingsResult = Result<ZooKeeperSettings, std::string>;

Err<std::string> fail(std::string msg) { return Err<std::string>{"zookeeper configuration: " + std::move(msg)}; }

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// A positive integer (JSON number or decimal string), nullopt when absent; `error` when bad.
std::optional<int> int_opt(const json& j, const char* key, std::string& error) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  int64_t v = 0;
  if (it->is_number_integer()) {
    v = it->get<int64_t>();
  } else if (it->is_number_float() && it->get<double>() == static_cast<double>(static_cast<int64_t>(it->get<double>()))) {
    v = static_cast<int64_t>(it->get<double>());
  } else if (it->is_string()) {
    const std::string s = it->get<std::string>();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
      error = std::string("`") + key + "` must be an integer, got \"" + s + "\"";
      return std::nullopt;
    }
  } else {
    error = std::string("`") + key + "` must be an integer";
    return std::nullopt;
  }
  if (v < 1 || v > 1000000) {
    error = std::string("`") + key + "` out of range: " + std::to_string(v);
    return std::nullopt;
  }
  return static_cast<int>(v);
}

// "host", "host:port" or "[v6]:port" → "host:port" (2181 when no port is named).
std::optional<std::string> host_port(const std::string& raw, std::string& error) {
  const std::string h = trim(raw);
  if (h.empty() || h.find_first_of(" \t/") != std::string::npos) {
    error = "invalid host \"" + raw + "\"";
    return std::nullopt;
  }
  const auto close = h.rfind(']');
  const auto colon = h.rfind(':');
  const bool has_port = colon != std::string::npos && (close == std::string::npos || colon > close) &&
                        (h.front() == '[' || h.find(':') == colon);
  if (!has_port) return h + ":2181";
  const std::string port = h.substr(colon + 1);
  int p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p < 1 || p > 65535) {
    error = "invalid port in \"" + raw + "\"";
    return std::nullopt;
  }
  return h;
}

}  // namespace

std::string ZooKeeperSettings::base_path() const {
  return config::collapse_slashes("/" + namespace_ + "/" + scope + "/");  // the rule Config::base_path keeps
}

std::string ZooKeeperSettings::client_path() const {
  return citus_group ? base_path() + std::to_string(*citus_group) + "/" : base_path();
}

std::string ZooKeeperSettings::cluster_prefix() const { return is_citus_coordinator() ? base_path() : client_path(); }

SettingsResult ZooKeeperSettings::from_patroni_config(const json& config) {
  if (!config.is_object()) return fail("configuration is not an object");
  auto sit = config.find("zookeeper");
  if (sit == config.end() || sit->is_null()) return fail("no `zookeeper` section");
  if (!sit->is_object()) return fail("`zookeeper` section must be a mapping");
  const json& s = *sit;
  ZooKeeperSettings out;
  std::string error;

  // hosts: a list or a comma-separated string.
  std::vector<std::string> items;
  auto hosts = s.find("hosts");
  if (hosts == s.end() || hosts->is_null()) {
    if (s.contains("exhibitor")) return fail("`exhibitor` is not supported by custos yet; list the ZooKeeper `hosts`");
    return fail("`hosts` is required");
  }
  if (hosts->is_string()) {
    const std::string text = hosts->get<std::string>();
    std::size_t start = 0;
    while (start <= text.size()) {
      const std::size_t comma = text.find(',', start);
      std::string item = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (!item.empty()) items.push_back(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else if (hosts->is_array()) {
    for (const auto& h : *hosts) {
      if (!h.is_string()) return fail("`hosts` entries must be strings");
      items.push_back(h.get<std::string>());
    }
  } else {
    return fail("`hosts` must be a list or a comma-separated string");
  }
  if (items.empty()) return fail("`hosts` is empty");
  // kazoo (and the C client) take a chroot after the last host: "h1:2181,h2:2181/app".
  std::string chroot;
  if (auto slash = items.back().find('/'); slash != std::string::npos) {
    chroot = items.back().substr(slash);
    items.back() = items.back().substr(0, slash);
    if (chroot.size() < 2 || chroot.back() == '/' || chroot.find("//") != std::string::npos)
      return fail("`hosts`: invalid chroot \"" + chroot + "\"");
  }
  for (const auto& item : items) {
    auto hp = host_port(item, error);
    if (!hp) return fail("`hosts`: " + error);
    out.hosts += (out.hosts.empty() ? "" : ",") + *hp;
  }
  out.hosts += chroot;

  // TLS: Debian's C client library has none. Refuse rather than talk in clear text.
  // A string (PATRONI_ZOOKEEPER_USE_SSL arrives as one) is read as a boolean word: Patroni hands
  // it to kazoo as is, where even "false" turns TLS on.
  auto ssl_on = [](const json& v) { return v.is_string() ? patroni_parse_bool(v).value_or(true) : python_truthy(v); };
  if (auto it = s.find("use_ssl"); it != s.end() && ssl_on(*it))
    return fail("`use_ssl` is not supported: Debian's ZooKeeper C client (libzookeeper-mt) is built without TLS");
  if (auto it = s.find("set_acls"); it != s.end() && !it->is_null()) {
    if (!it->is_object()) return fail("`set_acls` must be a mapping of principal to permissions");
    if (!it->empty())
      return fail("`set_acls` is not supported: its x509 principals need a TLS connection, which Debian's ZooKeeper "
                  "C client (libzookeeper-mt) cannot make");
  }

  // auth_data: {scheme: credential} (Patroni), also [[scheme, credential], ...] (kazoo's form).
  if (auto it = s.find("auth_data"); it != s.end() && !it->is_null()) {
    if (it->is_object()) {
      for (const auto& [scheme, cred] : it->items()) {
        if (!cred.is_string()) return fail("`auth_data`." + scheme + " must be a string");
        out.auth_data.emplace_back(scheme, cred.get<std::string>());
      }
    } else if (it->is_array()) {
      for (const auto& pair : *it) {
        if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string())
          return fail("`auth_data` entries must be [scheme, credential] pairs of strings");
        out.auth_data.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
      }
    } else {
      return fail("`auth_data` must be a mapping of scheme to credential");
    }
    for (const auto& [scheme, cred] : out.auth_data)
      if (scheme.empty()) return fail("`auth_data` has an empty scheme");
  }

  auto str = [&](const json& j, const char* key) -> std::optional<std::string> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
    error = std::string("`") + key + "` must be a string";
    return std::nullopt;
  };
  auto scope = str(config, "scope");
  auto ns = str(config, "namespace");
  auto name = str(config, "name");
  if (!error.empty()) return fail(error);
  if (!scope || scope->empty()) return fail("`scope` is required");
  out.scope = *scope;
  if (ns) out.namespace_ = *ns;
  if (auto it = config.find("patronictl"); it != config.end() && it->is_boolean()) out.ctl = it->get<bool>();
  if (name) out.name = *name;
  if (out.name.empty() && !out.ctl) return fail("`name` is required");
  if (out.name.find('/') != std::string::npos) return fail("`name` must not contain '/'");

  json timing = json::object();
  for (const char* k : {"ttl", "loop_wait", "retry_timeout"})
    if (config.contains(k)) timing[k] = config[k];
  if (auto bs = config.find("bootstrap"); bs != config.end() && bs->is_object()) {
    if (auto dcs = bs->find("dcs"); dcs != bs->end() && dcs->is_object())
      for (const char* k : {"ttl", "loop_wait", "retry_timeout"})
        if (!timing.contains(k) && dcs->contains(k)) timing[k] = (*dcs)[k];
  }
  if (auto v = int_opt(timing, "ttl", error)) out.timing.ttl = *v;
  if (auto v = int_opt(timing, "loop_wait", error)) out.timing.loop_wait = *v;
  if (auto v = int_opt(timing, "retry_timeout", error)) out.timing.retry_timeout = *v;
  if (!error.empty()) return fail(error);
  if (out.timing.ttl < 2) return fail("`ttl` must be at least 2 seconds");

  if (auto citus = config.find("citus"); citus != config.end() && citus->is_object() && citus->contains("group")) {
    auto g = config::citus_group_of(*citus);
    if (!g) return fail("`citus.group` must be an integer from 0");
    out.citus_group = *g;
  }
  return out;
}

}  // namespace custos::dcs::zookeeper
