#include "agent/feature_support.h"

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
  // Permanent physical slots are created, published and advanced; logical ones are not yet.
  if (const json* slots = at(c, {"slots"}); slots && slots->is_object()) {
    for (const auto& [name, v] : slots->items()) {
      const bool logical = v.is_object() && ((v.contains("type") && v["type"] == "logical") ||
                                             (!v.contains("type") && v.contains("database") && v.contains("plugin")));
      if (logical) out.push_back("slots." + name + ": permanent logical replication slots are not managed yet");
    }
  }
  return out;
}

}  // namespace custos::agent
