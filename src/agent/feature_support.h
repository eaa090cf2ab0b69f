// Which configured features the agent does not carry out yet (docs/compatibility.md, "The
// agent"): the configuration is accepted and each of these is named in a warning at start and
// whenever the dynamic configuration changes what is asked for.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace custos::agent {

// One line per unsupported feature the effective configuration asks for, naming its key.
std::vector<std::string> unsupported_features(const nlohmann::json& effective);

}  // namespace custos::agent
