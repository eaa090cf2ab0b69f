#include "postgres/replication_status.h"

#include <charconv>

namespace custos::postgres {

const char* const kReplicationConnectionsQuery =
    "SELECT usename, application_name, COALESCE(host(client_addr), ''), state, sync_state, sync_priority "
    "FROM pg_catalog.pg_stat_replication";

std::vector<ReplicationConnection> parse_replication_connections(const QueryResult& result) {
  std::vector<ReplicationConnection> out;
  for (const auto& row : result.rows) {
    if (row.size() < 6) continue;
    ReplicationConnection c;
    c.usename = row[0].value_or("");
    c.application_name = row[1].value_or("");
    c.client_addr = row[2].value_or("");
    c.state = row[3].value_or("");
    c.sync_state = row[4].value_or("");
    if (row[5]) {
      int v = 0;
      const std::string& t = *row[5];
      if (std::from_chars(t.data(), t.data() + t.size(), v).ec == std::errc()) c.sync_priority = v;
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace custos::postgres
