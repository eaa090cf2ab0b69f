// Pure mappings between what src/postgres and src/dcs report and what the HA decision reads:
// the data directory and postmaster states, pg_controldata's cluster state, a status query, and
// the upstream a member's key describes, a status query as the REST API reports it.
#pragma once

#include <optional>

#include "api/node_snapshot.h"
#include "dcs/member.h"
#include "ha/local_state.h"
#include "ha/settings.h"
#include "postgres/node_settings.h"
#include "postgres/controldata.h"
#include "postgres/postgres_node.h"
#include "postgres/server_status.h"

namespace custos::agent {

ha::DataDir to_ha(postgres::DataDirState state);
ha::PgProcess to_ha(postgres::ServerProcess process);

// Where to stream from, from a member key's conn_url / conn_kwargs; nullopt without a host.
std::optional<postgres::Upstream> upstream_of(const dcs::Member& member);

// The remote primary of an active standby cluster (standby_cluster's host and port; no host:
// its archive only); nullopt outside a standby cluster.
std::optional<postgres::Upstream> remote_upstream_of(const postgres::NodeSettings& pg, const ha::HaSettings& ha);

// Fills `pg` with a successful status query taken at `sampled_at` (monotonic seconds): WAL
// positions, timeline, recovery and replication state; marks it query_ok.
void fill_pg_status(api::PgStatus& pg, const postgres::ServerStatus& st, double sampled_at);

}  // namespace custos::agent
