// The walsenders of a primary as the REST API reports them (rest-api.md §4 `replication`): one
// row of pg_stat_replication each.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "postgres/pg_connection.h"

namespace custos::postgres {

struct ReplicationConnection {
  std::string usename;
  std::string application_name;
  std::string client_addr;
  std::string state;
  std::string sync_state;
  int sync_priority = 0;
  bool operator==(const ReplicationConnection&) const = default;
};

extern const char* const kReplicationConnectionsQuery;

// Parses the result of kReplicationConnectionsQuery (rows with fewer columns are skipped).
std::vector<ReplicationConnection> parse_replication_connections(const QueryResult& result);

}  // namespace custos::postgres
