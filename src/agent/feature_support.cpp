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
  // Patroni 4.0 keeps a departed member's slot for member_slots_ttl; custos drops it at once.
  if (const json* ttl = at(c, {"member_slots_ttl"}); ttl && python_truthy(*ttl)) {
    const std::string text = ttl->is_string() ? ttl->get<std::string>() : ttl->dump();
    if (text.find_first_not_of("0smhd ") != std::string::npos || text.find_first_of("123456789") != std::string::npos)
      out.push_back("member_slots_ttl: the slot of a member that left is dropped at once, not kept for " + text);
  }
  return out;
}

}  // namespace custos::agent
