#include "common/python_int.h"

#include <cmath>
#include <limits>

namespace custos {

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

std::optional<int64_t> python_int(std::string_view text) noexcept {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  // Accumulate as a negative number so that INT64_MIN fits; saturate beyond the range.
  int64_t acc = 0;
  bool saturated = false;
  bool previous_digit = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '_') {
      if (!previous_digit || i + 1 == text.size()) return std::nullopt;
      previous_digit = false;
      continue;
    }
    if (c < '0' || c > '9') return std::nullopt;
    previous_digit = true;
    if (saturated) continue;
    const int digit = c - '0';
    if (acc < (kMin + digit) / 10) {
      saturated = true;
      continue;
    }
    acc = acc * 10 - digit;
  }
  if (saturated) return negative ? kMin : kMax;
  if (negative) return acc;
  return acc == kMin ? kMax : -acc;
}

std::optional<int64_t> python_int(const nlohmann::json& value) noexcept {
  switch (value.type()) {
    case nlohmann::json::value_t::boolean: return value.get<bool>() ? 1 : 0;
    case nlohmann::json::value_t::number_integer: return value.get<int64_t>();
    case nlohmann::json::value_t::number_unsigned: {
      const auto u = value.get<uint64_t>();
      return u > static_cast<uint64_t>(kMax) ? kMax : static_cast<int64_t>(u);
    }
    case nlohmann::json::value_t::number_float: {
      const double d = value.get<double>();
      if (std::isnan(d) || std::isinf(d)) return std::nullopt;
      const double t = std::trunc(d);
      if (t >= 9.2e18) return kMax;
      if (t <= -9.2e18) return kMin;
      return static_cast<int64_t>(t);
    }
    case nlohmann::json::value_t::string: return python_int(std::string_view(value.get_ref<const std::string&>()));
    default: return std::nullopt;
  }
}

}  // namespace custos
