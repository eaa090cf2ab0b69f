#include "postgres/slots.h"

#include <algorithm>
#include <set>

namespace custos::postgres {

SlotChanges sync_physical_slots(PgConnection& conn, const std::vector<std::string>& expected,
                                std::chrono::milliseconds timeout) {
  SlotChanges out;
  auto r = conn.query("SELECT slot_name, slot_type, active::text, temporary::text FROM pg_catalog.pg_replication_slots",
                      {}, timeout);
  if (!r) {
    out.errors.push_back("cannot list replication slots: " + r.error().message);
    return out;
  }
  std::set<std::string> have;
  for (const auto& row : r->rows) {
    if (row.size() < 4 || !row[0]) continue;
    const std::string name = *row[0];
    have.insert(name);
    const bool physical = row[1] && *row[1] == "physical";
    const bool active = row[2] && *row[2] == "true";
    const bool temporary = row[3] && *row[3] == "true";
    if (physical && !active && !temporary && std::find(expected.begin(), expected.end(), name) == expected.end()) {
      auto d = conn.query("SELECT pg_catalog.pg_drop_replication_slot($1)", {name}, timeout);
      if (d) out.dropped.push_back(name);
      else out.errors.push_back("cannot drop replication slot '" + name + "': " + d.error().message);
    }
  }
  for (const auto& name : expected) {
    if (have.count(name)) continue;
    auto c = conn.query("SELECT pg_catalog.pg_create_physical_replication_slot($1, true)", {name}, timeout);
    if (c) out.created.push_back(name);
    else out.errors.push_back("cannot create replication slot '" + name + "': " + c.error().message);
  }
  return out;
}

}  // namespace custos::postgres
