#include "agent/feature_support.h"

#include <cctype>

#include "common/json_truth.h"

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
  // A Citus group gets its DCS keys (<scope>/<group>/), Citus's PostgreSQL settings and its
  // bootstrap (database, extension, coordinator host); the rest is not carried out yet.
  if (const json* citus = at(c, {"citus"}); citus && citus->is_object())
    out.push_back("citus: the group's keys, the PostgreSQL settings Citus needs and its bootstrap are handled, but "
                  "the coordinator does not maintain the workers in pg_dist_node yet and POST /citus is not answered");
  return out;
}

}  // namespace custos::agent
