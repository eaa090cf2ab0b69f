#include "ctl/dcs_factory.h"

#include "config/config.h"
#include "dcs/etcd3/etcd3_dcs.h"

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
  json cfg = dcs_config_for(config, scope, group);
  std::string found;
  for (const char* name : config::kDcsSectionNames)
    if (cfg.contains(name) && !cfg[name].is_null()) {
      found = name;
      break;
    }
  if (found.empty())
    return Err<std::string>{
        "Can not find suitable configuration of distributed configuration store (etcd or etcd3 section, or "
        "--dcs-url)"};
  if (found != "etcd" && found != "etcd3")
    return Err<std::string>{"DCS `" + found + "` is not supported by custosctl yet (only etcd and etcd3)"};
  auto dcs = dcs::etcd3::Etcd3Dcs::from_config(cfg);
  if (!dcs) return Err<std::string>{dcs.error()};
  return std::unique_ptr<dcs::Dcs>(std::move(dcs).value());
}

}  // namespace custos::ctl
