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
  // The DCS layout of a Citus group is honoured (keys under <scope>/<group>/), the rest is not.
  if (const json* citus = at(c, {"citus"}); citus && citus->is_object())
    out.push_back("citus: the keys of the Citus group are used, but the coordinator's worker metadata "
                  "(pg_dist_node), the citus extension and the worker notifications are not managed yet");
  return out;
}

}  // namespace custos::agent
