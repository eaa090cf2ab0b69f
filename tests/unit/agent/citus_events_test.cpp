// A Citus worker's events to its coordinator (spec/citus.md §6), on simulated agents: when it
// first runs as primary (after_promote), around a switchover (before_demote from the old
// primary after its CHECKPOINT, before_promote and after_promote from the new one), each with
// Patroni's body and timeouts, to the coordinator leader's api_url.
#include <gtest/gtest.h>

#include "sim_cluster.h"

namespace custos::test {
namespace {

using nlohmann::json;

dcs::Cluster coordinator_view() {
  dcs::RawNodes nodes(2);
  nodes[0].key = "leader";
  nodes[0].value = "c1";
  nodes[0].version = 1;
  nodes[1].key = "members/c1";
  nodes[1].value = json{{"conn_url", "postgres://c1:5432/citus"}, {"api_url", "https://c1:8008/patroni"},
                        {"state", "running"}, {"role", "primary"}}
                       .dump();
  nodes[1].version = 2;
  return dcs::Cluster::from_nodes(nodes);
}

std::vector<std::string> events(SimNode& n) {
  std::vector<std::string> out;
  for (const auto& e : n.members.citus_events()) {
    auto body = json::parse(e.body);
    EXPECT_EQ(e.api_url, "https://c1:8008/patroni");
    EXPECT_EQ(body["group"], 1);
    EXPECT_EQ(body["leader"], n.name);
    EXPECT_EQ(body["timeout"], 30);   // ttl
    EXPECT_EQ(body["cooldown"], 10);  // retry_timeout
    const std::string type = body["type"];
    EXPECT_EQ(e.timeout.count(), type == "before_demote" ? 30000 : 2000) << type;
    out.push_back(type);
  }
  return out;
}

TEST(CitusWorkerEvents, AWorkerTellsItsCoordinatorWhenItLeadsAndAroundASwitchover) {
  const json citus = {{"citus", {{"group", 1}, {"database", "citus"}}}};
  SimCluster c;
  for (const char* name : {"node1", "node2"}) c.add(name, citus).dcs.set_mpp_coordinator(coordinator_view());
  ASSERT_TRUE(c.rounds_until(
      [&] { return c.leader() == "node1" && c.node("node1").is_primary() && c.node("node2").pg.server().running; }, 60));
  c.round();
  EXPECT_EQ(events(c.node("node1")), std::vector<std::string>{"after_promote"});  // once, not every cycle
  EXPECT_TRUE(events(c.node("node2")).empty());

  c.store.put("failover", R"({"leader":"node1","member":"node2"})");
  ASSERT_TRUE(c.rounds_until([&] { return c.leader() == "node2" && c.node("node2").is_primary(); }, 30));
  c.round();
  EXPECT_EQ(events(c.node("node1")), (std::vector<std::string>{"after_promote", "before_demote"}));
  EXPECT_EQ(events(c.node("node2")), (std::vector<std::string>{"before_promote", "after_promote"}));
}

TEST(CitusWorkerEvents, NoCoordinatorLeaderNoEvent) {
  const json citus = {{"citus", {{"group", 2}, {"database", "citus"}}}};
  SimCluster c;
  c.add("node1", citus).dcs.set_mpp_coordinator(dcs::Cluster());
  ASSERT_TRUE(c.rounds_until([&] { return c.node("node1").is_primary(); }, 60));
  EXPECT_TRUE(c.node("node1").members.citus_events().empty());
}

}  // namespace
}  // namespace custos::test
