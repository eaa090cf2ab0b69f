// Lenient scalar parsing shared by the environment reader, the dynamic configuration and the
// validator, with Patroni's rules: integers from JSON numbers or from text ("10", " 0x1f",
// "128MB" with a base unit); value names and excerpts for messages. Booleans: common/json_truth.h.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace custos::config {

// The keys of postgresql.authentication.<superuser|replication|rewind> Patroni passes on (its
// _AUTH_ALLOWED_PARAMETERS), in its order: username and password, then the libpq keywords.
inline constexpr std::array<const char*, 12> kAuthenticationKeys = {
    "username",    "password", "sslmode",    "sslcert",         "sslkey",        "sslpassword",
    "sslrootcert", "sslcrl",   "sslcrldir",  "gssencmode",      "channel_binding", "sslnegotiation"};

using json = nlohmann::json;

// Text: optional sign, decimal or 0x-hex digits, optional unit converted to `base_unit` of
// the same kind (memory: B, kB, MB, GB, TB; time: us, ms, s, min, h, d) when given; a unit
// without base unit, or of the other kind, is rejected.
std::optional<int64_t> parse_int(std::string_view text, std::string_view base_unit = {});
// JSON integers as is, finite floats truncated, strings as above; booleans are not integers.
std::optional<int64_t> parse_int(const json& value, std::string_view base_unit = {});

inline std::optional<int64_t> parse_int(const std::string& text, std::string_view base_unit = {}) {
  return parse_int(std::string_view(text), base_unit);
}
inline std::optional<int64_t> parse_int(const char* text, std::string_view base_unit = {}) {
  return parse_int(std::string_view(text), base_unit);
}

// Short human type name of a JSON value: "string", "integer", "float", "boolean", "list",
// "mapping", "null".
std::string type_name(const json& value);

// Compact JSON text of a value for messages (long values shortened, never throws).
std::string show(const json& value, std::size_t max_len = 60);

std::string to_lower(std::string_view s);
std::string trim(std::string_view s);

}  // namespace custos::config
