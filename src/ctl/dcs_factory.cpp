#include "ctl/dcs_factory.h"

#include "dcs/factory/dcs_factory.h"

namespace custos::ctl {

using json = nlohmann::json;

bool is_citus_config(const json& config) {
  auto it = config.find("citus");
  return it != config.end() && it->is_object() && !it->empty();
}

json dcs_config_for(const json& config, const std::string& scope, std::optional<int> group) {
  json out = config.is_object() ? config : json::object();
  const bool citus = is_citus_config(out);
  out["scope"] = scope;
  out["patronictl"] = true;
  if (group) {
    out["citus"] = {{"group", *group}, {"database", "postgres"}};
  } else if (citus) {
    out["citus"]["group"] = 0;  // coordinator view: all groups
  }
  if (!out.contains("name") || !out["name"].is_string() || out["name"].get<std::string>().empty()) out["name"] = scope;
  return out;
}

Result<std::unique_ptr<dcs::Dcs>, std::string> make_ctl_dcs(const json& config, const std::string& scope,
                                                           std::optional<int> group) {
  return dcs::make_dcs(dcs_config_for(config, scope, group), dcs::DcsMode::ctl);
}

}  // namespace custos::ctl
