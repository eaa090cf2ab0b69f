// End-to-end tests of standby clusters (issue 13 point 5, spec/ha.md §8): a second custos
// cluster whose standby leader follows the first cluster's primary (through a permanent slot
// of the first) while its other member cascades from the standby leader; switchover and
// failover inside the standby cluster; GET /standby-leader; and the promotion of the whole
// cluster by removing standby_cluster from /config. Once on the first cluster's etcd, once on
// an etcd of its own. TLS everywhere: the standby leader's connection to the remote primary
// (and the remote rewind of a demoted cluster) passes `hostssl ... clientcert=verify-full`.
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_cluster.h"

namespace custos::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// The node of `c` holding the leader key, once it also says so on /standby-leader.
int wait_for_standby_leader(TestCluster& c, milliseconds timeout) {
  int found = -1;
  const bool ok = eventually(
      [&] {
        auto leader = c.leader_name();
        if (!leader) return false;
        const int i = c.index_of(*leader);
        if (i < 0 || c.rest_status(i, "/standby-leader") != 200) return false;
        found = i;
        return true;
      },
      timeout);
  if (!ok) throw std::runtime_error("no standby leader in time\n" + c.describe() + c.logs(60));
  return found;
}

bool has_row(TestCluster& c, int i, const std::string& table, int value) {
  return eventually(
      [&] {
        return c.sql_value(i, "SELECT count(*) FROM " + table + " WHERE x = " + std::to_string(value)) ==
               std::optional<std::string>("1");
      },
      60s);
}

