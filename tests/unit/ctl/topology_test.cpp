// `custosctl topology`: the replication tree (cascading through replicatefrom), the ordering
// helper on its own (no leader, unknown parent, self reference, cycles).
#include <gtest/gtest.h>

#include "ctl/cluster_view.h"
#include "ctl/member_list.h"
#include "ctl_test_util.h"

namespace custos::ctl {
namespace {

using namespace custos::ctl::test;

dcs::Cluster cascading() {
  auto from = [](const char* parent) { return json{{"replication_state", "streaming"}, {"tags", {{"replicatefrom", parent}}}}; };
  return cluster({
      {"initialize", "7312345678901234567"},
      {"leader", "node1"},
      {"status", R"({"optime":4096})"},
      {"members/node1", member_value("127.0.0.1:5432", "master", "running", 4096, 1)},
      {"members/node2", member_value("127.0.0.1:5433", "replica", "running", 4096, 1, {{"replication_state", "streaming"}})},
      {"members/node3", member_value("127.0.0.1:5434", "replica", "running", 4096, 1, from("node2"))},
      {"members/node4", member_value("127.0.0.1:5435", "replica", "running", 4096, 1, from("node3"))},
      {"members/node5", member_value("127.0.0.1:5436", "replica", "running", 4096, 1, from("nosuchnode"))},
      {"members/node0", member_value("127.0.0.1:5437", "replica", "running", 4096, 1, from("node2"))},
  });
}

TEST(CtlTopology, CascadingReplicasNestUnderTheirParent) {
  ListOptions o;
  o.presentation = PatroniGeneration::v3_3;
  o.format = OutputFormat::kTopology;
  EXPECT_EQ(render_members(cascading(), "demo", o),
            "+ Cluster: demo (7312345678901234567) ---+-----------+----+-----------+-----------------------------+\n"
            "| Member      | Host           | Role    | State     | TL | Lag in MB | Tags                        |\n"
            "+-------------+----------------+---------+-----------+----+-----------+-----------------------------+\n"
            "| node1       | 127.0.0.1:5432 | Leader  | running   |  1 |           |                             |\n"
            "| + node2     | 127.0.0.1:5433 | Replica | streaming |  1 |         0 |                             |\n"
            "|   + node0   | 127.0.0.1:5437 | Replica | streaming |  1 |         0 | {replicatefrom: node2}      |\n"
            "|   + node3   | 127.0.0.1:5434 | Replica | streaming |  1 |         0 | {replicatefrom: node2}      |\n"
            "|     + node4 | 127.0.0.1:5435 | Replica | streaming |  1 |         0 | {replicatefrom: node3}      |\n"
            "| + node5     | 127.0.0.1:5436 | Replica | streaming |  1 |         0 | {replicatefrom: nosuchnode} |\n"
            "+-------------+----------------+---------+-----------+----+-----------+-----------------------------+\n");
}

ordered_json m(const std::string& name, const std::string& role, const char* replicatefrom = nullptr) {
  ordered_json j = {{"name", name}, {"role", role}};
  if (replicatefrom) j["tags"] = {{"replicatefrom", replicatefrom}};
  return j;
}

std::vector<std::string> names(const std::vector<ordered_json>& members) {
  std::vector<std::string> out;
  for (const auto& x : members) out.push_back(x["name"].get<std::string>());
  return out;
}

TEST(CtlTopology, SortRules) {
  // Standby leader counts as the root too.
  EXPECT_EQ(names(topology_sort({m("a", "replica"), m("b", "standby_leader"), m("c", "replica", "a")})),
            (std::vector<std::string>{"b", "+ a", "  + c"}));
  // No leader: every replica one level deep (as patronictl shows it).
  EXPECT_EQ(names(topology_sort({m("a", "replica"), m("b", "sync_standby", "a")})),
            (std::vector<std::string>{"+ a", "  + b"}));
  // replicatefrom naming itself or the leader: under the leader.
  EXPECT_EQ(names(topology_sort({m("a", "leader"), m("b", "replica", "b"), m("c", "replica", "a")})),
            (std::vector<std::string>{"a", "+ b", "+ c"}));
  // A cycle is not dropped: its members hang under the leader.
  EXPECT_EQ(names(topology_sort({m("a", "leader"), m("b", "replica", "c"), m("c", "replica", "b")})),
            (std::vector<std::string>{"a", "+ b", "  + c"}));
  EXPECT_TRUE(topology_sort({}).empty());
}

TEST(CtlTopology, TopologyOfEveryCitusGroup) {
  dcs::RawNodes n = nodes({
      {"0/initialize", "7000000000000000000"},
      {"0/leader", "c1"},
      {"0/members/c1", member_value("10.0.0.1:5432", "master", "running", 1, 1)},
      {"0/members/c2", member_value("10.0.0.2:5432", "replica", "running", 1, 1, {{"replication_state", "streaming"}})},
      {"1/leader", "w1"},
      {"1/members/w1", member_value("10.0.1.1:5432", "master", "running", 1, 1)},
  });
  ListOptions o;
  o.presentation = PatroniGeneration::v3_3;
  o.format = OutputFormat::kTopology;
  o.citus = true;
  EXPECT_EQ(render_members(dcs::Cluster::from_citus_nodes(n, 0), "demo", o),
            "+ Citus cluster: demo ------+---------+-----------+----+-----------+\n"
            "| Group | Member | Host     | Role    | State     | TL | Lag in MB |\n"
            "+-------+--------+----------+---------+-----------+----+-----------+\n"
            "|     0 | c1     | 10.0.0.1 | Leader  | running   |  1 |           |\n"
            "|     0 | + c2   | 10.0.0.2 | Replica | streaming |  1 |         0 |\n"
            "|     1 | w1     | 10.0.1.1 | Leader  | running   |  1 |           |\n"
            "+-------+--------+----------+---------+-----------+----+-----------+\n");
}

}  // namespace
}  // namespace custos::ctl
