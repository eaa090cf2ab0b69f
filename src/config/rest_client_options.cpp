#include "config/rest_client_options.h"

#include <optional>
#include <utility>

#include "common/json_truth.h"

namespace custos::config {

namespace {

using nlohmann::json;

const json& section(const json& config, const char* name) {
  static const json empty = json::object();
  if (!config.is_object()) return empty;
  auto it = config.find(name);
  return it != config.end() && it->is_object() ? *it : empty;
}

std::string text_of(const json& v) {
  if (v.is_null()) return "";
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string value_at(const json& s, const char* key) {
  auto it = s.find(key);
  return it == s.end() ? "" : text_of(*it);
}

// ctl.<key>, else restapi.<key> (an empty value falls through, as Python's `or`).
std::string ctl_or_restapi(const json& config, const char* key) {
  std::string v = value_at(section(config, "ctl"), key);
  return v.empty() ? value_at(section(config, "restapi"), key) : v;
}

// "<section>.authentication" as a (username, password) pair, when either is set.
std::optional<std::pair<std::string, std::string>> basic_auth(const json& config, const char* name) {
  const json& s = section(config, name);
  auto a = s.find("authentication");
  if (a == s.end() || !a->is_object()) return std::nullopt;
  std::string user = value_at(*a, "username"), password = value_at(*a, "password");
  if (user.empty() && password.empty()) return std::nullopt;
  return std::make_pair(std::move(user), std::move(password));
}

}  // namespace

net::HttpClientOptions rest_client_options(const json& config, const std::string& user_agent) {
  net::HttpClientOptions o;
  o.user_agent = user_agent;
  o.basic_auth = basic_auth(config, "ctl");
  if (!o.basic_auth) o.basic_auth = basic_auth(config, "restapi");

  bool insecure = false;
  const json& ctl = section(config, "ctl");
  if (auto i = ctl.find("insecure"); i != ctl.end()) insecure = python_truthy(*i);

  o.tls.cert_file = ctl_or_restapi(config, "certfile");
  if (!o.tls.cert_file.empty()) {
    // With a client certificate the server's chain is always verified; `insecure` only drops
    // the host-name check.
    o.tls.key_file = ctl_or_restapi(config, "keyfile");
    o.tls.key_password = ctl_or_restapi(config, "keyfile_password");
    o.tls.verify_peer = true;
    o.tls.verify_host_name = !insecure;
  } else {
    o.tls.verify_peer = !insecure;
  }
  o.tls.ca_file = value_at(ctl, "cacert");
  if (o.tls.ca_file.empty()) o.tls.ca_file = value_at(section(config, "restapi"), "cafile");
  return o;
}

}  // namespace custos::config
