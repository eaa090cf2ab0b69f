#include "common/json_truth.h"

#include <string>

namespace custos {

namespace {

bool ascii_iequals(std::string_view text, std::string_view lower_word) noexcept {
  if (text.size() != lower_word.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
    if (c != lower_word[i]) return false;
  }
  return true;
}

}  // namespace

bool python_truthy(const nlohmann::json& v) noexcept {
  switch (v.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return false;
    case nlohmann::json::value_t::boolean:
      return v.get_ref<const nlohmann::json::boolean_t&>();
    case nlohmann::json::value_t::number_integer:
      return v.get_ref<const nlohmann::json::number_integer_t&>() != 0;
    case nlohmann::json::value_t::number_unsigned:
      return v.get_ref<const nlohmann::json::number_unsigned_t&>() != 0;
    case nlohmann::json::value_t::number_float:
      return v.get_ref<const nlohmann::json::number_float_t&>() != 0.0;
    case nlohmann::json::value_t::string:
      return !v.get_ref<const nlohmann::json::string_t&>().empty();
    case nlohmann::json::value_t::array:
    case nlohmann::json::value_t::object:
    case nlohmann::json::value_t::binary:
      return !v.empty();
  }
  return false;
}

// Python lowers with full Unicode case mapping, but the only non-ASCII character whose
// lowercase is ASCII is U+212A KELVIN SIGN ("k"), which none of the eight words contains: ASCII
// folding gives the same answers (a string with any non-ASCII byte never matches).
std::optional<bool> patroni_parse_bool(std::string_view s) noexcept {
  for (std::string_view w : {"on", "true", "yes", "1"})
    if (ascii_iequals(s, w)) return true;
  for (std::string_view w : {"off", "false", "no", "0"})
    if (ascii_iequals(s, w)) return false;
  return std::nullopt;
}

std::optional<bool> patroni_parse_bool(const nlohmann::json& v) noexcept {
  switch (v.type()) {
    case nlohmann::json::value_t::boolean:
      return v.get_ref<const nlohmann::json::boolean_t&>();
    case nlohmann::json::value_t::number_integer: {
      auto i = v.get_ref<const nlohmann::json::number_integer_t&>();
      if (i == 0 || i == 1) return i == 1;
      return std::nullopt;
    }
    case nlohmann::json::value_t::number_unsigned: {
      auto u = v.get_ref<const nlohmann::json::number_unsigned_t&>();
      if (u == 0 || u == 1) return u == 1;
      return std::nullopt;
    }
    case nlohmann::json::value_t::string:
      return patroni_parse_bool(std::string_view(v.get_ref<const nlohmann::json::string_t&>()));
    default:
      return std::nullopt;  // str() of a float, None, list or dict is never one of the words
  }
}

}  // namespace custos
