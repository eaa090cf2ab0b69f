// What every backend does with the keys it read: builds the Cluster from them, strictly. A key
// whose parsing threw fails the whole read (kMalformedReply naming the key): a cluster without
// that key (no `leader`, say) would be a false picture the HA cycle would act on.
//
// Pure; thread: any.
#pragma once

#include <string>

#include "dcs/cluster.h"
#include "dcs/dcs_error.h"
#include "dcs/raw_node.h"

namespace custos::dcs {

// The keys `nodes` (relative to `prefix`) as a cluster; for a Citus coordinator
// (`citus_coordinator`) every group's keys, the coordinator's own in group 0.
DcsResult<Cluster> cluster_from_read(const RawNodes& nodes, const std::string& prefix, bool citus_coordinator);

}  // namespace custos::dcs
