// JSON merge patch as Patroni's `patch_config` applies it (PATCH /config, config directories,
// environment over file): null deletes a key, objects merge recursively, anything else replaces.
#pragma once

#include <nlohmann/json.hpp>

namespace custos::config {

using json = nlohmann::json;

// Applies `patch` onto `target` in place. When `target` is not an object and `patch` is one,
// `target` becomes an object first. A non-object `patch` replaces `target` entirely.
// Returns true when anything changed.
bool patch_config(json& target, const json& patch);

// Convenience: a patched copy.
json merge_patch(json target, const json& patch);

}  // namespace custos::config
