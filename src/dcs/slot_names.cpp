#include "dcs/slot_names.h"

#include <cstdio>

#include "dcs/json_util.h"

namespace custos::dcs {

std::string slot_name_from_member_name(std::string_view member_name) {
  // Every code point yields at least one output character, so 64 code points (at most 4 bytes
  // each) are enough for 63 output characters: do not decode a huge name entirely.
  std::u32string lower = python_lower(decode_utf8_lenient(member_name.substr(0, 64 * 4)));
  std::string out;
  out.reserve(lower.size());
  for (char32_t c : lower) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
      out.push_back(static_cast<char>(c));
    } else if (c == '-' || c == '.') {
      out.push_back('_');
    } else {
      char buf[24];
      std::snprintf(buf, sizeof buf, "u%04u", static_cast<unsigned>(c));
      out += buf;
    }
    if (out.size() >= 63) break;
  }
  if (out.size() > 63) out.resize(63);
  return out;
}

bool is_valid_slot_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace custos::dcs
