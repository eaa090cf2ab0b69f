// Lenient scalar parsing shared by the environment reader, the dynamic configuration and the
// validator, with Patroni's rules: booleans on/true/yes/1 and off/false/no/0 in any case;
// integers from JSON numbers or from text ("10", " 0x1f", "128MB" with a base unit).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace custos::config {

using json = nlohmann::json;

std::optional<bool> parse_bool(std::string_view text);
// JSON booleans as is; numbers 0/1; strings as above. Anything else: nullopt.
std::optional<bool> parse_bool(const json& value);

// Text: optional sign, decimal or 0x-hex digits, optional memory unit (B, kB, MB, GB, TB)
// converted to `base_unit` (one of those) when given; a unit without base unit is rejected.
std::optional<int64_t> parse_int(std::string_view text, std::string_view base_unit = {});
// JSON integers as is, finite floats truncated, strings as above; booleans are not integers.
std::optional<int64_t> parse_int(const json& value, std::string_view base_unit = {});

inline std::optional<bool> parse_bool(const std::string& text) { return parse_bool(std::string_view(text)); }
inline std::optional<bool> parse_bool(const char* text) { return parse_bool(std::string_view(text)); }
inline std::optional<int64_t> parse_int(const std::string& text, std::string_view base_unit = {}) {
  return parse_int(std::string_view(text), base_unit);
}
inline std::optional<int64_t> parse_int(const char* text, std::string_view base_unit = {}) {
  return parse_int(std::string_view(text), base_unit);
}

// Python-like truthiness (empty string/list/object, 0, false, null are false).
bool truthy(const json& value);

// Short human type name of a JSON value: "string", "integer", "float", "boolean", "list",
// "mapping", "null".
std::string type_name(const json& value);

// Compact JSON text of a value for messages (long values shortened, never throws).
std::string show(const json& value, std::size_t max_len = 60);

std::string to_lower(std::string_view s);
std::string trim(std::string_view s);

}  // namespace custos::config
