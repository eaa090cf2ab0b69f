// Pure mappings between the outside world and the HA decision's inputs: pg_controldata state ->
// ha::ControlState, a status query -> LocalState fields, configuration -> HaSettings and Tags,
// a member's `GET /patroni` answer -> MemberStatus (rest-api.md §9).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "ha/local_state.h"
#include "ha/member_status.h"
#include "ha/settings.h"
#include "postgres/controldata.h"
#include "postgres/server_status.h"
#include "watchdog/watchdog_config.h"

namespace custos::agent {

ha::ControlState map_control_state(postgres::ClusterState state);

// Copies role, WAL positions, timeline, version and start time of a status query.
void apply_server_status(ha::LocalState& local, const postgres::ServerStatus& status);

ha::Tags tags_from_config(const nlohmann::json& tags);

ha::HaSettings ha_settings_from_config(const config::Config& config);

// The local `watchdog` section with the ttl and loop_wait in force; what cannot be read is named
// in `warnings` (Patroni's defaults are used for it).
watchdog::WatchdogConfig watchdog_config_from(const config::Config& config,
                                              std::vector<std::string>* warnings = nullptr);

// `body` of GET <api_url>; reachable = parsed with a `wal`/`xlog` object (rest-api.md §9).
// The internal role as written to the member key, the API and callbacks: the primary as the
// presented generation spells it ("master" for 3.3, "primary" for 4.1), else the role's name.
std::string role_text(ha::Role role, PatroniGeneration presentation);

ha::MemberStatus member_status_from_patroni(const std::string& name, const std::string& body);

}  // namespace custos::agent
