#include "postgres/replica_methods.h"

#include <nlohmann/json.hpp>

#include "common/json_truth.h"

namespace custos::postgres {

bool replica_method_works_without_leader(const nlohmann::json& sections, const std::string& method) {
  if (method == "basebackup" || !sections.is_object() || !sections.contains(method)) return false;
  const nlohmann::json& o = sections[method];
  if (!o.is_object()) return false;
  return (o.contains("no_leader") && python_truthy(o["no_leader"])) ||
         (o.contains("no_master") && python_truthy(o["no_master"]));
}

std::vector<std::string> replica_methods_to_run(const std::vector<std::string>& configured,
                                                const nlohmann::json& sections, bool have_source) {
  if (have_source) return configured;
  std::vector<std::string> usable;
  for (const auto& m : configured)
    if (replica_method_works_without_leader(sections, m)) usable.push_back(m);
  return usable;
}

}  // namespace custos::postgres
