// The `scheduled_restart` value of our member key and of GET /patroni (dcs.md §2.2,
// rest-api.md §6): schedule in UTC ISO 8601, and the filters as given. Pure.
#pragma once

#include <nlohmann/json.hpp>

#include "ha/local_state.h"

namespace custos::agent {

nlohmann::json scheduled_restart_value(const ha::ScheduledRestart& restart);

// server_version_num 150004 -> "15.4", 90624 -> "9.6.24".
std::string postgres_version_text(int version_num);

}  // namespace custos::agent
