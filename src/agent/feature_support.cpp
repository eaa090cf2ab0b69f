#include "agent/feature_support.h"

#include <algorithm>
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
  // Citus is carried out (settings, bootstrap, pg_dist_node, events); a section Patroni would
  // not take (group an integer, database a string) is ignored by both, and named here.
  if (const json* citus = at(c, {"citus"}); citus && citus->is_object() && !citus->empty()) {
    const json* group = at(*citus, {"group"});
    const json* database = at(*citus, {"database"});
    const std::string* text = group && group->is_string() ? group->get_ptr<const std::string*>() : nullptr;
    const bool group_ok =
        group && (group->is_number_integer() ||
                  (text && !text->empty() &&
                   std::all_of(text->begin(), text->end(), [](unsigned char ch) { return std::isdigit(ch) != 0; })));
    if (!group_ok || !database || !database->is_string())
      out.push_back("citus: needs `group` (an integer) and `database` (a string); without them the section is "
                    "ignored, as Patroni ignores it");
  }
  return out;
}

}  // namespace custos::agent
