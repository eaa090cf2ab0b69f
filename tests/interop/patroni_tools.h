// Helpers for the interoperability tests: run Debian's Patroni 3.0.2 as one node of an e2e
// TestCluster (same generated YAML as the custos nodes), run Debian's `patronictl` against the
// cluster's etcd, parse `patronictl list -f json`, and call a node's REST API with any method.
// Patroni and patronictl always run with /usr/bin/python3 (the python3 first on PATH may lack
// Debian's packages).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "child_process.h"
#include "test_cluster.h"

namespace custos::interop {

using std::chrono::milliseconds;

constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kPatroni = "/usr/bin/patroni";
constexpr const char* kPatronictl = "/usr/bin/patronictl";

// Empty when /usr/bin/patroni and /usr/bin/patronictl run and report version 3.0.2; otherwise why not
// (the tests are skipped then).
std::string patroni_unavailable_reason();

// Starts /usr/bin/patroni on node i's config file (log level lowered to INFO) in place of the
// custos agent; the node's agent handle then is the Patroni process (kill_node etc. work on it).
void start_patroni(e2e::TestCluster& cluster, int i);

// Runs `patronictl -c <cluster dir>/patronictl.yml <args...>` (the file names the scope and the
// cluster's DCS section; it is written on first use). Bounded by `timeout`.
test::RunResult patronictl(e2e::TestCluster& cluster, const std::vector<std::string>& args,
                           milliseconds timeout = milliseconds(60000));

// One row of `patronictl list -f json`.
struct ListedMember {
  std::string member, host, role, state;
  std::string tl;   // as printed ("" when absent)
  std::string lag;  // "Lag in MB" as printed ("" for the leader / unknown)
};
struct ListedCluster {
  std::vector<ListedMember> members;
  std::string error;  // non-empty when patronictl failed or printed something unparsable
  const ListedMember* find(const std::string& name) const;
  std::optional<std::string> leader() const;  // the one member with role "Leader"
};
ListedCluster patronictl_list(e2e::TestCluster& cluster);

// HTTP call to node i's REST API; status 0 when unreachable.
struct RestReply {
  int status = 0;
  std::string body;
};
RestReply rest(e2e::TestCluster& cluster, int i, const std::string& method, const std::string& path,
               const std::string& json_body = "", milliseconds timeout = milliseconds(30000));

// Waits until the leader key names `name` and that node's PostgreSQL accepts writes and its
// GET /primary answers 200 (via TestCluster::wait_for_primary); throws with the cluster's state.
void wait_for_leader(e2e::TestCluster& cluster, const std::string& name, milliseconds timeout);

}  // namespace custos::interop
