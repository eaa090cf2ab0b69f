// The REST API request handler (spec/rest-api.md §1-§5, §7): pure logic, no transport.
#include "api/handler.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <set>

#include "config/global_config.h"
#include "dcs/connection_string.h"
#include "api/status_page.h"
#include "dcs/member_positions.h"
#include "common/metrics_registry.h"

namespace custos::api {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Small helpers

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Python's unquote_plus: '+' → ' ', valid %XX decoded, invalid escapes kept literally.
std::string unquote_plus(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 3; k >= 0; --k) out.push_back(kB64[(n >> (6 * k)) & 63]);
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint8_t(in[i]) << 16;
    out.push_back(kB64[(n >> 18) & 63]);
    out.push_back(kB64[(n >> 12) & 63]);
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out.push_back(kB64[(n >> 18) & 63]);
    out.push_back(kB64[(n >> 12) & 63]);
    out.push_back(kB64[(n >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

// Python's str(value).lower() for a non-string tag value.
std::string py_lower_str(const json& v) {
  std::string s;
  if (v.is_boolean())
    s = v.get<bool>() ? "True" : "False";
  else if (v.is_string())
    return v.get<std::string>();
  else
    s = v.dump();
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// "YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]]" (PostgreSQL timestamptz text) → epoch seconds.
std::optional<double> parse_pg_timestamp(std::string_view t) {
  int Y, M, D, h, m;
  double s;
  char rest[64] = {0};
  std::string text(t.substr(0, 60));
  int n = std::sscanf(text.c_str(), "%4d-%2d-%2d%*1[ T]%2d:%2d:%lf%63s", &Y, &M, &D, &h, &m, &s, rest);
  if (n < 6) return std::nullopt;
  std::tm tm{};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = 0;
  double epoch = static_cast<double>(timegm(&tm)) + s;
  std::string_view r = rest;
  if (!r.empty() && (r[0] == '+' || r[0] == '-')) {
    int sign = r[0] == '-' ? -1 : 1;
    int oh = 0, om = 0;
    std::string rs(r.substr(1));
    if (rs.find(':') != std::string::npos)
      std::sscanf(rs.c_str(), "%d:%d", &oh, &om);
    else if (rs.size() > 2)
      std::sscanf(rs.c_str(), "%2d%2d", &oh, &om);
    else
      std::sscanf(rs.c_str(), "%d", &oh);
    epoch -= sign * (oh * 3600 + om * 60);
  }
  return epoch;
}

// Python's repr of a float (enough digits, trailing ".0" for integral values).
std::string py_float(double v) {
  if (v == 0) return "0";
  char buf[64];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  if (s.find('e') != std::string::npos || s.find('E') != std::string::npos) {
    std::snprintf(buf, sizeof buf, "%.6f", v);
    s = buf;
    while (!s.empty() && s.back() == '0') s.pop_back();
  }
  if (s.find('.') == std::string::npos) s += ".0";
  if (s.back() == '.') s += "0";
  return s;
}

std::string isoformat(const dcs::SysMicros& t) {
  auto secs = std::chrono::floor<std::chrono::seconds>(t);
  auto micros = (t - secs).count();
  std::time_t tt = secs.time_since_epoch().count();
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (micros) {
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(micros));
    out += buf;
  }
  return out + "+00:00";
}

// The `noloadbalance` tag, truthy as Member::noloadbalance() reads it.
bool noloadbalance(const json& tags) {
  if (!tags.is_object()) return false;
  dcs::Member m("", 0, std::nullopt, json{{"tags", tags}});
  return m.noloadbalance();
}

// A parsed IP address (v4 stored as v4-mapped v6).
struct Ip {
  unsigned char b[16] = {0};
  bool v4 = false;
};

std::optional<Ip> parse_ip(std::string text) {
  if (!text.empty() && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (auto pct = text.find('%'); pct != std::string::npos) text = text.substr(0, pct);  // zone id
  Ip ip;
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET, text.c_str(), &a4) == 1) {
    ip.v4 = true;
    ip.b[10] = ip.b[11] = 0xff;
    std::memcpy(ip.b + 12, &a4, 4);
    return ip;
  }
  if (inet_pton(AF_INET6, text.c_str(), &a6) == 1) {
    std::memcpy(ip.b, &a6, 16);
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    ip.v4 = std::memcmp(ip.b, mapped, 12) == 0;
    return ip;
  }
  return std::nullopt;
}

bool prefix_match(const Ip& a, const Ip& net, int bits) {
  int full = bits / 8, rem = bits % 8;
  if (std::memcmp(a.b, net.b, full) != 0) return false;
  if (rem == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rem));
  return (a.b[full] & mask) == (net.b[full] & mask);
}

std::vector<Ip> resolve(const std::string& host) {
  std::vector<Ip> out;
  if (auto ip = parse_ip(host)) return {*ip};
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res) return out;
  for (addrinfo* p = res; p; p = p->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {0};
    if (p->ai_family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr, buf, sizeof buf);
    else if (p->ai_family == AF_INET6)
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr, buf, sizeof buf);
    if (auto ip = parse_ip(buf)) out.push_back(*ip);
  }
  freeaddrinfo(res);
  return out;
}

