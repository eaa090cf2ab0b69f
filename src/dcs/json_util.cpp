#include "dcs/json_util.h"

#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace custos::dcs {

namespace {

// Rejects documents nested deeper than kMaxJsonDepth before nlohmann sees them.
bool depth_ok(std::string_view text) noexcept {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > kMaxJsonDepth) return false;
        break;
      case ']':
      case '}':
        --depth;
        break;
      default:
        break;
    }
  }
  return true;
}

bool is_py_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_py_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_py_space(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<int64_t> round_double(double v) noexcept {
  if (!std::isfinite(v)) return std::nullopt;
  double r = std::nearbyint(v);  // default rounding mode: half to even, like Python's round()
  // 2^63 is exactly representable; anything >= it does not fit.
  if (r >= 9223372036854775808.0 || r < -9223372036854775808.0) return std::nullopt;
  return static_cast<int64_t>(r);
}

int digit_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}

// Patroni's strtod: the longest prefix that is a float, and the trimmed rest.
std::optional<double> py_strtod(std::string_view s, std::string_view& rest) noexcept {
  bool neg = false;
  std::string_view body = s;
  if (!body.empty() && (body.front() == '+' || body.front() == '-')) {
    neg = body.front() == '-';
    body.remove_prefix(1);
  }
  if (body.empty() || body.front() == '+' || body.front() == '-') return std::nullopt;
  double v = 0;
  auto res = std::from_chars(body.data(), body.data() + body.size(), v);
  if (res.ec == std::errc::invalid_argument) return std::nullopt;
  if (res.ec == std::errc::result_out_of_range) return std::nullopt;
  rest = trim(std::string_view(res.ptr, static_cast<size_t>(body.data() + body.size() - res.ptr)));
  return neg ? -v : v;
}

locale_t utf8_locale() noexcept {
  static locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  return loc;
}

}  // namespace

std::optional<nlohmann::json> parse_json(std::string_view text) noexcept {
  try {
    if (!depth_ok(text)) return std::nullopt;
    nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                             /*allow_exceptions=*/false);
    if (j.is_discarded()) return std::nullopt;
    return j;
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<int64_t> parse_int_string(std::string_view text) noexcept {
  std::string_view s = trim(text);
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    neg = s[i] == '-';
    ++i;
  }
  std::optional<int64_t> val;
  std::string_view rest = s;
  bool overflow = false;
  if (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    int base = 10;
    size_t start = i;
    if (s[i] == '0') {
      ++i;
      if (i < s.size() && (s[i] == 'x' || s[i] == 'X')) {
        base = 16;
        ++i;
        start = i;
      } else {
        base = 8;
        start = i - 1;  // the leading 0 is a valid octal digit
      }
    }
    // Longest run of valid digits (Python tries longer and longer prefixes with int()).
    size_t j = start;
    uint64_t acc = 0;
    while (j < s.size() && digit_value(s[j]) < base) {
      uint64_t d = static_cast<uint64_t>(digit_value(s[j]));
      if (acc > (std::numeric_limits<uint64_t>::max() - d) / static_cast<uint64_t>(base)) {
        overflow = true;
      } else {
        acc = acc * static_cast<uint64_t>(base) + d;
      }
      ++j;
    }
    if (j > start) {
      if (overflow || acc > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (neg ? 1 : 0)) {
        overflow = true;
      } else {
        val = neg ? static_cast<int64_t>(0 - acc) : static_cast<int64_t>(acc);
      }
      rest = trim(s.substr(j));
    } else if (base == 16) {
      // "0x" without hex digits: int("0x", 16) fails -> no number at all.
      val.reset();
      rest = s;
    }
  }
  if (overflow) return std::nullopt;
  if ((!val && !rest.empty() && rest.front() == '.') ||
      (!rest.empty() && (rest.front() == '.' || rest.front() == 'e' || rest.front() == 'E'))) {
    std::string_view frest;
    auto d = py_strtod(s, frest);
    if (!d) return std::nullopt;
    if (!frest.empty()) return std::nullopt;  // a unit: not supported without a base unit
    return round_double(*d);
  }
  if (!val) return std::nullopt;
  if (!rest.empty()) return std::nullopt;  // trailing unit or garbage
  return val;
}

std::optional<int64_t> parse_int(const nlohmann::json& v) noexcept {
  switch (v.type()) {
    case nlohmann::json::value_t::number_integer:
      return v.get_ref<const nlohmann::json::number_integer_t&>();
    case nlohmann::json::value_t::number_unsigned: {
      auto u = v.get_ref<const nlohmann::json::number_unsigned_t&>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return static_cast<int64_t>(u);
    }
    case nlohmann::json::value_t::number_float:
      return round_double(v.get_ref<const nlohmann::json::number_float_t&>());
    case nlohmann::json::value_t::string:
      return parse_int_string(v.get_ref<const nlohmann::json::string_t&>());
    default:
      return std::nullopt;
  }
}

