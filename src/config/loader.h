// Where the local configuration comes from (config.md §1): a YAML file, a directory of
// *.yml/*.yaml files merged alphabetically, PATRONI_CONFIGURATION, or PATRONI_* variables alone;
// environment variables are merged on top of a file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "config/env.h"

namespace custos::config {

using json = nlohmann::json;

struct LoadError {
  std::string message;
  std::string file;  // empty when not about a file
  int line = -1;     // 1-based, -1 when unknown
  int column = -1;
  std::string to_string() const;  // "file: line L, column C: message"
};

enum class ConfigSource { kFile, kDirectory, kConfigurationVariable, kEnvironment };

struct LoadedConfig {
  json local = json::object();        // the local configuration tree (file/env), not yet defaulted
  ConfigSource source = ConfigSource::kEnvironment;
  std::string path;                   // the file or directory used, if any
  std::vector<std::string> warnings;  // dropped environment values etc.
};

// One YAML file; the root must be a mapping (an empty file is an empty mapping).
Result<json, LoadError> load_yaml_file(const std::string& path);

// A file, or a directory whose *.yml / *.yaml regular files are merged in name order.
Result<json, LoadError> load_config_path(const std::string& path);

// The full rule of config.md §1. `path` may be empty (no command-line argument). `env` holds the
// PATRONI_* variables (see patroni_environment()); the caller removes them from the process
// afterwards with remove_patroni_environment().
Result<LoadedConfig, LoadError> load_local_configuration(const std::string& path, const EnvMap& env);

}  // namespace custos::config
