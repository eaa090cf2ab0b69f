#include "ctl/dcs_url.h"

#include <algorithm>
#include <cctype>

#include "config/config.h"

namespace custos::ctl {

namespace {

struct SchemeDefault {
  const char* scheme;
  int port;
};
// Patroni's order matters: a missing scheme takes the first one whose port matches.
constexpr SchemeDefault kDefaults[] = {
    {"zookeeper", 2181}, {"exhibitor", 8181}, {"consul", 8500}, {"etcd", 2379}, {"etcd3", 2379}};

std::optional<int> default_port(const std::string& scheme) {
  for (const auto& d : kDefaults)
    if (scheme == d.scheme) return d.port;
  return std::nullopt;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

Err<std::string> fail(std::string_view text, const std::string& why) {
  return Err<std::string>{"Invalid DCS URL \"" + std::string(text) + "\": " + why};
}

}  // namespace

Result<DcsUrl, std::string> parse_dcs_url(std::string_view text) {
  // Like Python's urlparse on "//" + text when the text has no "//".
  std::string s(text);
  std::string scheme;
  std::string rest;
  auto slashes = s.find("//");
  if (slashes == std::string::npos) {
    rest = s;
  } else {
    std::string before = s.substr(0, slashes);
    if (!before.empty()) {
      if (before.back() != ':') return fail(text, "expected DCS://HOST:PORT/NAMESPACE");
      scheme = lower(before.substr(0, before.size() - 1));
      bool valid = !scheme.empty() && std::isalpha(static_cast<unsigned char>(scheme[0])) &&
                   std::all_of(scheme.begin(), scheme.end(), [](unsigned char c) {
                     return std::isalnum(c) || c == '+' || c == '-' || c == '.';
                   });
      if (!valid) return fail(text, "expected DCS://HOST:PORT/NAMESPACE");
    }
    rest = s.substr(slashes + 2);
  }
  // Authority up to the first '/', '?' or '#'; the path after it (query/fragment dropped).
  auto end = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, end);
  std::string path;
  if (end != std::string::npos && rest[end] == '/') {
    path = rest.substr(end);
    auto q = path.find_first_of("?#");
    if (q != std::string::npos) path.resize(q);
  }
  // user:password@ is ignored, as patronictl does.
  if (auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);

  DcsUrl out;
  std::string port_text;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return fail(text, "unterminated IPv6 address");
    out.host = authority.substr(1, close - 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return fail(text, "unexpected text after the IPv6 address");
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    if (colon != std::string::npos) {
      if (authority.find(':') != colon) return fail(text, "IPv6 addresses must be written in brackets");
      out.host = authority.substr(0, colon);
      port_text = authority.substr(colon + 1);
    } else {
      out.host = authority;
    }
  }
  out.host = lower(out.host);
  std::optional<int> port;
  if (!port_text.empty()) {
    if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(),
                                             [](unsigned char c) { return std::isdigit(c); }))
      return fail(text, "port must be a number, got \"" + port_text + "\"");
    int p = std::stoi(port_text);
    if (p < 1 || p > 65535) return fail(text, "port out of range: " + port_text);
    port = p;
  }

  if (scheme.empty()) {
    scheme = "etcd";
    if (port)
      for (const auto& d : kDefaults)
        if (d.port == *port) {
          scheme = d.scheme;
          break;
        }
  } else if (!default_port(scheme)) {
    return Err<std::string>{"Unknown dcs scheme: " + scheme};
  }
  out.scheme = scheme;
  if (out.host.empty()) out.host = "localhost";
  out.port = port.value_or(*default_port(scheme));
  std::string ns = trim(path);
  if (!ns.empty() && ns != "/") out.namespace_ = ns;
  return out;
}

std::string host_port(const DcsUrl& url) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  return host + ":" + std::to_string(url.port);
}

nlohmann::json apply_dcs_url(nlohmann::json config, const DcsUrl& url) {
  if (!config.is_object()) config = nlohmann::json::object();
  for (const char* name : config::kDcsSectionNames) config.erase(name);
  nlohmann::json section;
  if (url.scheme == "zookeeper") {
    section = {{"hosts", nlohmann::json::array({host_port(url)})}};
  } else if (url.scheme == "exhibitor") {
    std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    section = {{"hosts", nlohmann::json::array({host})}, {"port", url.port}};
  } else {
    section = {{"host", host_port(url)}};
  }
  config[url.scheme] = section;
  if (url.namespace_) config["namespace"] = *url.namespace_;
  return config;
}

}  // namespace custos::ctl
