#include "dcs/etcd_common/etcd_settings.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/json_truth.h"
#include "config/config.h"
#include "net/http_client.h"

namespace custos::dcs::etcd_common {

namespace {

using json = nlohmann::json;
using SettingsResult = Result<EtcdSettings, std::string>;

// A message without the "<section> configuration: " prefix, which the public functions add.
Err<std::string> fail(std::string msg) { return Err<std::string>{std::move(msg)}; }

SettingsResult with_prefix(SettingsResult r, const std::string& section_name) {
  if (!r) return Err<std::string>{section_name + " configuration: " + r.error()};
  return r;
}

// Optional string option; an error message when present with another type.
std::optional<std::string> string_opt(const json& j, const char* key, std::string& error) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  error = std::string("`") + key + "` must be a string";
  return std::nullopt;
}

// Optional positive integer (JSON number or decimal string).
std::optional<int> int_opt(const json& j, const char* key, std::string& error, int min_value = 1) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  int64_t v = 0;
  if (it->is_number_integer()) {
    v = it->get<int64_t>();
  } else if (it->is_number_float()) {
    double d = it->get<double>();
    if (d != static_cast<double>(static_cast<int64_t>(d))) {
      error = std::string("`") + key + "` must be an integer";
      return std::nullopt;
    }
    v = static_cast<int64_t>(d);
  } else if (it->is_string()) {
    const std::string s = it->get<std::string>();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
      error = std::string("`") + key + "` must be an integer, got \"" + s + "\"";
      return std::nullopt;
    }
  } else {
    error = std::string("`") + key + "` must be an integer";
    return std::nullopt;
  }
  if (v < min_value || v > 1000000) {
    error = std::string("`") + key + "` out of range: " + std::to_string(v);
    return std::nullopt;
  }
  return static_cast<int>(v);
}

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// "host", "host:port", "[v6]:port" or a full URL → base URL "<protocol>://host:port".
std::optional<std::string> endpoint_from(const std::string& raw, const std::string& protocol, int default_port,
                                         std::string& error) {
  std::string value = trim(raw);
  if (value.empty()) {
    error = "empty host";
    return std::nullopt;
  }
  std::string url_text = value.find("://") != std::string::npos ? value : protocol + "://" + value;
  auto url = net::Url::parse(url_text);
  if (!url) {
    error = "invalid host \"" + value + "\"";
    return std::nullopt;
  }
  bool has_port = false;
  {
    // Did the text name a port? (Url::parse fills in 80/443 otherwise.)
    std::string authority = url_text.substr(url_text.find("://") + 3);
    authority = authority.substr(0, authority.find_first_of("/?"));
    auto close = authority.rfind(']');
    auto colon = authority.rfind(':');
    has_port = colon != std::string::npos && (close == std::string::npos || colon > close);
  }
  if (!has_port) url->port = static_cast<uint16_t>(default_port);
  return url->origin();
}

}  // namespace

std::string EtcdSettings::base_path() const {
  return config::collapse_slashes("/" + namespace_ + "/" + scope + "/");  // the rule Config::base_path keeps
}

std::string EtcdSettings::client_path() const {
  return citus_group ? base_path() + std::to_string(*citus_group) + "/" : base_path();
}

std::string EtcdSettings::cluster_prefix() const {
  return is_citus_coordinator() ? base_path() : client_path();
}

SettingsResult EtcdSettings::from_patroni_config(const json& config, const std::string& section_name) {
  if (!config.is_object()) return with_prefix(fail("configuration is not an object"), section_name);
  auto it = config.find(section_name);
  if (it == config.end() || it->is_null()) return with_prefix(fail("no `" + section_name + "` section"), section_name);
  if (!it->is_object()) return with_prefix(fail("`" + section_name + "` section must be a mapping"), section_name);
  json merged = *it;
  for (const char* k : {"scope", "namespace", "name", "ttl", "loop_wait", "retry_timeout", "patronictl"})
    if (config.contains(k)) merged[k] = config[k];
  auto bs = config.find("bootstrap");
  if (bs != config.end() && bs->is_object()) {
    auto dcs = bs->find("dcs");
    if (dcs != bs->end() && dcs->is_object())
      for (const char* k : {"ttl", "loop_wait", "retry_timeout"})
        if (!merged.contains(k) && dcs->contains(k)) merged[k] = (*dcs)[k];
  }
  auto citus = config.find("citus");
  if (citus != config.end() && citus->is_object() && citus->contains("group")) merged["group"] = (*citus)["group"];
  return from_section(merged, section_name);
}

SettingsResult EtcdSettings::from_section(const json& s, const std::string& section_name) {
  return with_prefix(parse_section(s, section_name), section_name);
}

