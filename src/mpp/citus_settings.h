// The PostgreSQL settings Patroni forces on every node of a Citus cluster (spec/citus.md §3),
// applied to a node's settings once the configuration has `citus.group` and `citus.database`:
//   - wal_level logical (shard moves and splits use logical replication);
//   - max_prepared_transactions twice max_connections (100 when not set) when it is 0 or unset;
//   - shared_preload_libraries with `citus` first, the other libraries kept in their order;
//   - citus.local_hostname: the host the agent itself uses for local superuser connections.
// Pure; any thread.
#pragma once

#include "postgres/node_settings.h"

namespace custos::mpp {

void apply_citus_settings(postgres::NodeSettings& settings);

}  // namespace custos::mpp
