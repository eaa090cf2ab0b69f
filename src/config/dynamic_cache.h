// The local copy of the dynamic configuration, <data_dir>/patroni.dynamic.json: read at start
// (it wins over bootstrap.dcs when the DCS has no `config`), rewritten atomically (temporary
// file in the same directory + fsync + rename) with PostgreSQL data-directory file permissions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace custos::config {

using json = nlohmann::json;

inline constexpr const char* kDynamicCacheFileName = "patroni.dynamic.json";

std::string dynamic_cache_path(const std::string& data_dir);

// nullopt when the file does not exist; an error when it exists but cannot be read or does not
// hold a JSON object.
Result<std::optional<json>, std::string> load_dynamic_cache(const std::string& data_dir);

// The dynamic configuration a node starts with before it reads the DCS (Patroni: the cache
// wins; custos falls back to bootstrap.dcs, then {}). `local` is the local configuration tree;
// a cache that cannot be read is named in `warnings` and skipped.
json startup_dynamic_configuration(const json& local, std::vector<std::string>* warnings = nullptr);

// Writes `dynamic` (compact JSON) atomically. Mode 0600, or 0640 when the data directory
// grants group access (initdb --allow-group-access), as PostgreSQL does for its own files.
Status<std::string> save_dynamic_cache(const std::string& data_dir, const json& dynamic);

}  // namespace custos::config