SettingsResult EtcdSettings::parse_section(const json& s, const std::string& section_name) {
  if (!s.is_object()) return fail("section must be a mapping");
  EtcdSettings out;
  out.section = section_name;
  std::string error;

  auto protocol = string_opt(s, "protocol", error);
  if (!error.empty()) return fail(error);
  std::string proto = protocol ? *protocol : "http";
  std::transform(proto.begin(), proto.end(), proto.begin(), [](unsigned char c) { return std::tolower(c); });
  if (proto != "http" && proto != "https") return fail("`protocol` must be http or https, got \"" + proto + "\"");

  auto cacert = string_opt(s, "cacert", error);
  if (!cacert) cacert = string_opt(s, "ca_cert", error);
  auto cert = string_opt(s, "cert", error);
  auto key = string_opt(s, "key", error);
  auto key_password = string_opt(s, "key_password", error);
  if (!error.empty()) return fail(error);
  out.cacert = cacert.value_or("");
  out.cert = cert.value_or("");
  out.key = key.value_or("");
  out.key_password = key_password.value_or("");
  if (!out.key.empty() && out.cert.empty()) return fail("`key` given without `cert`");
  if (s.contains("verify")) {
    if (!s["verify"].is_boolean()) return fail("`verify` must be a boolean");
    out.verify = s["verify"].get<bool>();
  }

  int default_port = 2379;
  if (auto p = int_opt(s, "port", error)) {
    if (*p > 65535) return fail("`port` out of range");
    default_port = *p;
  }
  if (!error.empty()) return fail(error);

  auto add = [&](const std::string& raw, const std::string& protocol_for) -> bool {
    auto ep = endpoint_from(raw, protocol_for, default_port, error);
    if (!ep) return false;
    if (std::find(out.endpoints.begin(), out.endpoints.end(), *ep) == out.endpoints.end()) out.endpoints.push_back(*ep);
    return true;
  };

  for (const char* k : {"srv", "discovery_srv", "srv_domain"}) {
    auto v = string_opt(s, k, error);
    if (!error.empty()) return fail(error);
    if (v && !v->empty()) {
      out.srv = *v;
      break;
    }
  }
  if (auto suffix = string_opt(s, "srv_suffix", error)) out.srv_suffix = *suffix;
  if (!error.empty()) return fail(error);
  const bool srv_only = !out.srv.empty() && !s.contains("host") && !s.contains("hosts") && !s.contains("url") &&
                        !s.contains("proxy");

  // `use_proxies`: the hosts are proxies in front of etcd; no topology discovery around them
  // (read with Python's truthiness, as the section's other flags).
  if (auto it = s.find("use_proxies"); it != s.end() && python_truthy(*it)) out.use_proxies = true;
  if (auto proxy = string_opt(s, "proxy", error)) {
    out.use_proxies = true;
    if (!add(*proxy, proto)) return fail("`proxy`: " + error);
  } else if (auto url = string_opt(s, "url", error)) {
    if (!add(*url, proto)) return fail("`url`: " + error);
  } else if (s.contains("hosts") && !s["hosts"].is_null()) {
    const json& hosts = s["hosts"];
    std::vector<std::string> items;
    if (hosts.is_string()) {
      std::string text = hosts.get<std::string>();
      size_t start = 0;
      while (start <= text.size()) {
        size_t comma = text.find(',', start);
        std::string item = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (!item.empty()) items.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else if (hosts.is_array()) {
      for (const auto& h : hosts) {
        if (!h.is_string()) return fail("`hosts` entries must be strings");
        items.push_back(h.get<std::string>());
      }
    } else {
      return fail("`hosts` must be a list or a comma-separated string");
    }
    if (items.empty()) return fail("`hosts` is empty");
    for (const auto& item : items)
      if (!add(item, proto)) return fail("`hosts`: " + error);
  } else if (auto host = string_opt(s, "host", error)) {
    if (!add(*host, proto)) return fail("`host`: " + error);
  } else if (!srv_only) {
    if (!error.empty()) return fail(error);
    add("127.0.0.1:2379", proto);
  }
  if (!error.empty()) return fail(error);

  auto user = string_opt(s, "username", error);
  if (!user) user = string_opt(s, "user", error);
  auto password = string_opt(s, "password", error);
  if (!error.empty()) return fail(error);
  if (user && !user->empty()) out.username = user;
  if (password) out.password = password;
  if (out.username.has_value() != out.password.has_value()) return fail("`username` and `password` go together");

  auto scope = string_opt(s, "scope", error);
  auto ns = string_opt(s, "namespace", error);
  auto name = string_opt(s, "name", error);
  if (!error.empty()) return fail(error);
  if (!scope || scope->empty()) return fail("`scope` is required");
  out.scope = *scope;
  if (ns) out.namespace_ = *ns;
  if (s.contains("patronictl") && s["patronictl"].is_boolean()) out.ctl = s["patronictl"].get<bool>();
  if (name) out.name = *name;
  if (out.name.empty() && !out.ctl) return fail("`name` is required");
  if (out.name.find('/') != std::string::npos) return fail("`name` must not contain '/'");

  if (auto v = int_opt(s, "ttl", error)) out.timing.ttl = *v;
  if (auto v = int_opt(s, "loop_wait", error)) out.timing.loop_wait = *v;
  if (auto v = int_opt(s, "retry_timeout", error)) out.timing.retry_timeout = *v;
  if (!error.empty()) return fail(error);
  if (out.timing.ttl < 2) return fail("`ttl` must be at least 2 seconds (etcd's minimum lease TTL)");

  if (s.contains("group") && !s["group"].is_null()) {
    auto g = int_opt(s, "group", error, 0);
    if (!g) return fail(error.empty() ? "`group` invalid" : error);
    out.citus_group = *g;
  }
  return out;
}

}  // namespace custos::dcs::etcd_common
