// Builds the DCS client custosctl reads through, in "ctl mode" (ctl.md §2: no lease, no
// watcher, linearizable reads), for one cluster name and Citus group.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "dcs/dcs.h"

namespace custos::ctl {

// True when the configuration has a non-empty `citus` section (Citus commands then show the
// coordinator and every worker group unless --group selects one).
bool is_citus_config(const nlohmann::json& config);

// The configuration handed to the DCS backend for `scope`: scope set, `patronictl: true`,
// name defaulting to the scope; with `group` the Citus group it names; without one, on a
// Citus configuration, the coordinator view (group 0: every group is read).
nlohmann::json dcs_config_for(const nlohmann::json& config, const std::string& scope, std::optional<int> group);

// The DCS client: dcs::make_dcs(dcs_config_for(...), ctl mode). Errors name the problem (no DCS
// section, a backend custosctl does not implement yet, an invalid etcd section).
Result<std::unique_ptr<dcs::Dcs>, std::string> make_ctl_dcs(const nlohmann::json& config, const std::string& scope,
                                                           std::optional<int> group);

}  // namespace custos::ctl
