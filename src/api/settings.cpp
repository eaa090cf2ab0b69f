// RestApiSettings::from_config: the `restapi` section parsed with clear errors.
#include <algorithm>
#include <cctype>

#include "api/rest_server.h"
#include "common/json_truth.h"
#include "common/version.h"

namespace custos::api {

using nlohmann::json;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string scalar_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

// "host:port", "[v6]:port", "*:port", ":port". Returns error text on failure.
std::optional<std::string> split_host_port(const std::string& text, std::string& host, uint16_t& port) {
  std::string t = text;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.erase(t.begin());
  std::string h, p;
  if (!t.empty() && t.front() == '[') {
    auto close = t.find(']');
    if (close == std::string::npos) return "unterminated '[' in " + text;
    h = t.substr(1, close - 1);
    if (close + 1 >= t.size() || t[close + 1] != ':') return "missing port in " + text;
    p = t.substr(close + 2);
  } else {
    auto colon = t.rfind(':');
    if (colon == std::string::npos) return "expected host:port, got '" + text + "'";
    h = t.substr(0, colon);
    p = t.substr(colon + 1);
  }
  if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), [](unsigned char c) { return std::isdigit(c); }))
    return "invalid port in '" + text + "'";
  int n = std::stoi(p);
  if (n > 65535) return "port out of range in '" + text + "'";
  // Patroni accepts a comma-separated list of hosts and listens on the first one.
  if (auto comma = h.find(','); comma != std::string::npos) h = h.substr(0, comma);
  if (h == "*") h.clear();
  host = h;
  port = static_cast<uint16_t>(n);
  return std::nullopt;
}

Result<std::vector<std::pair<std::string, std::string>>, std::string> headers_of(const json& v,
                                                                                 const std::string& key) {
  std::vector<std::pair<std::string, std::string>> out;
  if (v.is_null()) return out;
  if (!v.is_object()) return make_error("restapi." + key + " must be a mapping of header names to values");
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string& name = it.key();
    std::string value = scalar_text(it.value());
    bool bad = name.empty();
    for (char c : name)
      if (c <= ' ' || c == ':' || c == 127) bad = true;
    for (char c : value)
      if (c == '\r' || c == '\n' || c == '\0') bad = true;
    if (bad) return make_error("restapi." + key + ": invalid header '" + name + "'");
    out.emplace_back(name, value);
  }
  return out;
}

}  // namespace

std::string RestApiSettings::listen_text() const {
  std::string host = listen_host.empty() ? "*" : listen_host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(listen_port);
}

std::string RestApiSettings::api_url() const {
  std::string hp = connect_address;
  if (hp.empty()) {
    std::string host = listen_host.empty() ? "127.0.0.1" : listen_host;
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    hp = host + ":" + std::to_string(listen_port);
  }
  return std::string(tls() ? "https" : "http") + "://" + hp + "/patroni";
}

