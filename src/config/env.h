// PATRONI_* environment variables -> configuration tree (Patroni 3.3 rules, config.md §7).
// Reading is injectable: build_environment_configuration() takes a plain map, so tests never
// touch the process environment; patroni_environment()/remove_patroni_environment() deal with
// the real one.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace custos::config {

using json = nlohmann::json;
using EnvMap = std::map<std::string, std::string>;

inline constexpr const char* kEnvPrefix = "PATRONI_";
inline constexpr const char* kConfigurationVariable = "PATRONI_CONFIGURATION";

// All PATRONI_* variables of the process environment.
EnvMap patroni_environment();

// Removes every PATRONI_* variable from the process environment (children must not inherit
// them, passwords included). Call once the configuration has been read.
void remove_patroni_environment();

// Builds the configuration tree from PATRONI_* variables (PATRONI_CONFIGURATION is not looked
// at here). Values that do not parse to the expected type are dropped; each drop is described
// in `warnings` when given. Sections appear only when a variable sets something in them.
json build_environment_configuration(const EnvMap& env, std::vector<std::string>* warnings = nullptr);

}  // namespace custos::config
