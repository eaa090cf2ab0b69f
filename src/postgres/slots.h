// Physical replication slots of the local server (ha.md §10): create the expected ones
// (pg_create_physical_replication_slot(name, true)), move them forward to the LSN the cluster
// published for them (pg_replication_slot_advance, PostgreSQL 11+; permanent slots on replicas,
// also while the DCS is unreachable from the failsafe primary's positions), and drop inactive,
// non-temporary physical slots nobody expects. Slot names and LSNs reach SQL only as bound
// parameters.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "postgres/pg_connection.h"

namespace custos::postgres {

// What sync_physical_slots did, for logs and tests.
struct SlotChanges {
  std::vector<std::string> created;
  std::vector<std::string> dropped;
  std::vector<std::pair<std::string, int64_t>> advanced;  // slot, to LSN
  std::vector<std::string> errors;  // one line per failed statement
};

// `expected`: slot name -> the LSN to move it to (0: none known). Slots are advanced only when
// `advance` (PostgreSQL 11+) and only forward, and never while a consumer uses them.
SlotChanges sync_physical_slots(PgConnection& conn, const std::map<std::string, int64_t>& expected, bool advance,
                                std::chrono::milliseconds timeout);

// Every slot's position (physical: restart_lsn; logical: confirmed_flush_lsn), for the leader's
// /status and POST /failsafe. Slots without a position are left out.
Result<std::map<std::string, int64_t>, PgError> slot_positions(PgConnection& conn, std::chrono::milliseconds timeout);

}  // namespace custos::postgres