// Entry "ip", "ip/bits" or "hostname".
bool entry_matches(const Ip& client, const std::string& entry) {
  auto slash = entry.find('/');
  if (slash != std::string::npos) {
    auto net = parse_ip(entry.substr(0, slash));
    std::string bits_text = entry.substr(slash + 1);
    if (!net || bits_text.empty() || bits_text.size() > 3 ||
        !std::all_of(bits_text.begin(), bits_text.end(), [](unsigned char c) { return std::isdigit(c); }))
      return false;
    int bits = std::stoi(bits_text);
    if (net->v4) {
      if (bits > 32 || !client.v4) return false;
      bits += 96;
    } else if (bits > 128) {
      return false;
    }
    return prefix_match(client, *net, bits);
  }
  for (const Ip& ip : resolve(entry))
    if (prefix_match(client, ip, 128)) return true;
  return false;
}

Response not_implemented_yet(const Request& r) {
  return Response::text(501, r.method + " " + r.path + ": this endpoint is not implemented yet in custos");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Request / Response

std::optional<std::string> Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return std::nullopt;
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return v;
  return std::nullopt;
}

bool Request::parse_target() {
  std::string_view t = target;
  if (t.empty()) return false;
  for (char c : t)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  if (t == "*") {
    path = "*";
    query.clear();
    return true;
  }
  for (std::string_view scheme : {"http://", "https://"}) {
    if (t.size() >= scheme.size() && iequals(t.substr(0, scheme.size()), scheme)) {
      auto slash = t.find('/', scheme.size());
      t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
      break;
    }
  }
  if (t.front() != '/') return false;
  if (auto hash = t.find('#'); hash != std::string_view::npos) t = t.substr(0, hash);
  auto q = t.find('?');
  path = std::string(t.substr(0, q));
  query.clear();
  if (q == std::string_view::npos) return true;
  std::string_view qs = t.substr(q + 1);
  // Python's parse_qs: '&' (and ';' in old versions; not here) separated, blank values dropped.
  while (!qs.empty()) {
    auto amp = qs.find('&');
    std::string_view pair = qs.substr(0, amp);
    qs = amp == std::string_view::npos ? std::string_view() : qs.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;  // no value: dropped like parse_qs
    std::string key = unquote_plus(pair.substr(0, eq));
    std::string value = unquote_plus(pair.substr(eq + 1));
    if (value.empty()) continue;
    query.emplace_back(std::move(key), std::move(value));
  }
  return true;
}

Response Response::text(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/html");
  r.body = std::move(body);
  return r;
}

Response Response::json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response Response::bare(int status) {
  Response r;
  r.status = status;
  r.status_line_only = true;
  return r;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Request Entity Too Large";
    case 422: return "Unprocessable Entity";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string serialize(const Response& r) {
  std::string out = "HTTP/1.0 " + std::to_string(r.status) + " " + reason_phrase(r.status) + "\r\n";
  if (r.status_line_only) return out + "\r\n";
  bool has_length = false;
  for (const auto& [k, v] : r.headers) {
    out += k + ": " + v + "\r\n";
    if (iequals(k, "Content-Length")) has_length = true;
  }
  if (!has_length) out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  out += "\r\n";
  out += r.body;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pure pieces

std::optional<int64_t> parse_lag(std::string_view text) {
  std::string s(text);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::size_t digits_start = i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == digits_start) return std::nullopt;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  }
  std::string number = s.substr(0, i);
  std::size_t u = i;
  while (u < s.size() && std::isspace(static_cast<unsigned char>(s[u]))) ++u;
  std::string unit = s.substr(u);
  double mult;
  if (unit.empty() || unit == "B")
    mult = 1;
  else if (unit == "kB")
    mult = 1024.0;
  else if (unit == "MB")
    mult = 1024.0 * 1024;
  else if (unit == "GB")
    mult = 1024.0 * 1024 * 1024;
  else if (unit == "TB")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else
    return std::nullopt;
  if (number.size() > 30) return std::nullopt;
  double v = std::strtod(number.c_str(), nullptr) * mult;
  if (!std::isfinite(v) || std::fabs(v) > 9.0e18) return std::nullopt;
  return static_cast<int64_t>(std::llround(v));
}

int64_t received_location(const PgStatus& pg, PatroniGeneration presentation) {
  int64_t received = pg.receive_lsn.value_or(0);
  // Patroni 4.1 reads what the WAL receiver wrote as well (PostgreSQL 13+).
  if (presentation == PatroniGeneration::v4_1) received = std::max(received, pg.written_lsn.value_or(0));
  return received ? received : pg.replay_lsn.value_or(0);
}

