// Where a non-leader member stands against the cluster's last known leader position, as
// Patroni's /cluster and `patronictl list` show it: `lag` from `xlog_location`, and (Patroni 4.1)
// `lsn`, `receive_lsn`/`receive_lag`, `replay_lsn`/`replay_lag` from the member key. One
// computation for the REST API and custosctl. Pure.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "dcs/member.h"

namespace custos::dcs {

// The fields lsn, lag, receive_lsn, receive_lag, replay_lsn, replay_lag (JSON readers do not care
// about the order); with `with_lsns` false only `lag` (Patroni 3.3). A missing, zero or negative
// position gives "unknown" for the LSN and its lag; a lag is `cluster_lsn - lsn`, 0 when the
// member is ahead. LSNs are text ("0/3000148").
nlohmann::ordered_json member_positions(const Member& member, int64_t cluster_lsn, bool with_lsns);

}  // namespace custos::dcs
