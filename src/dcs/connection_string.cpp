#include "dcs/connection_string.h"

#include <cctype>

#include "dcs/json_util.h"

namespace custos::dcs {

namespace {

// Python's urlsplit removes these anywhere in the URL before parsing.
std::string strip_unsafe(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c != '\t' && c != '\r' && c != '\n') out.push_back(c);
  }
  return out;
}

bool valid_scheme(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s.front()))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

struct Split {
  std::string scheme;    // lowercased, without ':'
  bool has_netloc = false;
  std::string netloc;
  std::string path;      // path (with params)
  std::string query;
  std::string fragment;
};

Split split_url(std::string_view url) {
  Split r;
  // Leading C0 controls and spaces are stripped by urlsplit.
  while (!url.empty() && static_cast<unsigned char>(url.front()) <= ' ') url.remove_prefix(1);
  auto colon = url.find(':');
  if (colon != std::string_view::npos && valid_scheme(url.substr(0, colon))) {
    for (char c : url.substr(0, colon)) {
      r.scheme.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    url.remove_prefix(colon + 1);
  }
  if (url.substr(0, 2) == "//") {
    url.remove_prefix(2);
    auto end = url.find_first_of("/?#");
    r.has_netloc = true;
    r.netloc = std::string(url.substr(0, end));
    url = end == std::string_view::npos ? std::string_view{} : url.substr(end);
  }
  auto hash = url.find('#');
  if (hash != std::string_view::npos) {
    r.fragment = std::string(url.substr(hash + 1));
    url = url.substr(0, hash);
  }
  auto q = url.find('?');
  if (q != std::string_view::npos) {
    r.query = std::string(url.substr(q + 1));
    url = url.substr(0, q);
  }
  r.path = std::string(url);
  return r;
}

// urllib.parse.unquote_plus with utf-8 'replace' decoding.
std::string unquote_plus(std::string_view s) {
  std::string bytes;
  bytes.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      bytes.push_back(' ');
    } else if (c == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      auto hex = [](char h) {
        return std::isdigit(static_cast<unsigned char>(h))
                   ? h - '0'
                   : std::tolower(static_cast<unsigned char>(h)) - 'a' + 10;
      };
      bytes.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      bytes.push_back(c);
    }
  }
  return sanitize_utf8(bytes);
}

}  // namespace

std::pair<std::string, std::optional<std::string>> parse_connection_string(
    std::string_view value) {
  std::string clean = strip_unsafe(value);
  Split s = split_url(clean);
  // urlunsplit without the query.
  std::string conn_url;
  if (!s.scheme.empty()) conn_url = s.scheme + ":";
  if (s.has_netloc && !s.netloc.empty()) {
    conn_url += "//" + s.netloc;
    if (!s.path.empty() && s.path.front() != '/') conn_url += "/";
  } else if (s.path.substr(0, 2) == "//") {
    conn_url += "//";  // urlunsplit keeps an empty netloc marker in front of such a path
  }
  conn_url += s.path;
  if (!s.fragment.empty()) conn_url += "#" + s.fragment;

  std::optional<std::string> api_url;
  std::string_view q = s.query;
  while (!api_url && !q.empty()) {
    auto amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view val = pair.substr(eq + 1);
    if (val.empty()) continue;
    if (unquote_plus(pair.substr(0, eq)) == "application_name") api_url = unquote_plus(val);
  }
  return {sanitize_utf8(conn_url), api_url};
}

std::optional<UrlParts> parse_url(std::string_view url) {
  std::string clean = strip_unsafe(url);
  Split s = split_url(clean);
  UrlParts r;
  r.scheme = s.scheme;
  r.path = s.path;
  std::string_view netloc = s.netloc;
  // Brackets must be balanced (urlsplit raises "Invalid IPv6 URL").
  bool open = netloc.find('[') != std::string_view::npos;
  bool close = netloc.find(']') != std::string_view::npos;
  if (open != close) return std::nullopt;
  auto at = netloc.rfind('@');
  std::string_view hostinfo = at == std::string_view::npos ? netloc : netloc.substr(at + 1);
  std::string_view host, port;
  auto ob = hostinfo.find('[');
  if (ob != std::string_view::npos) {
    std::string_view bracketed = hostinfo.substr(ob + 1);
    auto cb = bracketed.find(']');
    host = bracketed.substr(0, cb);
    std::string_view after = cb == std::string_view::npos ? std::string_view{} : bracketed.substr(cb + 1);
    auto c = after.find(':');
    port = c == std::string_view::npos ? std::string_view{} : after.substr(c + 1);
  } else {
    auto c = hostinfo.find(':');
    host = hostinfo.substr(0, c);
    port = c == std::string_view::npos ? std::string_view{} : hostinfo.substr(c + 1);
  }
  // hostname: lowercased except a zone id after '%'.
  auto pct = host.find('%');
  r.hostname = python_lower_utf8(host.substr(0, pct));
  if (pct != std::string_view::npos) r.hostname += sanitize_utf8(host.substr(pct));
  if (!port.empty()) {
    if (port.size() > 5) return std::nullopt;
    int p = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return std::nullopt;
      p = p * 10 + (c - '0');
    }
    if (p > 65535) return std::nullopt;
    r.port = p;
  }
  return r;
}

nlohmann::json conn_kwargs_from_url(std::string_view conn_url) {
  auto parts = parse_url(conn_url);
  if (!parts) return nlohmann::json::object();
  nlohmann::json ret = nlohmann::json::object();
  if (parts->hostname.empty()) {
    ret["host"] = nullptr;
  } else {
    ret["host"] = parts->hostname;
  }
  ret["port"] = parts->port && *parts->port != 0 ? *parts->port : 5432;
  ret["dbname"] = sanitize_utf8(parts->path.empty() ? std::string_view{}
                                                    : std::string_view(parts->path).substr(1));
  return ret;
}

nlohmann::json merge_auth(nlohmann::json kwargs, const nlohmann::json& auth) {
  if (!kwargs.is_object()) kwargs = nlohmann::json::object();
  if (!auth.is_object() || auth.empty()) return kwargs;
  for (auto it = auth.begin(); it != auth.end(); ++it) {
    if (!it->is_null()) kwargs[it.key()] = *it;
  }
  if (auth.contains("username")) {
    auto u = kwargs.find("username");
    if (u != kwargs.end()) {
      nlohmann::json v = *u;
      kwargs.erase(u);
      kwargs["user"] = std::move(v);
    } else {
      // Python: ret.pop('username') raises when auth had username=None; we just drop it.
    }
  }
  return kwargs;
}

std::string build_conn_url(std::string_view scheme, std::string_view host, std::string_view port) {
  std::string h(host);
  if (!h.empty() && h.find(':') != std::string::npos && !(h.front() == '[' || h.back() == ']')) {
    h = "[" + h + "]";
  }
  std::string out(scheme);
  out += "://";
  out += h;
  if (!port.empty()) {
    out += ":";
    out += port;
  }
  return out;
}

}  // namespace custos::dcs
