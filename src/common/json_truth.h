// The two ways Patroni (a Python program) turns a configuration or DCS value into a boolean,
// so that custos reads every such value exactly as Patroni does. Neither function throws.
//
// python_truthy (Python's bool(value)) is what Patroni applies to:
//   - tags, local YAML and other members' keys alike: nofailover (when present and not null),
//     clonefrom, noloadbalance, nosync; and which predefined tags it publishes (_filter_tags);
//   - postgresql.use_pg_rewind, remove_data_directory_on_rewind_failure,
//     remove_data_directory_on_diverged_timelines;
//   - ctl.insecure from the YAML;
//   - standby_cluster host/port/restore_command, slot maps, and most other "if value:" tests.
// patroni_parse_bool (Patroni's utils.parse_bool(value): str(value).lower() in on/true/yes/1 or
// off/false/no/0, anything else None) is what it applies to:
//   - the dynamic modes pause, synchronous_mode, synchronous_mode_strict, failsafe_mode,
//     check_timeline (bool(parse_bool(v)): unparsable is false);
//   - postgresql.use_slots (default true when missing, unparsable false);
//   - the tag nostream (parse_bool(v) or False), the only tag read this way;
//   - POST /reinitialize `force`, boolean PostgreSQL parameters (hot_standby, wal_log_hints...);
//   - PATRONI_* environment values such as PATRONI_CTL_INSECURE (unparsable values dropped).
// So a quoted "false" is true for python_truthy and false for patroni_parse_bool.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace custos {

// null/false/0/0.0/""/[]/{} are false, everything else (including the string "false") true.
bool python_truthy(const nlohmann::json& value) noexcept;

// Booleans as is; integers through their decimal text (so only 0 and 1 parse); strings
// compared case-insensitively. Floats, null, arrays, objects and other strings: nullopt.
std::optional<bool> patroni_parse_bool(const nlohmann::json& value) noexcept;
// The same for a text value (environment variables, PostgreSQL settings as text). The two
// inline forms only stop std::string and literals from being ambiguous with the json overload.
std::optional<bool> patroni_parse_bool(std::string_view text) noexcept;
inline std::optional<bool> patroni_parse_bool(const std::string& text) noexcept {
  return patroni_parse_bool(std::string_view(text));
}
inline std::optional<bool> patroni_parse_bool(const char* text) noexcept {
  return patroni_parse_bool(std::string_view(text));
}

}  // namespace custos