std::optional<std::string> json_string(const nlohmann::json& obj, std::string_view key) noexcept {
  try {
    if (!obj.is_object()) return std::nullopt;
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) return std::nullopt;
    return it->get_ref<const nlohmann::json::string_t&>();
  } catch (...) {
    return std::nullopt;
  }
}

namespace {

// Length of the valid UTF-8 sequence starting at s[i] and its code point; 0 if invalid.
size_t utf8_sequence(std::string_view s, size_t i, char32_t& cp) noexcept {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  size_t n;
  char32_t min;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
    min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
    min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    // Copy runs of ASCII in one go.
    size_t j = i;
    while (j < text.size() && static_cast<unsigned char>(text[j]) < 0x80) ++j;
    out.append(text.data() + i, j - i);
    i = j;
    if (i >= text.size()) break;
    char32_t cp = 0;
    size_t n = utf8_sequence(text, i, cp);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.data() + i, n);
      i += n;
    }
  }
  return out;
}

std::u32string decode_utf8_lenient(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    size_t n = utf8_sequence(text, i, cp);
    if (n == 0) {
      out.push_back(static_cast<unsigned char>(text[i]));
      ++i;
    } else {
      out.push_back(cp);
      i += n;
    }
  }
  return out;
}

std::u32string python_lower(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  locale_t loc = utf8_locale();
  for (char32_t c : text) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back(c + 32);
    } else if (c < 0x80) {
      out.push_back(c);
    } else if (c == 0x130) {  // LATIN CAPITAL LETTER I WITH DOT ABOVE: Python gives 2 chars
      out.push_back(U'i');
      out.push_back(0x307);
    } else if (loc != static_cast<locale_t>(nullptr)) {
      wint_t l = towlower_l(static_cast<wint_t>(c), loc);
      out.push_back(static_cast<char32_t>(l));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string python_lower_utf8(std::string_view text) {
  if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    std::string out(text);
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    }
    return out;
  }
  std::u32string lower = python_lower(decode_utf8_lenient(text));
  std::string out;
  out.reserve(text.size());
  for (char32_t c : lower) append_utf8(out, c);
  return out;
}

}  // namespace custos::dcs

namespace custos::dcs {

bool json_too_deep(std::string_view text) noexcept { return !depth_ok(text); }

std::optional<int64_t> python_int(const nlohmann::json& v) noexcept {
  switch (v.type()) {
    case nlohmann::json::value_t::boolean:
      return v.get_ref<const nlohmann::json::boolean_t&>() ? 1 : 0;
    case nlohmann::json::value_t::number_integer:
      return v.get_ref<const nlohmann::json::number_integer_t&>();
    case nlohmann::json::value_t::number_unsigned: {
      auto u = v.get_ref<const nlohmann::json::number_unsigned_t&>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return static_cast<int64_t>(u);
    }
    case nlohmann::json::value_t::number_float: {
      double d = v.get_ref<const nlohmann::json::number_float_t&>();
      if (!std::isfinite(d)) return std::nullopt;
      d = std::trunc(d);
      if (d >= 9223372036854775808.0 || d < -9223372036854775808.0) return std::nullopt;
      return static_cast<int64_t>(d);
    }
    case nlohmann::json::value_t::string: {
      std::string_view s = trim(v.get_ref<const nlohmann::json::string_t&>());
      bool neg = false;
      if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        neg = s.front() == '-';
        s.remove_prefix(1);
      }
      if (s.empty() || s.front() < '0' || s.front() > '9' || s.back() == '_') return std::nullopt;
      uint64_t acc = 0;
      char prev = 0;
      for (char c : s) {
        if (c == '_') {
          if (prev == '_') return std::nullopt;
        } else if (c >= '0' && c <= '9') {
          uint64_t d = static_cast<uint64_t>(c - '0');
          if (acc > (std::numeric_limits<uint64_t>::max() - d) / 10) return std::nullopt;
          acc = acc * 10 + d;
        } else {
          return std::nullopt;
        }
        prev = c;
      }
      if (acc > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (neg ? 1 : 0)) {
        return std::nullopt;
      }
      return neg ? static_cast<int64_t>(0 - acc) : static_cast<int64_t>(acc);
    }
    default:
      return std::nullopt;
  }
}

}  // namespace custos::dcs
