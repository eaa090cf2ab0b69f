// AgentServices: everything outside the agent's own memory that the loop, the executor and the
// REST operations speak to, as interfaces. main (agent/main_entry.cpp) wires the real ones;
// tests wire fakes (tests/support). Every referenced object outlives the Agent.
#pragma once

#include "agent/hooks.h"
#include "agent/member_queries.h"
#include "agent/watchdog.h"
#include "common/clock.h"
#include "common/metrics_registry.h"
#include "dcs/dcs.h"
#include "postgres/postgres_node.h"

namespace custos::mpp {
class CitusCoordinator;
}

namespace custos::agent {

class CitusWorkerEvents;

struct AgentServices {
  dcs::Dcs& dcs;
  postgres::PostgresNode& pg;
  Clock& clock;
  MemberQueries& members;
  Watchdog& watchdog;
  Hooks& hooks;
  // Citus (spec/citus.md): the coordinator's pg_dist_node maintainer (a node of group 0) or the
  // worker's event sender (other groups); null when not a Citus node (or not that role).
  mpp::CitusCoordinator* citus_coordinator = nullptr;
  CitusWorkerEvents* citus_events = nullptr;
  // custos's own metric families (GET /metrics); null: nothing is recorded.
  MetricsRegistry* metrics = nullptr;
};

}  // namespace custos::agent
