// AgentServices: everything outside the agent's own memory that the loop, the executor and the
// REST operations speak to, as interfaces. main (agent/main_entry.cpp) wires the real ones;
// tests wire fakes (tests/support). Every referenced object outlives the Agent.
#pragma once

#include "agent/hooks.h"
#include "agent/member_queries.h"
#include "agent/watchdog.h"
#include "common/clock.h"
#include "dcs/dcs.h"
#include "postgres/postgres_node.h"

namespace custos::agent {

struct AgentServices {
  dcs::Dcs& dcs;
  postgres::PostgresNode& pg;
  Clock& clock;
  MemberQueries& members;
  Watchdog& watchdog;
  Hooks& hooks;
};

}  // namespace custos::agent