json status_json(const NodeSnapshot& snap, const PgStatus& pg, double now) {
  json r = json::object();
  const dcs::Cluster* cluster = snap.cluster ? &*snap.cluster : nullptr;
  bool queried = pg.query_ok && (pg.state == "running" || pg.state == "starting" || pg.state == "restarting");
  if (queried) {
    r["state"] = pg.state;
    if (pg.postmaster_start_time) r["postmaster_start_time"] = *pg.postmaster_start_time;
    std::string role = pg.in_recovery ? "replica" : std::string(primary_role_name(snap.presentation));
    if (role == "replica" && snap.standby_cluster) role = pg.role;
    r["role"] = role;
    if (pg.server_version) r["server_version"] = *pg.server_version;
    if (!pg.in_recovery) {
      r["xlog"] = {{"location", pg.flush_lsn.value_or(0)}};
    } else {
      json x = json::object();
      int64_t replayed = pg.replay_lsn.value_or(0);
      x["received_location"] = received_location(pg, snap.presentation);
      x["replayed_location"] = replayed;
      x["replayed_timestamp"] = pg.replayed_timestamp ? json(*pg.replayed_timestamp) : json(nullptr);
      x["paused"] = pg.replay_paused;
      r["xlog"] = x;
    }
    // Patroni 4: a member of /sync is a quorum standby in quorum mode, else a sync standby.
    if (role == "replica" && snap.synchronous_mode && cluster && cluster->sync().matches(snap.name))
      r[snap.quorum_commit ? "quorum_standby" : "sync_standby"] = true;
    if (pg.timeline) r["timeline"] = *pg.timeline;
    if (pg.replication_state) r["replication_state"] = *pg.replication_state;
    if (!pg.replication.empty()) {
      json rep = json::array();
      for (const auto& c : pg.replication)
        rep.push_back({{"usename", c.usename},
                       {"application_name", c.application_name},
                       {"client_addr", c.client_addr},
                       {"state", c.state},
                       {"sync_state", c.sync_state},
                       {"sync_priority", c.sync_priority}});
      r["replication"] = rep;
    }
  } else {
    r["state"] = pg.state == "running" ? std::string("unknown") : pg.state;
    r["role"] = pg.role;
  }
  if (snap.paused) r["pause"] = true;
  if (!snap.cluster_fresh(now) || cluster->is_unlocked()) r["cluster_unlocked"] = true;
  if (snap.failsafe_mode_is_active) r["failsafe_mode_is_active"] = true;
  r["dcs_last_seen"] = static_cast<int64_t>(snap.dcs_last_seen);
  // _write_status_response additions
  if (snap.tags.is_object() && !snap.tags.empty()) r["tags"] = snap.tags;
  if (snap.database_system_identifier) r["database_system_identifier"] = *snap.database_system_identifier;
  if (snap.pending_restart) {
    r["pending_restart"] = true;
    if (snap.pending_restart_reason.is_object() && !snap.pending_restart_reason.empty())
      r["pending_restart_reason"] = snap.pending_restart_reason;
  }
  r["patroni"] = {{"version", snap.patroni_version}, {"scope", snap.scope}, {"name", snap.name}};
  // custos's own: what is left of this node's lease and when the lease fence would stop
  // PostgreSQL (seconds from now), while this node holds it.
  if (snap.is_leader(now) || snap.fence_deadline > 0) {
    json c = json::object();
    if (snap.is_leader(now)) c["lease_remaining"] = std::round((snap.leader_lock_valid_until - now) * 1000) / 1000;
    if (snap.fence_deadline > 0) c["fence_in"] = std::round(std::max(0.0, snap.fence_deadline - now) * 1000) / 1000;
    r["custos"] = c;
  }
  if (snap.scheduled_restart && snap.scheduled_restart->is_object()) {
    json sr = *snap.scheduled_restart;
    sr.erase("postmaster_start_time");
    r["scheduled_restart"] = sr;
  }
  if (snap.watchdog_failed) r["watchdog_failed"] = true;
  return r;
}

int readiness_code(const NodeSnapshot& snap, const std::vector<std::pair<std::string, std::string>>& query,
                   double now) {
  if (snap.is_leader(now)) return 200;
  if (snap.pg.state != "running") return 503;
  if (snap.presentation == PatroniGeneration::v3_3) return snap.cluster_fresh(now) ? 200 : 503;
  // Patroni 4.1: a replica is ready once it streams and its lag is within bounds.
  if (snap.pg.replication_state.value_or("") != "streaming") return 503;
  const bool fresh = snap.cluster_fresh(now);
  const int64_t latest_end = snap.pg.latest_end_lsn.value_or(0);
  if (!fresh && !latest_end) return snap.failsafe_mode_is_active ? 200 : 503;
  const int64_t leader_optime = std::max(fresh ? snap.cluster->status().last_lsn : 0, latest_end);
  bool write_mode = false;
  std::optional<int64_t> max_lag;
  bool lag_seen = false, mode_seen = false;
  for (const auto& [k, v] : query) {  // parse_qs: the first value of each key
    if (k == "lag" && !lag_seen) {
      lag_seen = true;
      max_lag = parse_lag(v);
    } else if (k == "mode" && !mode_seen) {
      mode_seen = true;
      write_mode = v == "write";
    }
  }
  const int64_t location =
      write_mode ? received_location(snap.pg, PatroniGeneration::v4_1) : snap.pg.replay_lsn.value_or(0);
  const long double lag = static_cast<long double>(leader_optime) - static_cast<long double>(location);
  return lag > static_cast<long double>(max_lag.value_or(snap.maximum_lag_on_failover)) ? 503 : 200;
}

