#include "common/lsn.h"

#include <cstdio>

namespace custos {

namespace {

std::optional<uint32_t> parse_hex32(std::string_view s) {
  if (s.empty() || s.size() > 8) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    uint32_t d;
    if (c >= '0' && c <= '9') d = static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') d = static_cast<uint32_t>(c - 'A' + 10);
    else return std::nullopt;
    v = (v << 4) | d;
  }
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<int64_t> parse_lsn(std::string_view text) {
  text = trim(text);
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto hi = parse_hex32(text.substr(0, slash));
  auto lo = parse_hex32(text.substr(slash + 1));
  if (!hi || !lo) return std::nullopt;
  // int64 keeps the sign bit free for "unknown" (-1) in callers; PostgreSQL never reaches 2^63.
  if (*hi & 0x80000000u) return std::nullopt;
  return static_cast<int64_t>((static_cast<uint64_t>(*hi) << 32) | *lo);
}

std::string format_lsn(int64_t lsn) {
  auto u = static_cast<uint64_t>(lsn);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(u >> 32), static_cast<unsigned>(u & 0xffffffffu));
  return buf;
}

}  // namespace custos
