// Physical replication slots of the local server (ha.md §10): create the expected ones
// (pg_create_physical_replication_slot(name, true)), drop inactive, non-temporary physical slots
// nobody expects. Slot names reach SQL only as bound parameters.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "postgres/pg_connection.h"

namespace custos::postgres {

// What sync_physical_slots did, for logs and tests.
struct SlotChanges {
  std::vector<std::string> created;
  std::vector<std::string> dropped;
  std::vector<std::string> errors;  // one line per failed statement
};

SlotChanges sync_physical_slots(PgConnection& conn, const std::vector<std::string>& expected,
                                std::chrono::milliseconds timeout);

}  // namespace custos::postgres
