// Which Patroni generation custos presents to the world (`custos.compat`, PATRONI_CUSTOS_COMPAT):
// 3.3 writes the primary's role as "master" and announces Patroni 3.3.1; 4.1 (the default) writes
// "primary", announces 4.1.0 and adds what Patroni 4.1 adds (member LSNs, /readiness lag and
// mode, /cluster LSN columns, the 4.1 metric families). Readers always accept both spellings,
// so a cluster may mix generations. Pure values; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace custos {

enum class PatroniGeneration { v3_3, v4_1 };

inline constexpr PatroniGeneration kDefaultPatroniGeneration = PatroniGeneration::v4_1;

// "3.3", "3", "4.1", "4" (strings or YAML numbers); nullopt for anything else.
std::optional<PatroniGeneration> parse_patroni_generation(const nlohmann::json& value);
// `custos.compat` of a whole configuration tree; the default when absent or not accepted.
PatroniGeneration presentation_of_config(const nlohmann::json& config);
// The warning to give when `custos.compat` is set (not null) but not accepted: it names the
// value and the generation presented instead. nullopt when absent, null or accepted.
std::optional<std::string> unaccepted_compat_warning(const nlohmann::json& config);
// "3.3" / "4.1".
std::string_view generation_name(PatroniGeneration generation) noexcept;
// The primary's role as written in member keys, REST answers, metrics and callbacks.
std::string_view primary_role_name(PatroniGeneration generation) noexcept;
// The Patroni version announced (member key `version`, /patroni, patroni_version metric).
std::string_view announced_patroni_version(PatroniGeneration generation) noexcept;
// True for "master" and "primary", whatever the presentation.
bool is_primary_role_name(std::string_view role) noexcept;

}  // namespace custos
