#include "dcs/factory/dcs_factory.h"

#include "config/config.h"
#include "dcs/etcd3/etcd3_dcs.h"

namespace custos::dcs {

using json = nlohmann::json;

std::string dcs_section_name(const json& patroni_config) {
  if (!patroni_config.is_object()) return "";
  for (const char* name : config::kDcsSectionNames) {
    auto it = patroni_config.find(name);
    if (it != patroni_config.end() && !it->is_null()) return name;
  }
  return "";
}

Result<std::unique_ptr<Dcs>, std::string> make_dcs(const json& patroni_config, DcsMode mode) {
  const bool ctl = mode == DcsMode::ctl;
  const std::string section = dcs_section_name(patroni_config);
  if (section.empty()) {
    return Err<std::string>{
        std::string("Can not find suitable configuration of distributed configuration store (etcd or etcd3 section") +
        (ctl ? ", or --dcs-url)" : ")")};
  }
  if (section == "etcd" || section == "etcd3") {
    // Both are served by the etcd v3 backend (an `etcd` section through etcd's v3 API).
    json config = patroni_config;
    config["patronictl"] = ctl;  // what makes the etcd3 backend run without lease and watcher
    auto dcs = etcd3::Etcd3Dcs::from_config(config);
    if (!dcs) return Err<std::string>{dcs.error()};
    return std::unique_ptr<Dcs>(std::move(dcs).value());
  }
  return Err<std::string>{"DCS `" + section + "` is not supported by " + (ctl ? "custosctl" : "custos") +
                          " yet (only etcd and etcd3)"};
}

}  // namespace custos::dcs
