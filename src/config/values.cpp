#include "config/values.h"

#include <cctype>
#include <cmath>
#include <limits>

namespace custos::config {

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

namespace {

// A unit's family (0: memory, in bytes; 1: time, in microseconds) and size, as PostgreSQL
// (and Patroni's parse_int) spell them; case-sensitive.
struct UnitSize {
  int family;
  long double factor;
};

std::optional<UnitSize> unit_factor(std::string_view unit) {
  if (unit == "B") return UnitSize{0, 1};
  if (unit == "kB") return UnitSize{0, 1024};
  if (unit == "MB") return UnitSize{0, 1024.0L * 1024};
  if (unit == "GB") return UnitSize{0, 1024.0L * 1024 * 1024};
  if (unit == "TB") return UnitSize{0, 1024.0L * 1024 * 1024 * 1024};
  if (unit == "us") return UnitSize{1, 1};
  if (unit == "ms") return UnitSize{1, 1000};
  if (unit == "s") return UnitSize{1, 1000.0L * 1000};
  if (unit == "min") return UnitSize{1, 60.0L * 1000 * 1000};
  if (unit == "h") return UnitSize{1, 3600.0L * 1000 * 1000};
  if (unit == "d") return UnitSize{1, 86400.0L * 1000 * 1000};
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> parse_int(std::string_view text, std::string_view base_unit) {
  std::string s = trim(text);
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    negative = s[i] == '-';
    ++i;
  }
  int base = 10;
  if (i + 1 < s.size() && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
    base = 16;
    i += 2;
  }
  std::size_t start = i;
  unsigned long long v = 0;
  for (; i < s.size(); ++i) {
    int d;
    char c = s[i];
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && std::isxdigit(static_cast<unsigned char>(c))) d = std::tolower(c) - 'a' + 10;
    else break;
    if (v > (static_cast<unsigned long long>(std::numeric_limits<int64_t>::max()) - d) / base) return std::nullopt;
    v = v * base + d;
  }
  if (i == start) return std::nullopt;
  std::string unit = trim(std::string_view(s).substr(i));
  int64_t result = negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  if (unit.empty()) return result;
  if (base_unit.empty()) return std::nullopt;
  auto f = unit_factor(unit);
  auto bf = unit_factor(base_unit);
  if (!f || !bf || f->family != bf->family) return std::nullopt;
  long double scaled = static_cast<long double>(result) * f->factor / bf->factor;
  if (std::fabs(scaled) > static_cast<long double>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return static_cast<int64_t>(std::llround(static_cast<double>(scaled)));
}

std::optional<int64_t> parse_int(const json& value, std::string_view base_unit) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() &&
        value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return std::nullopt;
    }
    return value.get<int64_t>();
  }
  if (value.is_number_float()) {
    double d = value.get<double>();
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  if (value.is_string()) return parse_int(std::string_view(value.get_ref<const std::string&>()), base_unit);
  return std::nullopt;
}

std::string type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "float";
    case json::value_t::string: return "string";
    case json::value_t::array: return "list";
    case json::value_t::object: return "mapping";
    default: return "value";
  }
}

std::string show(const json& value, std::size_t max_len) {
  std::string s;
  try {
    s = value.dump(-1, ' ', false, json::error_handler_t::replace);
  } catch (...) {
    s = "<unprintable>";
  }
  if (s.size() > max_len) s = s.substr(0, max_len) + "...";
  return s;
}

}  // namespace custos::config
