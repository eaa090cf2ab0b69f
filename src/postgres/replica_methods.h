// Which of the configured create_replica_methods run for a clone, as Patroni chooses them: all
// in their order when there is a source to copy from; without one (no leader, an archive-only
// remote) only the methods whose section says `no_leader` (or the older `no_master`), never
// basebackup. `sections` maps a method name to its section (postgresql.<method>); a method
// without a section is its own command with no flags. Pure functions, any thread.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace custos::postgres {

// The method's section says it works without a replication connection (no_leader / no_master
// truthy, as Python reads them); basebackup never does.
bool replica_method_works_without_leader(const nlohmann::json& sections, const std::string& method);

// The methods to try in order (pg_basebackup is not a name Patroni knows; it is kept as given).
std::vector<std::string> replica_methods_to_run(const std::vector<std::string>& configured,
                                                const nlohmann::json& sections, bool have_source);

}  // namespace custos::postgres