int health_code(const NodeSnapshot& snap, const json& status, std::string_view path_in,
                const std::vector<std::pair<std::string, std::string>>& query, double now) {
  const dcs::Cluster* cluster = snap.cluster_fresh(now) ? &*snap.cluster : nullptr;
  std::string path = path_in == "/" ? std::string("/primary") : std::string(path_in);
  auto sget = [&](const char* k) -> const json* {
    auto it = status.find(k);
    return it == status.end() ? nullptr : &*it;
  };
  std::string role = sget("role") && sget("role")->is_string() ? sget("role")->get<std::string>() : "";
  std::string state = sget("state") && sget("state")->is_string() ? sget("state")->get<std::string>() : "";
  bool pause = sget("pause") && sget("pause")->is_boolean() && sget("pause")->get<bool>();
  bool is_sync = sget("sync_standby") && sget("sync_standby")->is_boolean() && sget("sync_standby")->get<bool>();
  bool is_quorum =
      sget("quorum_standby") && sget("quorum_standby")->is_boolean() && sget("quorum_standby")->get<bool>();

  int64_t leader_optime = cluster ? cluster->status().last_lsn : 0;
  // Patroni 4.1 also takes the end of WAL the sender last reported to this replica.
  if (snap.presentation == PatroniGeneration::v4_1)
    leader_optime = std::max(leader_optime, snap.pg.latest_end_lsn.value_or(0));
  int64_t replayed = 0;
  if (const json* x = sget("xlog"); x && x->is_object() && x->contains("replayed_location") &&
                                    (*x)["replayed_location"].is_number_integer())
    replayed = (*x)["replayed_location"].get<int64_t>();
  std::optional<int64_t> lag;
  for (const auto& [k, v] : query)
    if (k == "lag") {
      lag = parse_lag(v);
      break;  // parse_qs: first value
    }
  bool is_lagging = false;
  if (lag && leader_optime) {
    // leader_optime > replayed + lag, without overflow
    long double rhs = static_cast<long double>(replayed) + static_cast<long double>(*lag);
    is_lagging = static_cast<long double>(leader_optime) > rhs;
  }
  int replica_code =
      (!noloadbalance(snap.tags) && !is_lagging && role == "replica" && state == "running") ? 200 : 503;
  int leader_code = 503, primary_code = 503, standby_leader_code = 503;
  if (!cluster && pause) {
    leader_code = (role == "master" || role == "primary" || role == "standby_leader") ? 200 : 503;
    primary_code = (role == "master" || role == "primary") ? 200 : 503;
    standby_leader_code = role == "standby_leader" ? 200 : 503;
  } else if (snap.is_leader(now)) {
    leader_code = 200;
    if (snap.standby_cluster) {
      primary_code = replica_code = 503;
      standby_leader_code = (role == "replica" || role == "standby_leader") ? 200 : 503;
    } else {
      primary_code = 200;
      standby_leader_code = 503;
    }
  }

  int code = 503;
  bool ignore_tags = false;
  if (contains(path, "standby_leader") || contains(path, "standby-leader")) {
    code = standby_leader_code;
    ignore_tags = true;
  } else if (contains(path, "leader")) {
    code = leader_code;
    ignore_tags = true;
  } else if (contains(path, "master") || contains(path, "primary") || contains(path, "read-write")) {
    code = primary_code;
    ignore_tags = true;
  } else if (contains(path, "replica")) {
    code = replica_code;
  } else if (contains(path, "read-only") && !contains(path, "sync") && !contains(path, "quorum")) {
    code = (primary_code == 200 || standby_leader_code == 200) ? 200 : replica_code;
  } else if (contains(path, "health")) {
    code = state == "running" ? 200 : 503;
  } else if (cluster) {
    if ((path == "/sync" || path == "/synchronous") && is_sync)
      code = replica_code;
    else if (path == "/quorum" && is_quorum)
      code = replica_code;
    else if ((path == "/async" || path == "/asynchronous") && !is_sync && !is_quorum)
      code = replica_code;
    else if (path == "/read-only-sync" || path == "/read-only-synchronous")
      code = (primary_code == 200 || standby_leader_code == 200) ? 200 : (is_sync ? replica_code : 503);
    else if (path == "/read-only-quorum")
      code = (primary_code == 200 || standby_leader_code == 200) ? 200 : (is_quorum ? replica_code : 503);
  }

  if (!ignore_tags && code == 200) {
    std::set<std::string> seen;
    for (const auto& [k, v] : query) {
      if (k.rfind("tag_", 0) != 0) continue;
      if (!seen.insert(k).second) continue;  // parse_qs: first value of each key
      std::string key = k.substr(4);
      const json* tag = nullptr;
      if (snap.tags.is_object()) {
        auto it = snap.tags.find(key);
        if (it != snap.tags.end()) tag = &*it;
      }
      if (!tag || tag->is_null() || py_lower_str(*tag) != v) {
        code = 503;
        break;
      }
    }
  }
  return code;
}

