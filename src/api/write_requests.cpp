#include "api/write_requests.h"

#include <cctype>
#include <cmath>
#include <set>
#include <vector>

#include "common/json_truth.h"
#include "config/merge.h"
#include "config/validate.h"
#include "dcs/failover.h"

namespace custos::api {

using nlohmann::json;

std::variant<json, Response> read_json_body(const Request& request, bool optional_body, bool required_non_empty) {
  const auto length = request.header("Content-Length");
  if (!length) {
    if (optional_body) return json::object();
    return Response::text(411, "Content-Length required");
  }
  if (request.body.empty() && optional_body) return json::object();
  json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return Response::text(400, "Bad request: the body is not valid JSON");
  if (!body.is_object()) return Response::text(400, "Bad request: the body must be a JSON object");
  if (body.empty() && required_non_empty && !optional_body)
    return Response::text(400, "Bad request: the body must be a non-empty JSON object");
  return body;
}

std::variant<double, Response> parse_schedule(const json& value, double now) {
  const std::string unparsable =
      "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601";
  if (!value.is_string()) return Response::text(422, unparsable);
  const std::string text = value.get<std::string>();
  auto at = dcs::parse_iso8601(text);
  if (!at) {
    // Parsable once a zone is added: the zone is what is missing.
    if (dcs::parse_iso8601(text + "Z")) return Response::text(400, "Timezone information is mandatory");
    return Response::text(422, unparsable);
  }
  const double epoch = std::chrono::duration<double>(at->time_since_epoch()).count();
  if (epoch < now) return Response::text(422, "Cannot schedule in the past");
  return epoch;
}

namespace {

// parse_schedule with the action named in the messages, as Patroni words them.
std::variant<double, Response> parse_schedule_for(const json& value, double now, const std::string& action) {
  auto r = parse_schedule(value, now);
  if (auto* resp = std::get_if<Response>(&r)) {
    if (resp->status == 400) return Response::text(400, "Timezone information is mandatory for the scheduled " + action);
    if (resp->body == "Cannot schedule in the past")
      return Response::text(422, "Cannot schedule " + action + " in the past");
  }
  return r;
}

// Patroni's parse_int(value, 's'): an integer, or a number with a time unit.
std::optional<int> parse_seconds(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>() > INT32_MAX ? std::nullopt : std::optional<int>(v.get<int>());
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > INT32_MAX) return std::nullopt;
    return static_cast<int>(std::lround(d));
  }
  if (!v.is_string()) return std::nullopt;
  std::string s = v.get<std::string>();
  size_t p = 0;
  while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p;
  size_t start = p;
  if (p < s.size() && (s[p] == '-' || s[p] == '+')) ++p;
  while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) ++p;
  if (p == start || (p == start + 1 && !std::isdigit(static_cast<unsigned char>(s[start])))) return std::nullopt;
  long long n = 0;
  try {
    n = std::stoll(s.substr(start, p - start));
  } catch (...) {
    return std::nullopt;
  }
  while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p;
  std::string unit = s.substr(p);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.back()))) unit.pop_back();
  long long mult = 1;
  if (unit.empty() || unit == "s") mult = 1;
  else if (unit == "min") mult = 60;
  else if (unit == "h") mult = 3600;
  else if (unit == "d") mult = 86400;
  else if (unit == "ms") {
    n = n / 1000;
  } else {
    return std::nullopt;
  }
  n *= mult;
  if (n > INT32_MAX || n < INT32_MIN) return std::nullopt;
  return static_cast<int>(n);
}

}  // namespace

std::optional<int> parse_postgres_version(const std::string& text) {
  std::vector<int> parts;
  size_t p = 0;
  while (true) {
    size_t start = p;
    while (p < text.size() && std::isdigit(static_cast<unsigned char>(text[p]))) ++p;
    if (p == start || p - start > 6) return std::nullopt;
    parts.push_back(std::stoi(text.substr(start, p - start)));
    if (p == text.size()) break;
    if (text[p] != '.') return std::nullopt;
    ++p;
  }
  if (parts.size() < 2 || parts.size() > 3 || (parts.size() == 2 && parts[0] < 10)) return std::nullopt;
  if (parts.size() == 2) return parts[0] * 10000 + parts[1];
  return parts[0] * 10000 + parts[1] * 100 + parts[2];
}

