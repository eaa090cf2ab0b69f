#include "dcs/failover.h"

#include <cctype>

#include "common/json_truth.h"
#include "dcs/json_util.h"

namespace custos::dcs {

namespace {

std::string_view trim_ws(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<std::string> non_empty(std::optional<std::string> s) {
  if (s && s->empty()) return std::nullopt;
  return s;
}

// Reads exactly n digits at s[pos].
bool read_digits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

}  // namespace

std::optional<SysMicros> parse_iso8601(std::string_view text) {
  using namespace std::chrono;
  std::string_view s = trim_ws(text);
  size_t p = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!read_digits(s, p, 4, y) || p >= s.size() || s[p++] != '-') return std::nullopt;
  if (!read_digits(s, p, 2, mo) || p >= s.size() || s[p++] != '-') return std::nullopt;
  if (!read_digits(s, p, 2, d)) return std::nullopt;
  if (p >= s.size() || (s[p] != 'T' && s[p] != 't' && s[p] != ' ')) return std::nullopt;
  ++p;
  if (!read_digits(s, p, 2, h) || p >= s.size() || s[p++] != ':') return std::nullopt;
  if (!read_digits(s, p, 2, mi)) return std::nullopt;
  int64_t micros = 0;
  if (p < s.size() && s[p] == ':') {
    ++p;
    if (!read_digits(s, p, 2, sec)) return std::nullopt;
    if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
      ++p;
      size_t start = p;
      int64_t scale = 100000;
      while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
        if (scale > 0) {
          micros += (s[p] - '0') * scale;
          scale /= 10;
        }
        ++p;
      }
      if (p == start) return std::nullopt;
    }
  }
  if (p < s.size() && s[p] == ' ') ++p;
  if (p >= s.size()) return std::nullopt;  // no time zone
  int offset_min = 0;
  std::string_view tz = s.substr(p);
  if (tz == "Z" || tz == "z" || tz == "UTC" || tz == "GMT") {
    offset_min = 0;
  } else if (tz.front() == '+' || tz.front() == '-') {
    int sign = tz.front() == '-' ? -1 : 1;
    size_t q = 1;
    int oh = 0, om = 0;
    if (!read_digits(tz, q, 2, oh)) return std::nullopt;
    if (q < tz.size()) {
      if (tz[q] == ':') ++q;
      if (!read_digits(tz, q, 2, om)) return std::nullopt;
    }
    if (q != tz.size() || oh > 23 || om > 59) return std::nullopt;
    offset_min = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (h > 23 || mi > 59 || sec > 59) return std::nullopt;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  SysMicros t = time_point_cast<microseconds>(sys_days{ymd}) + hours{h} + minutes{mi} +
                seconds{sec} + microseconds{micros} - minutes{offset_min};
  return t;
}

Failover Failover::from_node(Version version, std::string_view value) {
  Failover f;
  f.version = version;
  if (value.empty()) return f;
  auto parsed = parse_json(value);
  if (!parsed) {
    if (json_too_deep(value)) return f;  // JSON we refuse to load: no failover
    // Legacy "leader:candidate".
    std::string text = sanitize_utf8(value);
    std::string_view rest = text;
    auto colon = rest.find(':');
    f.leader = non_empty(std::string(trim_ws(rest.substr(0, colon))));
    if (colon != std::string_view::npos) {
      rest = rest.substr(colon + 1);
      f.candidate = non_empty(std::string(trim_ws(rest.substr(0, rest.find(':')))));
    }
    return f;
  }
  if (!parsed->is_object()) return f;
  f.leader = non_empty(json_string(*parsed, "leader"));
  f.candidate = non_empty(json_string(*parsed, "member"));
  auto it = parsed->find("scheduled_at");
  if (it != parsed->end() && python_truthy(*it)) {
    if (it->is_string()) f.scheduled_at = parse_iso8601(it->get_ref<const std::string&>());
    f.scheduled_at_invalid = !f.scheduled_at.has_value();
  }
  return f;
}

}  // namespace custos::dcs
