#include "agent/feature_support.h"

#include <cctype>

#include "common/json_truth.h"
#include "config/config.h"

namespace custos::agent {
namespace {

using json = nlohmann::json;

const json* at(const json& j, std::initializer_list<const char*> path) {
  const json* cur = &j;
  for (const char* key : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

}  // namespace

std::vector<std::string> unsupported_features(const json& c) {
  std::vector<std::string> out;
  // Citus is carried out (settings, bootstrap, pg_dist_node, events); a section Patroni would
  // not take is ignored by both, and named here (read as node_settings_from_config reads it).
  if (const json* citus = at(c, {"citus"}); citus && citus->is_object() && !citus->empty()) {
    if (!config::citus_group_of(*citus) || !config::citus_database_of(*citus))
      out.push_back("citus: needs `group` (an integer) and `database` (a string); without them the section is "
                    "ignored, as Patroni ignores it");
  }
  return out;
}

}  // namespace custos::agent
