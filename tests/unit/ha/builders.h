// Test builders: a Cluster from DCS-like key values, a local state and member statuses.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dcs/cluster.h"
#include "ha/decide.h"

namespace custos::ha::test {

// members/<name> JSON as a real agent writes it.
std::string member_json(const std::string& role = "replica", int64_t xlog = 100,
                        const std::string& extra = "", const std::string& state = "running");

class ClusterBuilder {
 public:
  ClusterBuilder& leader(const std::string& name);
  ClusterBuilder& member(const std::string& name, const std::string& role = "replica",
                         int64_t xlog = 100, const std::string& extra = "",
                         const std::string& state = "running");
  ClusterBuilder& raw(const std::string& key, const std::string& value);
  ClusterBuilder& initialize(const std::string& sysid = "7000000000000000001");
  ClusterBuilder& config(const std::string& json = R"({"ttl":30,"loop_wait":10})");
  ClusterBuilder& failover(const std::string& json);
  ClusterBuilder& sync(const std::string& leader, const std::string& standbys);
  ClusterBuilder& history(const std::string& json);
  ClusterBuilder& status(int64_t optime);
  ClusterBuilder& failsafe(const std::string& json);
  dcs::Cluster build() const;

 private:
  dcs::RawNodes nodes_;
  dcs::Version next_ = 1;
};

// A typical 3-node cluster: node1 leader/primary, node2 + node3 replicas; initialize + config.
ClusterBuilder healthy_cluster(const std::string& leader = "node1");
// Same without the leader key.
ClusterBuilder leaderless_cluster();

LocalState replica_state(const std::string& name = "node2", int64_t lsn = 1000);
LocalState primary_state(const std::string& name = "node1", int64_t lsn = 1000);

MemberStatus replica_status(const std::string& name, int64_t wal, int64_t priority = 1);
MemberStatus primary_status(const std::string& name, int64_t wal);
MemberStatus unreachable(const std::string& name);

DecisionInput input(const dcs::Cluster& cluster, const LocalState& local);

// All flattened root-to-leaf paths; `outcomes` records the branch taken at each conditional.
struct Path {
  std::vector<bool> outcomes;
  std::vector<Step> steps;  // includes the conditional steps
  Decision leaf;
};
std::vector<Path> all_paths(const Decision& d);

bool has_step(const Decision& d, Action a);
const Step* find_step(const Decision& d, Action a);
// Index of the first step with action a, -1 if none.
int step_index(const std::vector<Step>& steps, Action a);
// The lines the Log steps of a (resolved) leaf write, as "<level>: <line>" with level info,
// warning or error; then the lines of Decision::log of `root` when given ("info: ..."/"warning: ...").
std::vector<std::string> logged(const Decision& leaf, const Decision* root = nullptr);
// `line` is among logged(leaf, root).
bool logs(const Decision& leaf, const std::string& line, const Decision* root = nullptr);

}  // namespace custos::ha::test