void run_standby_cluster_scenario(bool shared_etcd) {
  ClusterOptions po;
  po.nodes = 2;
  po.scope = "e2e-main";
  po.tls = true;
  // The standby cluster streams through this permanent slot (Patroni: create it on the primary
  // cluster yourself, with permanent slots).
  po.dcs_yaml = "    slots:\n      dr_slot:\n        type: physical\n";
  TestCluster main_cluster(po);
  main_cluster.start_all();
  const int mp = main_cluster.wait_for_primary(150s);
  ASSERT_TRUE(main_cluster.sql(mp, "CREATE TABLE t (x int)").ok);
  ASSERT_TRUE(main_cluster.sql(mp, "INSERT INTO t VALUES (1)").ok);
  ASSERT_TRUE(eventually(
      [&] {
        return main_cluster.sql_value(mp, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'dr_slot'") ==
               std::optional<std::string>("1");
      },
      60s));

  ClusterOptions so;
  so.nodes = 2;
  so.scope = "e2e-dr";
  so.tls = true;
  so.ca_of = &main_cluster;  // one CA: the standby leader's replication certificate is trusted there
  if (shared_etcd) so.etcd_of = &main_cluster;
  so.dcs_yaml = "    standby_cluster:\n      host: 127.0.0.1\n      port: " +
                std::to_string(main_cluster.node(mp).pg_port) + "\n      primary_slot_name: dr_slot\n";
  TestCluster dr(so);
  dr.start_all();
  const int sl = wait_for_standby_leader(dr, 180s);
  const int other = 1 - sl;
  EXPECT_EQ(dr.rest_status(sl, "/primary"), 503);
  EXPECT_NE(dr.is_primary_sql(sl), std::optional<bool>(true));
  auto member = json::parse(dr.get_key("members/" + dr.name(sl)).value_or("{}"), nullptr, false);
  EXPECT_EQ(member.value("role", ""), "standby_leader") << member.dump();
  // The standby leader streams from the main primary through dr_slot; the other member from it.
  ASSERT_TRUE(eventually(
      [&] {
        return main_cluster.sql_value(mp, "SELECT active FROM pg_replication_slots WHERE slot_name = 'dr_slot'") ==
               std::optional<std::string>("t");
      },
      90s))
      << dr.describe();
  EXPECT_TRUE(has_row(dr, sl, "t", 1));
  ASSERT_TRUE(eventually(
      [&] {
        return dr.sql_value(sl, "SELECT count(*) FROM pg_stat_replication WHERE application_name = '" +
                                    dr.name(other) + "'") == std::optional<std::string>("1");
      },
      120s))
      << dr.describe() << dr.logs(100);
  ASSERT_TRUE(main_cluster.sql(mp, "INSERT INTO t VALUES (2)").ok);
  EXPECT_TRUE(has_row(dr, other, "t", 2));
  const std::string log = read_file(dr.node(sl).log_file);
  EXPECT_NE(log.find("bootstrap_standby_leader"), std::string::npos);

  // Switchover inside the standby cluster: the other member becomes the standby leader.
  auto r = dr.rest(sl, "POST", "/switchover",
                   json{{"leader", dr.name(sl)}, {"candidate", dr.name(other)}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(wait_for_standby_leader(dr, 90s), other) << dr.describe();
  ASSERT_TRUE(main_cluster.sql(mp, "INSERT INTO t VALUES (3)").ok);
  EXPECT_TRUE(has_row(dr, other, "t", 3));
  EXPECT_TRUE(has_row(dr, sl, "t", 3)) << dr.describe() << dr.logs(80);  // cascades from the new one

  // Failover inside the standby cluster: its standby leader's machine dies.
  dr.kill_node(other);
  ASSERT_EQ(wait_for_standby_leader(dr, 120s), sl) << dr.describe();
  ASSERT_TRUE(main_cluster.sql(mp, "INSERT INTO t VALUES (4)").ok);
  EXPECT_TRUE(has_row(dr, sl, "t", 4)) << dr.describe() << dr.logs(80);
  EXPECT_NE(dr.is_primary_sql(sl), std::optional<bool>(true));

  // Promotion of the whole cluster: standby_cluster removed from /config, by PATCH /config or
  // by `custosctl promote-cluster` (which waits until the leader runs as a primary).
  if (shared_etcd) {
    r = dr.rest(sl, "PATCH", "/config", R"({"standby_cluster": null})");
    ASSERT_EQ(r.status, 200) << r.body;
  } else {
    test::RunResult ctl = test::run_command(
        {TestCluster::custosctl_bin(), "-c", dr.node(sl).config_file, "promote-cluster", "e2e-dr", "--force"}, 150s);
    ASSERT_EQ(ctl.exit_code, 0) << ctl.output;
    EXPECT_NE(ctl.output.find("cluster is successfully promoted"), std::string::npos) << ctl.output;
  }
  ASSERT_TRUE(eventually([&] { return dr.is_primary_sql(sl).value_or(false); }, 90s)) << dr.describe();
  EXPECT_TRUE(eventually([&] { return dr.rest_status(sl, "/primary") == 200; }, 30s));
  EXPECT_TRUE(dr.sql(sl, "INSERT INTO t VALUES (100)").ok);
  EXPECT_EQ(dr.rest_status(sl, "/standby-leader"), 503);
  // The main cluster never noticed: it still has its primary.
  EXPECT_EQ(main_cluster.wait_for_primary(10s), mp);
  if (!shared_etcd) return;

  // And back the other way round (a DR switch): the old main cluster becomes a standby cluster
  // of the promoted one with `custosctl demote-cluster`; its primary, which wrote past the point
  // where the other took over (its shutdown checkpoint at least), is rewound from the remote.
  test::RunResult ctl = test::run_command({TestCluster::custosctl_bin(), "-c", main_cluster.node(mp).config_file,
                                           "demote-cluster", "e2e-main", "--host", "127.0.0.1", "--port",
                                           std::to_string(dr.node(sl).pg_port), "--force"},
                                          180s);
  ASSERT_EQ(ctl.exit_code, 0) << ctl.output << main_cluster.describe() << main_cluster.logs(80);
  EXPECT_NE(ctl.output.find("cluster is successfully demoted"), std::string::npos) << ctl.output;
  const int new_sl = wait_for_standby_leader(main_cluster, 60s);
  ASSERT_TRUE(dr.sql(sl, "INSERT INTO t VALUES (200)").ok);
  EXPECT_TRUE(has_row(main_cluster, new_sl, "t", 200)) << main_cluster.describe() << main_cluster.logs(80);
  EXPECT_TRUE(has_row(main_cluster, 1 - new_sl, "t", 200)) << main_cluster.describe() << main_cluster.logs(80);
}

TEST(StandbyClusterE2E, FollowsTheMainClusterOnOneEtcdAndIsPromoted) { run_standby_cluster_scenario(true); }

TEST(StandbyClusterE2E, FollowsTheMainClusterAcrossTwoEtcds) { run_standby_cluster_scenario(false); }

}  // namespace
}  // namespace custos::e2e