json cluster_json(const dcs::Cluster& cluster, const std::string& scope, PatroniGeneration presentation) {
  config::GlobalConfig gc(cluster.config() ? cluster.config()->data() : json::object());
  auto leader = cluster.leader_name();
  int64_t cluster_lsn = cluster.status().last_lsn;
  json members = json::array();
  for (const auto& m : cluster.members()) {
    std::string role;
    if (leader && m.name() == *leader)
      role = gc.is_standby_cluster() ? "standby_leader" : "leader";
    else if (gc.is_synchronous_mode() && cluster.sync().matches(m.name()))
      role = gc.is_quorum_commit_mode() ? "quorum_standby" : "sync_standby";
    else
      role = "replica";
    auto str_field = [&](const char* k) -> std::string {
      auto it = m.data().find(k);
      return it != m.data().end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    std::string state = role != "leader" ? str_field("replication_state") : "";
    if (state.empty()) state = str_field("state");
    json j = json::object();
    j["name"] = m.name();
    j["role"] = role;
    j["state"] = state;
    auto api = m.api_url();
    j["api_url"] = api ? json(*api) : json(nullptr);
    json kw = m.conn_kwargs();
    if (kw.is_object() && kw.contains("host") && kw["host"].is_string() && !kw["host"].get<std::string>().empty()) {
      j["host"] = kw["host"];
      if (kw.contains("port") && !kw["port"].is_null()) {
        const json& p = kw["port"];
        try {
          if (p.is_number_integer())
            j["port"] = p.get<int64_t>();
          else if (p.is_string() && !p.get<std::string>().empty())
            j["port"] = std::stoll(p.get<std::string>());
        } catch (...) {
        }
      }
    }
    for (const char* k : {"timeline", "pending_restart", "pending_restart_reason", "scheduled_restart", "tags"})
      if (auto it = m.data().find(k); it != m.data().end()) j[k] = *it;
    if (!leader || m.name() != *leader) {
      const auto positions = dcs::member_positions(m, cluster_lsn, presentation == PatroniGeneration::v4_1);
      for (const auto& [k, v] : positions.items()) j[k] = v;
    }
    members.push_back(std::move(j));
  }
  std::sort(members.begin(), members.end(),
            [](const json& a, const json& b) { return a["name"].get<std::string>() < b["name"].get<std::string>(); });
  json r = json::object();
  r["members"] = members;
  r["scope"] = scope;
  if (gc.is_paused()) r["pause"] = true;
  if (cluster.failover() && cluster.failover()->scheduled_at) {
    json s = {{"at", isoformat(*cluster.failover()->scheduled_at)}};
    if (cluster.failover()->leader) s["from"] = *cluster.failover()->leader;
    if (cluster.failover()->candidate) s["to"] = *cluster.failover()->candidate;
    r["scheduled_switchover"] = s;
  }
  return r;
}

int postgres_state_number(std::string_view state) {
  static const std::pair<std::string_view, int> kStates[] = {
      {"initializing new cluster", 0}, {"initdb failed", 1}, {"running custom bootstrap script", 2},
      {"custom bootstrap failed", 3}, {"creating replica", 4}, {"running", 5}, {"starting", 6},
      {"starting after custom bootstrap", 7}, {"start failed", 8}, {"restarting", 9}, {"restart failed", 10},
      {"stopping", 11}, {"stopped", 12}, {"stop failed", 13}, {"crashed", 14}};
  for (const auto& [name, number] : kStates)
    if (state == name) return number;
  if (state.rfind("restart failed", 0) == 0) return 10;  // "restart failed (stop failed)" etc.
  return -1;
}

std::string metrics_text(const NodeSnapshot& snap, const json& st, double now) {
  std::string label = "{scope=\"" + escape_label_value(snap.scope) + "\",name=\"" + escape_label_value(snap.name) + "\"}";
  const bool v4 = snap.presentation == PatroniGeneration::v4_1;
  std::string out;
  auto metric = [&](const char* name, const char* help, const char* type, const std::string& value,
                    const char* sep = "") {
    out += std::string("# HELP ") + name + " " + help + "\n";
    out += std::string("# TYPE ") + name + " " + type + "\n";
    out += std::string(name) + sep + label + " " + value + "\n";
  };
  auto str_of = [&](const char* k) -> std::string {
    auto it = st.find(k);
    return it != st.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto int_of = [&](const json& obj, const char* k) -> int64_t {
    if (!obj.is_object()) return 0;
    auto it = obj.find(k);
    if (it == obj.end()) return 0;
    if (it->is_number_integer()) return it->get<int64_t>();
    if (it->is_boolean()) return it->get<bool>() ? 1 : 0;
    return 0;
  };
  const json empty = json::object();
  const json& xlog = st.contains("xlog") && st["xlog"].is_object() ? st["xlog"] : empty;
  std::string role = str_of("role");
  std::string state = str_of("state");
  std::string b = "0";

  std::string padded;
  {
    std::string v = snap.patroni_version;
    std::size_t start = 0;
    while (start <= v.size()) {
      auto dot = v.find('.', start);
      std::string part = v.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      while (part.size() < 2) part = "0" + part;
      padded += part;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
  }
  metric("patroni_version", "Patroni semver without periods.", "gauge", padded);
  metric("patroni_postgres_running", "Value is 1 if Postgres is running, 0 otherwise.", "gauge",
         state == "running" ? "1" : "0");
  std::string pst = "0";
  if (auto t = parse_pg_timestamp(str_of("postmaster_start_time"))) pst = py_float(*t);
  metric("patroni_postmaster_start_time", "Epoch seconds since Postgres started.", "gauge", pst);
  bool primary = role == "master" || role == "primary";
  if (!v4)  // Patroni 4 dropped it
    metric("patroni_master", "Value is 1 if this node is the leader, 0 otherwise.", "gauge", primary ? "1" : "0");
  metric("patroni_primary", "Value is 1 if this node is the leader, 0 otherwise.", "gauge", primary ? "1" : "0");
  metric("patroni_xlog_location",
         "Current location of the Postgres transaction log, 0 if this node is not the leader.", "counter",
         std::to_string(int_of(xlog, "location")));
  metric("patroni_standby_leader", "Value is 1 if this node is the standby_leader, 0 otherwise.", "gauge",
         role == "standby_leader" ? "1" : "0");
  metric("patroni_replica", "Value is 1 if this node is a replica, 0 otherwise.", "gauge",
         role == "replica" ? "1" : "0");
  metric("patroni_sync_standby", "Value is 1 if this node is a sync standby replica, 0 otherwise.", "gauge",
         std::to_string(int_of(st, "sync_standby")));
  metric("patroni_quorum_standby", "Value is 1 if this node is a quorum standby replica, 0 otherwise.", "gauge",
         std::to_string(int_of(st, "quorum_standby")));
  metric("patroni_xlog_received_location",
         "Current location of the received Postgres transaction log, 0 if this node is not a replica.", "counter",
         std::to_string(int_of(xlog, "received_location")));
  metric("patroni_xlog_replayed_location",
         "Current location of the replayed Postgres transaction log, 0 if this node is not a replica.", "counter",
         std::to_string(int_of(xlog, "replayed_location")));
  std::string rts = "0";
  if (xlog.contains("replayed_timestamp") && xlog["replayed_timestamp"].is_string())
    if (auto t = parse_pg_timestamp(xlog["replayed_timestamp"].get<std::string>())) rts = py_float(*t);
  metric("patroni_xlog_replayed_timestamp", "Current timestamp of the replayed Postgres transaction log, 0 if null.",
         "gauge", rts);
  bool paused = xlog.contains("paused") && xlog["paused"].is_boolean() && xlog["paused"].get<bool>();
  metric("patroni_xlog_paused", "Value is 1 if the Postgres xlog is paused, 0 otherwise.", "gauge",
         paused ? "1" : "0");
  int64_t server_version = int_of(st, "server_version");
  if (server_version >= 90600) {
    std::string rs = str_of("replication_state");
    metric("patroni_postgres_streaming", "Value is 1 if Postgres is streaming, 0 otherwise.", "gauge",
           rs == "streaming" ? "1" : "0");
    metric("patroni_postgres_in_archive_recovery", "Value is 1 if Postgres is replicating from archive, 0 otherwise.",
           "gauge", rs == "in archive recovery" ? "1" : "0");
  }
  metric("patroni_postgres_server_version", "Version of Postgres (if running), 0 otherwise.", "gauge",
         std::to_string(server_version), " ");
  metric("patroni_cluster_unlocked", "Value is 1 if the cluster is unlocked, 0 if locked.", "gauge",
         std::to_string(int_of(st, "cluster_unlocked")));
  metric("patroni_failsafe_mode_is_active", "Value is 1 if failsafe mode is active, 0 if inactive.", "gauge",
         std::to_string(int_of(st, "failsafe_mode_is_active")));
  metric("patroni_postgres_timeline", "Postgres timeline of this node (if running), 0 otherwise.", "counter",
         std::to_string(int_of(st, "timeline")));
  metric("patroni_dcs_last_seen", "Epoch timestamp when DCS was last contacted successfully by Patroni.", "gauge",
         std::to_string(int_of(st, "dcs_last_seen")));
  bool pending = snap.pending_restart_reason.is_object() ? !snap.pending_restart_reason.empty() : snap.pending_restart;
  if (snap.pending_restart) pending = true;
  metric("patroni_pending_restart", "Value is 1 if the node needs a restart, 0 otherwise.", "gauge",
         pending ? "1" : "0");
  metric("patroni_is_paused", "Value is 1 if auto failover is disabled, 0 otherwise.", "gauge",
         std::to_string(int_of(st, "pause")));
  if (v4) {
    out += "# HELP patroni_postgres_state Numeric representation of Postgres state.\n";
    out += "# Values: 0=initdb, 1=initdb_failed, 2=custom_bootstrap, 3=custom_bootstrap_failed, "
           "4=creating_replica, 5=running, 6=starting, 7=bootstrap_starting, 8=start_failed, 9=restarting, "
           "10=restart_failed, 11=stopping, 12=stopped, 13=stop_failed, 14=crashed\n";
    out += "# TYPE patroni_postgres_state gauge\n";
    out += "patroni_postgres_state" + label + " " + std::to_string(postgres_state_number(state)) + "\n";
  }
  // custos's own families.
  metric("custos_leader_lease_remaining_seconds",
         "Seconds left of this node's leader lease (monotonic clock), 0 if it holds none.", "gauge",
         py_float(snap.is_leader(now) ? snap.leader_lock_valid_until - now : 0.0));
  metric("custos_lease_fence_armed", "Value is 1 if the lease fence will stop Postgres when the lease ends, 0 otherwise.",
         "gauge", snap.fence_deadline > 0 ? "1" : "0");
  metric("custos_lease_fence_remaining_seconds",
         "Seconds until the lease fence stops Postgres unless the lease is refreshed, 0 if not armed.", "gauge",
         py_float(snap.fence_deadline > 0 ? std::max(0.0, snap.fence_deadline - now) : 0.0));
  metric("custos_watchdog_running", "Value is 1 if a watchdog device is armed, 0 otherwise.", "gauge",
         snap.watchdog_running ? "1" : "0");
  metric("custos_watchdog_failed", "Value is 1 if the watchdog device could not be armed or kept alive, 0 otherwise.",
         "gauge", snap.watchdog_failed ? "1" : "0");
  metric("custos_failsafe_mode_enabled", "Value is 1 if failsafe_mode is on in the dynamic configuration, 0 otherwise.",
         "gauge", snap.failsafe_mode ? "1" : "0");
  // What the leader sees of the others: replication lag of every member and of every slot the
  // cluster publishes, against the leader's position (only the lock holder reports these).
  out += "# HELP custos_member_replication_lag_bytes Bytes a member's WAL position is behind the leader's, as the "
         "leader sees it in the member keys (reported by the leader only).\n"
         "# TYPE custos_member_replication_lag_bytes gauge\n";
  out += "# HELP custos_replication_slot_lag_bytes Bytes a replication slot published in the status key is behind "
         "the leader's position (reported by the leader only).\n"
         "# TYPE custos_replication_slot_lag_bytes gauge\n";
  if (snap.is_leader(now) && snap.cluster) {
    const int64_t leader_lsn = std::max(snap.pg.flush_lsn.value_or(0), snap.cluster->status().last_lsn);
    std::string members, slots;
    for (const auto& m : snap.cluster->members()) {
      if (m.name() == snap.name) continue;
      const auto lag = dcs::member_positions(m, leader_lsn, /*with_lsns=*/false)["lag"];
      if (!lag.is_number_integer()) continue;  // unknown: no position, or garbage
      members += "custos_member_replication_lag_bytes" +
                 render_labels({{"scope", snap.scope}, {"name", snap.name}, {"member", m.name()}}) + " " +
                 std::to_string(lag.get<int64_t>()) + "\n";
    }
    const auto& published = snap.cluster->status().slots;
    if (published)
      for (const auto& [slot, lsn] : *published)
        if (lsn > 0)
          slots += "custos_replication_slot_lag_bytes" +
                 render_labels({{"scope", snap.scope}, {"name", snap.name}, {"slot", slot}}) + " " +
                 std::to_string(leader_lsn > lsn ? leader_lsn - lsn : 0) + "\n";
    // Each family's samples directly follow its own TYPE line.
    const std::string slot_header = "# HELP custos_replication_slot_lag_bytes";
    out.insert(out.find(slot_header), members);
    out += slots;
  }
  return out;
}

bool address_in_list(const std::string& address, const std::vector<std::string>& list) {
  auto client = parse_ip(address);
  if (!client) return false;
  for (const auto& e : list)
    if (entry_matches(*client, e)) return true;
  return false;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Compare over the longer length so the time depends only on the lengths.
  std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

bool is_unsafe_endpoint(std::string_view method, std::string_view seg) {
  if (method == "PATCH" || method == "PUT") return seg == "config";
  if (method == "DELETE") return seg == "restart" || seg == "switchover";
  if (method == "POST")
    return seg == "reload" || seg == "restart" || seg == "reinitialize" || seg == "switchover" ||
           seg == "failover" || seg == "failsafe" || seg == "citus" || seg == "mpp" || seg == "sigterm";
  return false;
}

namespace {
std::string first_segment(const std::string& path) {
  std::size_t start = 0;
  while (start < path.size() && path[start] == '/') ++start;
  auto end = path.find('/', start);
  return path.substr(start, end == std::string::npos ? std::string::npos : end - start);
}
}  // namespace

bool may_block(const Request& r) {
  std::string seg = first_segment(r.path);
  if (r.method != "GET") return is_unsafe_endpoint(r.method, seg);
  return seg == "patroni" || seg == "cluster" || seg == "metrics" || seg == "config" || seg == "history";
}

// ---------------------------------------------------------------------------------------------
// RequestHandler

RequestHandler::RequestHandler(RestApiSettings settings) : settings_(std::move(settings)) {}

void RequestHandler::set_unsafe_handler(const std::string& method, const std::string& segment,
                                        UnsafeHandler handler) {
  unsafe_[method + " " + segment] = std::move(handler);
}

std::optional<Response> RequestHandler::check_access(const Request& req, const NodeSnapshot& snap) const {
  if (!settings_.allowlist.empty() || settings_.allowlist_include_members) {
    std::vector<std::string> list = settings_.allowlist;
    if (settings_.allowlist_include_members && snap.cluster) {
      for (const auto& m : snap.cluster->members()) {
        auto api = m.api_url();
        if (!api) continue;
        if (auto u = dcs::parse_url(*api); u && !u->hostname.empty()) list.push_back(u->hostname);
      }
    }
    if (!address_in_list(req.peer_address, list)) return Response::text(403, "Access is denied");
  }
  if (req.tls && settings_.verify_client != VerifyClient::kNone && !req.client_cert_verified)
    return Response::text(403, "client certificate required");
  if (settings_.authentication) {
    auto h = req.header("Authorization");
    std::optional<std::string> reason;
    if (!h) {
      reason = "no auth header received";
    } else {
      std::string expected =
          "Basic " + base64_encode(settings_.authentication->first + ":" + settings_.authentication->second);
      if (!constant_time_equal(*h, expected)) reason = "not authenticated";
    }
    if (reason) {
      Response r = Response::text(401, *reason);
      r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Patroni\"");
      return r;
    }
  }
  return std::nullopt;
}

Response RequestHandler::handle(const Request& req, NodeStateSource& source, double now) const {
  Response resp;
  try {
    const std::string& m = req.method;
    std::string seg = first_segment(req.path);
    bool generic = m == "GET" || m == "HEAD" || m == "OPTIONS";
    if (m == "GET" && seg == "liveness") {
      NodeSnapshot s = source.snapshot();
      bool primary_running = (s.pg.role == "master" || s.pg.role == "primary") && s.pg.state == "running";
      double threshold = primary_running ? s.ttl : 2.0 * s.ttl;
      return Response::bare(s.paused || s.next_run + threshold > now ? 200 : 503);
    }
    if (m == "GET" && seg == "ui") {
      // The status page (read-only, the access rules of the other read endpoints) and the
      // agent's recent events it shows.
      if (req.path == "/ui" || req.path == "/ui/") {
        Response r;
        r.status = 200;
        r.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
        r.headers.emplace_back("Cache-Control", "no-store");
        r.headers.emplace_back("Content-Security-Policy",
                               "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                               "connect-src 'self'; img-src 'self'");
        r.body = std::string(status_page_html());
        return r;
      }
      if (req.path == "/ui/events") return Response::json(200, source.recent_events());
      return Response::text(404, "Not Found");
    }
    if (m == "GET" && seg == "readiness") {
      NodeSnapshot s = source.snapshot();
      return Response::bare(readiness_code(s, req.query, now));
    }
    if (m == "GET" && (seg == "patroni" || seg == "metrics")) {
      NodeSnapshot s = source.snapshot();
      std::optional<PgStatus> live;
      if (s.pg.state == "running" || s.pg.state == "starting" || s.pg.state == "restarting")
        live = source.live_pg_status(std::chrono::milliseconds(1000));
      const PgStatus& pg = live ? *live : s.pg;
      json st = status_json(s, pg, now);
      if (seg == "patroni") return Response::json(200, st);
      Response r;
      r.status = 200;
      r.headers.emplace_back("Content-Type", "text/plain");
      r.body = metrics_text(s, st, now) + source.own_metrics();
      return r;
    }
    if (m == "GET" && seg == "cluster") {
      NodeSnapshot s = source.snapshot();
      auto c = source.fresh_cluster();
      if (c) return Response::json(200, cluster_json(c.value(), s.scope, s.presentation));
      if (s.cluster) return Response::json(200, cluster_json(*s.cluster, s.scope, s.presentation));
      return Response::json(200, json{{"members", json::array()}, {"scope", s.scope}});
    }
    if (m == "GET" && (seg == "history" || seg == "config" || seg == "failsafe")) {
      NodeSnapshot s = source.snapshot();
      std::shared_ptr<const dcs::Cluster> cluster = s.cluster;
      if (!cluster && seg != "failsafe") {
        auto c = source.fresh_cluster();
        if (c) cluster = std::make_shared<const dcs::Cluster>(std::move(c).value());
      }
      if (seg == "history") {
        if (cluster && cluster->history()) return Response::json(200, cluster->history()->lines());
        return Response::json(200, json::array());
      }
      if (seg == "config") {
        if (cluster && cluster->config() && cluster->config()->is_valid())
          return Response::json(200, cluster->config()->data());
        return Response::text(502, "");
      }
      if (cluster && cluster->failsafe() && cluster->failsafe()->is_object())
        return Response::json(200, *cluster->failsafe());
      return Response::text(502, "");
    }
    if (generic) {
      NodeSnapshot s = source.snapshot();
      json st = status_json(s, s.pg, now);
      int code = health_code(s, st, req.path, req.query, now);
      if (m != "GET") return Response::bare(code);
      return Response::json(code, st);
    }
    if (is_unsafe_endpoint(m, seg)) {
      NodeSnapshot s = source.snapshot();
      if (auto denied = check_access(req, s)) return *denied;
      auto it = unsafe_.find(m + " " + seg);
      if (it != unsafe_.end() && it->second) return it->second(req, source, now);
      return not_implemented_yet(req);
    }
    std::string shown;
    for (char c : m) shown += (c >= 0x20 && c < 0x7f && c != '\'') ? c : '?';
    return Response::text(501, "Unsupported method ('" + shown + "')");
  } catch (const std::exception& e) {
    return Response::text(500, std::string("internal error: ") + e.what());
  }
}

Response handle(const Request& request, NodeStateSource& source, double now) {
  static const RequestHandler handler;
  return handler.handle(request, source, now);
}

}  // namespace custos::api