Result<RestApiSettings, std::string> RestApiSettings::from_config(const json& restapi, PatroniGeneration presentation) {
  RestApiSettings s;
  if (restapi.is_null()) return make_error(std::string("restapi section is missing (needs listen)"));
  if (!restapi.is_object()) return make_error(std::string("restapi must be a mapping"));

  auto str = [&](const char* key, std::string& out) -> std::optional<std::string> {
    if (!restapi.contains(key) || restapi[key].is_null()) return std::nullopt;
    const json& v = restapi[key];
    if (v.is_object() || v.is_array()) return std::string("restapi.") + key + " must be a string";
    out = scalar_text(v);
    return std::nullopt;
  };

  std::string listen;
  if (auto e = str("listen", listen)) return make_error(*e);
  if (listen.empty()) return make_error(std::string("restapi.listen is required (host:port)"));
  if (auto e = split_host_port(listen, s.listen_host, s.listen_port)) return make_error("restapi.listen: " + *e);

  if (auto e = str("connect_address", s.connect_address)) return make_error(*e);
  if (!s.connect_address.empty()) {
    std::string h;
    uint16_t p = 0;
    if (auto e = split_host_port(s.connect_address, h, p)) return make_error("restapi.connect_address: " + *e);
    if (h.empty()) return make_error("restapi.connect_address: host must not be empty or '*'");
  }
  for (auto [key, out] : {std::pair{"certfile", &s.certfile}, std::pair{"keyfile", &s.keyfile},
                          std::pair{"keyfile_password", &s.keyfile_password}, std::pair{"cafile", &s.cafile},
                          std::pair{"ciphers", &s.ciphers}}) {
    if (auto e = str(key, *out)) return make_error(*e);
  }
  std::string verify;
  if (auto e = str("verify_client", verify)) return make_error(*e);
  verify = lower(verify);
  if (verify.empty() || verify == "none")
    s.verify_client = VerifyClient::kNone;
  else if (verify == "optional")
    s.verify_client = VerifyClient::kOptional;
  else if (verify == "required")
    s.verify_client = VerifyClient::kRequired;
  else
    return make_error("restapi.verify_client must be none, optional or required, got '" + verify + "'");
  if (s.verify_client != VerifyClient::kNone && s.certfile.empty())
    return make_error(std::string("restapi.verify_client needs restapi.certfile (HTTPS)"));
  if (s.verify_client != VerifyClient::kNone && s.cafile.empty())
    return make_error(std::string("restapi.verify_client needs restapi.cafile to verify client certificates"));

  if (restapi.contains("http_extra_headers")) {
    auto h = headers_of(restapi["http_extra_headers"], "http_extra_headers");
    if (!h) return make_error(h.error());
    s.http_extra_headers = h.value();
  }
  if (restapi.contains("https_extra_headers")) {
    auto h = headers_of(restapi["https_extra_headers"], "https_extra_headers");
    if (!h) return make_error(h.error());
    s.https_extra_headers = h.value();
  }

  s.server_header = std::string("custos/") + kVersion;
  if (auto it = restapi.find("server_tokens"); it != restapi.end() && !it->is_null()) {
    const std::string tokens = it->is_string() ? lower(it->get<std::string>()) : "";
    if (tokens == "productonly")
      s.server_header = "Patroni";
    else if (tokens == "minimal")
      s.server_header = "Patroni/" + std::string(announced_patroni_version(presentation));
    else if (tokens != "original")
      s.server_tokens_warning = "restapi.server_tokens must be Original, ProductOnly or Minimal, got " + it->dump() +
                                "; using Original";
  }

  if (restapi.contains("request_queue_size") && !restapi["request_queue_size"].is_null()) {
    const json& q = restapi["request_queue_size"];
    int64_t n = -1;
    if (q.is_number_integer()) {
      n = q.get<int64_t>();
    } else if (q.is_string()) {
      try {
        std::size_t used = 0;
        n = std::stoll(q.get<std::string>(), &used);
        if (used != q.get<std::string>().size()) n = -1;
      } catch (...) {
        n = -1;
      }
    }
    if (n < 0 || n > 4096) return make_error(std::string("restapi.request_queue_size must be an integer in 0..4096"));
    s.request_queue_size = static_cast<int>(n);
  }

  if (restapi.contains("authentication") && !restapi["authentication"].is_null()) {
    const json& a = restapi["authentication"];
    if (!a.is_object()) return make_error(std::string("restapi.authentication must be a mapping with username and password"));
    if (!a.contains("username") || !a.contains("password"))
      return make_error(std::string("restapi.authentication needs both username and password"));
    s.authentication = std::pair{scalar_text(a["username"]), scalar_text(a["password"])};
  } else if (restapi.contains("auth") && restapi["auth"].is_string()) {
    std::string auth = restapi["auth"].get<std::string>();
    auto colon = auth.find(':');
    if (colon == std::string::npos) return make_error(std::string("restapi.auth must be 'username:password'"));
    s.authentication = std::pair{auth.substr(0, colon), auth.substr(colon + 1)};
  }

  if (restapi.contains("allowlist") && !restapi["allowlist"].is_null()) {
    const json& l = restapi["allowlist"];
    if (!l.is_array()) return make_error(std::string("restapi.allowlist must be a list of hosts, IPs or CIDRs"));
    for (const auto& e : l) {
      if (!e.is_string() || e.get<std::string>().empty())
        return make_error(std::string("restapi.allowlist entries must be non-empty strings"));
      s.allowlist.push_back(e.get<std::string>());
    }
  }
  if (restapi.contains("allowlist_include_members") && !restapi["allowlist_include_members"].is_null()) {
    const json& b = restapi["allowlist_include_members"];
    // A boolean, or a string patroni_parse_bool understands; anything else is refused.
    std::optional<bool> parsed;
    if (b.is_boolean() || b.is_string()) parsed = patroni_parse_bool(b);
    if (!parsed) return make_error(std::string("restapi.allowlist_include_members must be a boolean"));
    s.allowlist_include_members = *parsed;
  }
  return s;
}

}  // namespace custos::api
