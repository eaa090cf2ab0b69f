#include "postgres/slots.h"

#include <set>

#include "postgres/lsn.h"

namespace custos::postgres {

SlotChanges sync_physical_slots(PgConnection& conn, const std::map<std::string, int64_t>& expected, bool advance,
                                std::chrono::milliseconds timeout) {
  SlotChanges out;
  auto r = conn.query(
      "SELECT slot_name, slot_type, active::text, temporary::text, restart_lsn::text "
      "FROM pg_catalog.pg_replication_slots",
      {}, timeout);
  if (!r) {
    out.errors.push_back("cannot list replication slots: " + r.error().message);
    return out;
  }
  std::set<std::string> have;
  for (const auto& row : r->rows) {
    if (row.size() < 5 || !row[0]) continue;
    const std::string name = *row[0];
    have.insert(name);
    const bool physical = row[1] && *row[1] == "physical";
    const bool active = row[2] && *row[2] == "true";
    const bool temporary = row[3] && *row[3] == "true";
    auto want = expected.find(name);
    if (physical && !active && !temporary && want == expected.end()) {
      auto d = conn.query("SELECT pg_catalog.pg_drop_replication_slot($1)", {name}, timeout);
      if (d) out.dropped.push_back(name);
      else out.errors.push_back("cannot drop replication slot '" + name + "': " + d.error().message);
      continue;
    }
    // Forward only, and not under a consumer (it moves the slot itself).
    if (!advance || !physical || active || want == expected.end() || want->second <= 0) continue;
    const auto restart = row[4] ? parse_lsn(*row[4]) : std::nullopt;
    if (!restart || *restart >= want->second) continue;
    auto a = conn.query("SELECT pg_catalog.pg_replication_slot_advance($1, $2::pg_lsn)",
                        {name, format_lsn(want->second)}, timeout);
    if (a) out.advanced.emplace_back(name, want->second);
    else out.errors.push_back("cannot advance replication slot '" + name + "': " + a.error().message);
  }
  for (const auto& [name, lsn] : expected) {
    if (have.count(name)) continue;
    auto c = conn.query("SELECT pg_catalog.pg_create_physical_replication_slot($1, true)", {name}, timeout);
    if (c) out.created.push_back(name);
    else out.errors.push_back("cannot create replication slot '" + name + "': " + c.error().message);
  }
  return out;
}

Result<std::map<std::string, int64_t>, PgError> slot_positions(PgConnection& conn, std::chrono::milliseconds timeout) {
  auto r = conn.query(
      "SELECT slot_name, CASE WHEN slot_type = 'physical' THEN restart_lsn ELSE confirmed_flush_lsn END::text "
      "FROM pg_catalog.pg_replication_slots WHERE NOT temporary",
      {}, timeout);
  if (!r) return make_error(r.error());
  std::map<std::string, int64_t> out;
  for (const auto& row : r->rows) {
    if (row.size() < 2 || !row[0] || !row[1]) continue;
    if (auto lsn = parse_lsn(*row[1])) out[*row[0]] = *lsn;
  }
  return out;
}

}  // namespace custos::postgres
