// The cluster as patronictl sees it: the `/cluster` JSON algorithm (rest-api.md §5, Patroni's
// cluster_as_json) computed from a Cluster read from the DCS, and the replication tree order
// used by `topology`. Pure functions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcs/cluster.h"

namespace custos::ctl {

using ordered_json = nlohmann::ordered_json;

// {"members": [{name, role, state, api_url, host?, port?, timeline?, pending_restart?,
//   pending_restart_reason?, scheduled_restart?, tags?, lag?}...sorted by name],
//  "pause"?: true, "scheduled_switchover"?: {"at", "from"?, "to"?}}
// role: lock holder -> "leader" ("standby_leader" when the DCS config describes a standby
// cluster); synchronous_mode and named in `sync` -> "sync_standby"; else "replica".
// state: non-leaders' replication_state if present, else the member's `state` ("" if none).
// lag (non-leaders): "unknown" without xlog_location, else max(0, status optime - location).
ordered_json cluster_as_json(const dcs::Cluster& cluster);

// Members (from cluster_as_json) in replication-tree order: the leader first, each replica
// under its `replicatefrom` parent when that names another listed replica, else under the
// leader; names of nested members prefixed with "+ " and 2 spaces per extra level. Without a
// leader every replica is one level deep. Members in a replicatefrom cycle (unreachable from
// the leader) are attached under the leader rather than dropped.
std::vector<ordered_json> topology_sort(const std::vector<ordered_json>& members);

// ISO 8601 of a UTC time as Python's isoformat(): "YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00".
std::string isoformat_utc(dcs::SysMicros t);

}  // namespace custos::ctl