std::variant<RestartRequest, Response> parse_restart_request(const json& body, bool paused, double now) {
  if (paused && body.contains("schedule")) return Response::text(500, "Can't schedule restart in the paused state");
  RestartRequest r;
  for (const auto& [key, value] : body.items()) {
    if (key == "schedule") {
      auto s = parse_schedule_for(value, now, "restart");
      if (auto* resp = std::get_if<Response>(&s)) return *resp;
      r.schedule = std::get<double>(s);
    } else if (key == "role") {
      if (!value.is_string() || (value != "master" && value != "primary" && value != "replica"))
        return Response::text(400, "PostgreSQL role should be either primary or replica");
      r.role = value.get<std::string>();
    } else if (key == "postgres_version") {
      const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
      auto v = parse_postgres_version(text);
      if (!v) return Response::text(400, "Invalid PostgreSQL version format: X.Y or X.Y.Z is accepted: " + text);
      r.postgres_version = v;
      r.postgres_version_text = text;
    } else if (key == "timeout") {
      auto t = parse_seconds(value);
      if (!t || *t <= 0) return Response::text(400, "Timeout should be a positive number of seconds");
      r.timeout = t;
    } else if (key == "restart_pending") {
      r.restart_pending = true;  // presence is what counts (Patroni)
    } else {
      return Response::text(400, "Unknown filter for the scheduled restart: " + key);
    }
  }
  return r;
}

namespace {
std::optional<std::string> name_field(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) {
    if (it->get_ref<const std::string&>().empty()) return std::nullopt;
    return it->get<std::string>();
  }
  return it->dump();
}
}  // namespace

std::variant<SwitchoverRequest, Response> parse_switchover_request(const json& body, bool failover_endpoint,
                                                                   bool paused, double now) {
  SwitchoverRequest r;
  r.switchover = !failover_endpoint;
  r.leader = name_field(body, "leader");
  r.candidate = name_field(body, "candidate");
  if (!r.candidate) r.candidate = name_field(body, "member");
  const std::string action = failover_endpoint ? "failover" : "switchover";
  auto sched = body.find("scheduled_at");
  const bool scheduled = sched != body.end() && !sched->is_null() && !(sched->is_string() && sched->get_ref<const std::string&>().empty());

  if (failover_endpoint && !r.candidate) return Response::text(400, "Failover could be performed only to a specific candidate");
  if (!failover_endpoint && !r.leader)
    return Response::text(400, "Switchover could be performed only from a specific leader");
  if (scheduled) {
    if (failover_endpoint && !r.leader) return Response::text(400, "Failover can't be scheduled");
    if (paused) return Response::text(400, "Can't schedule " + action + " in the paused state");
    auto s = parse_schedule_for(*sched, now, action);
    if (auto* resp = std::get_if<Response>(&s)) return *resp;
    r.scheduled_at = std::get<double>(s);
    r.scheduled_at_text = sched->get<std::string>();
  }
  if (paused && !r.candidate) {
    std::string title = action;
    title[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(title[0])));
    return Response::text(400, title + " is possible only to a specific candidate in a paused state");
  }
  // POST /failover naming the leader is a switchover (Patroni 3.3).
  if (failover_endpoint && r.leader) r.switchover = true;
  if (r.leader && r.candidate && *r.leader == *r.candidate)
    return Response::text(400, r.action() + " target and source are the same");
  return r;
}

json failover_key_value(const SwitchoverRequest& request) {
  json v = json::object();
  if (request.leader) v["leader"] = *request.leader;
  if (request.candidate) v["member"] = *request.candidate;
  if (request.scheduled_at) v["scheduled_at"] = request.scheduled_at_text;
  return v;
}

namespace {
bool body_flag(const json& body, const char* key) {
  if (!body.is_object()) return false;
  auto it = body.find(key);
  return it != body.end() && patroni_parse_bool(*it).value_or(false);
}
}  // namespace

bool parse_reinitialize_force(const json& body) { return body_flag(body, "force"); }

bool parse_reinitialize_from_leader(const json& body) { return body_flag(body, "from_leader"); }

PatchedConfig patch_dynamic_config(const json& current, const json& p) {
  PatchedConfig out;
  out.config = current.is_object() ? current : json::object();
  out.changed = config::patch_config(out.config, p);
  return out;
}

void add_warning_header(Response& response, const std::vector<std::string>& warnings) {
  if (warnings.empty()) return;
  constexpr size_t kMaxHeader = 4096;
  std::string value;
  for (const auto& w : warnings) {
    if (!value.empty()) value += "; ";
    for (unsigned char c : w) value.push_back(c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c));
  }
  if (value.size() > kMaxHeader) value = value.substr(0, kMaxHeader - 3) + "...";
  response.headers.emplace_back(kWarningHeader, std::move(value));
}

std::variant<FailsafeRequest, Response> parse_failsafe_request(const json& body) {
  FailsafeRequest r;
  for (auto [key, field] : {std::pair{"name", &r.name}, std::pair{"conn_url", &r.conn_url}, std::pair{"api_url", &r.api_url}}) {
    auto it = body.find(key);
    if (it == body.end() || !it->is_string())
      return Response::text(400, std::string("Bad request: '") + key + "' must be a string");
    *field = it->get<std::string>();
  }
  if (auto it = body.find("slots"); it != body.end() && it->is_object()) {
    for (const auto& [slot, lsn] : it->items()) {
      if (lsn.is_number_integer()) r.slots[slot] = lsn.get<int64_t>();
    }
  }
  return r;
}

}  // namespace custos::api
