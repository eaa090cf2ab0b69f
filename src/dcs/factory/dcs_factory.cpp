#include "dcs/factory/dcs_factory.h"

#include "config/config.h"
#include "dcs/etcd/etcd2_dcs.h"
#include "dcs/etcd3/etcd3_dcs.h"
#include "dcs/zookeeper/zookeeper_dcs.h"

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
        std::string("Can not find suitable configuration of distributed configuration store (etcd, etcd3 or zookeeper section") +
        (ctl ? ", or --dcs-url)" : ")")};
  }
  json config = patroni_config;
  config["patronictl"] = ctl;  // what makes a backend run without lease/session and watcher
  if (section == "etcd3") {
    auto dcs = etcd3::Etcd3Dcs::from_config(config);
    if (!dcs) return Err<std::string>{dcs.error()};
    return std::unique_ptr<Dcs>(std::move(dcs).value());
  }
  if (section == "etcd") {
    // etcd's v2 API, as Patroni's `etcd` module (etcd started with --enable-v2).
    auto dcs = etcd2::Etcd2Dcs::from_config(config);
    if (!dcs) return Err<std::string>{dcs.error()};
    return std::unique_ptr<Dcs>(std::move(dcs).value());
  }
  if (section == "zookeeper") {
    auto dcs = zookeeper::ZooKeeperDcs::from_config(config);
    if (!dcs) return Err<std::string>{dcs.error()};
    return std::unique_ptr<Dcs>(std::move(dcs).value());
  }
  return Err<std::string>{"DCS `" + section + "` is not supported by " + (ctl ? "custosctl" : "custos") +
                          " yet (only etcd, etcd3 and zookeeper)"};
}

}  // namespace custos::dcs
