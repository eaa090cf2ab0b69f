// Exact `custosctl list` output in every format for Patroni-shaped clusters (ctl.md §3-4):
// healthy cluster, lag (rounded MB, unknown), states, paused, pending restart, scheduled
// restart and switchover, sync standby, standby leader, extended tags, Citus, empty clusters.
#include <gtest/gtest.h>

#include "ctl/member_list.h"
#include "ctl_test_util.h"

namespace custos::ctl {
namespace {

using namespace custos::ctl::test;

ListOptions fmt(OutputFormat f, bool extended = false) {
  ListOptions o;
  o.format = f;
  o.extended = extended;
  o.presentation = PatroniGeneration::v3_3;  // patronictl 3.3's "Lag in MB" table; 4.1 below
  return o;
}

// Leader + two streaming replicas on one host (ports shown), one 5 MB behind.
dcs::Cluster healthy() {
  return cluster({
      {"initialize", "7312345678901234567"},
      {"config", R"({"ttl":30,"loop_wait":10,"postgresql":{"use_pg_rewind":true}})"},
      {"leader", "node1"},
      {"status", R"({"optime":67108864})"},
      {"members/node1", member_value("127.0.0.1:5432", "master", "running", 67108864, 1)},
      {"members/node2", member_value("127.0.0.1:5433", "replica", "running", 67108864, 1,
                                     {{"replication_state", "streaming"}})},
      {"members/node3", member_value("127.0.0.1:5434", "replica", "running", 67108864 - 5 * kMiB, 1,
                                     {{"replication_state", "streaming"}})},
  });
}

TEST(CtlList, PrettyHealthyCluster) {
  EXPECT_EQ(render_members(healthy(), "demo", fmt(OutputFormat::kPretty)),
            "+ Cluster: demo (7312345678901234567) ----------+----+-----------+\n"
            "| Member | Host           | Role    | State     | TL | Lag in MB |\n"
            "+--------+----------------+---------+-----------+----+-----------+\n"
            "| node1  | 127.0.0.1:5432 | Leader  | running   |  1 |           |\n"
            "| node2  | 127.0.0.1:5433 | Replica | streaming |  1 |         0 |\n"
            "| node3  | 127.0.0.1:5434 | Replica | streaming |  1 |         5 |\n"
            "+--------+----------------+---------+-----------+----+-----------+\n");
}

TEST(CtlList, TsvHealthyCluster) {
  EXPECT_EQ(render_members(healthy(), "demo", fmt(OutputFormat::kTsv)),
            "Cluster\tMember\tHost\tRole\tState\tTL\tLag in MB\n"
            "demo\tnode1\t127.0.0.1:5432\tLeader\trunning\t1\t\n"
            "demo\tnode2\t127.0.0.1:5433\tReplica\tstreaming\t1\t0\n"
            "demo\tnode3\t127.0.0.1:5434\tReplica\tstreaming\t1\t5\n");
}

TEST(CtlList, JsonHealthyCluster) {
  EXPECT_EQ(render_members(healthy(), "demo", fmt(OutputFormat::kJson)),
            "[{\"Cluster\": \"demo\", \"Member\": \"node1\", \"Host\": \"127.0.0.1:5432\", \"Role\": \"Leader\", "
            "\"State\": \"running\", \"TL\": 1}, "
            "{\"Cluster\": \"demo\", \"Member\": \"node2\", \"Host\": \"127.0.0.1:5433\", \"Role\": \"Replica\", "
            "\"State\": \"streaming\", \"TL\": 1, \"Lag in MB\": 0}, "
            "{\"Cluster\": \"demo\", \"Member\": \"node3\", \"Host\": \"127.0.0.1:5434\", \"Role\": \"Replica\", "
            "\"State\": \"streaming\", \"TL\": 1, \"Lag in MB\": 5}]\n");
}

TEST(CtlList, YamlHealthyCluster) {
  const std::string expected =
      "- Cluster: demo\n"
      "  Host: 127.0.0.1:5432\n"
      "  Member: node1\n"
      "  Role: Leader\n"
      "  State: running\n"
      "  TL: 1\n"
      "- Cluster: demo\n"
      "  Host: 127.0.0.1:5433\n"
      "  Lag in MB: 0\n"
      "  Member: node2\n"
      "  Role: Replica\n"
      "  State: streaming\n"
      "  TL: 1\n"
      "- Cluster: demo\n"
      "  Host: 127.0.0.1:5434\n"
      "  Lag in MB: 5\n"
      "  Member: node3\n"
      "  Role: Replica\n"
      "  State: streaming\n"
      "  TL: 1\n";
  EXPECT_EQ(render_members(healthy(), "demo", fmt(OutputFormat::kYaml)), expected);
}

// Hosts differ and all use 5432 (no port shown); lag rounding (123.4 -> 123, 2.5 -> 2 like
// Python's round), unknown lag, archive recovery, a member without conn_url, a leader whose
// role says "primary".
dcs::Cluster lagging() {
  const int64_t optime = 200 * kMiB;
  return cluster({
      {"initialize", "7312345678901234567"},
      {"leader", "node1"},
      {"status", "{\"optime\":" + std::to_string(optime) + "}"},
      {"members/node1", member_value("10.0.0.1:5432", "primary", "running", optime, 3)},
      {"members/node2", member_value("10.0.0.2:5432", "replica", "running", optime - 129394278, 3,
                                     {{"replication_state", "streaming"}})},
      {"members/node3", member_value("10.0.0.3:5432", "replica", "running", std::nullopt, std::nullopt,
                                     {{"replication_state", "in archive recovery"}})},
      {"members/node4", R"({"api_url":"http://10.0.0.4:8008/patroni","state":"stopped","role":"replica","version":"3.3.1"})"},
      {"members/node5", member_value("10.0.0.5:5432", "replica", "running", optime - 5 * kMiB / 2, 2,
                                     {{"replication_state", "streaming"}})},
  });
}

TEST(CtlList, PrettyLagUnknownAndHostWithoutPort) {
  EXPECT_EQ(render_members(lagging(), "demo", fmt(OutputFormat::kPretty)),
            "+ Cluster: demo (7312345678901234567) --------------+----+-----------+\n"
            "| Member | Host     | Role    | State               | TL | Lag in MB |\n"
            "+--------+----------+---------+---------------------+----+-----------+\n"
            "| node1  | 10.0.0.1 | Leader  | running             |  3 |           |\n"
            "| node2  | 10.0.0.2 | Replica | streaming           |  3 |       123 |\n"
            "| node3  | 10.0.0.3 | Replica | in archive recovery |    |   unknown |\n"
            "| node4  |          | Replica | stopped             |    |   unknown |\n"
            "| node5  | 10.0.0.5 | Replica | streaming           |  2 |         2 |\n"
            "+--------+----------+---------+---------------------+----+-----------+\n");
}

TEST(CtlList, JsonUnknownLagKeptAndEmptyValuesDropped) {
  EXPECT_EQ(render_members(lagging(), "demo", fmt(OutputFormat::kJson)),
            "[{\"Cluster\": \"demo\", \"Member\": \"node1\", \"Host\": \"10.0.0.1\", \"Role\": \"Leader\", "
            "\"State\": \"running\", \"TL\": 3}, "
            "{\"Cluster\": \"demo\", \"Member\": \"node2\", \"Host\": \"10.0.0.2\", \"Role\": \"Replica\", "
            "\"State\": \"streaming\", \"TL\": 3, \"Lag in MB\": 123}, "
            "{\"Cluster\": \"demo\", \"Member\": \"node3\", \"Host\": \"10.0.0.3\", \"Role\": \"Replica\", "
            "\"State\": \"in archive recovery\", \"Lag in MB\": \"unknown\"}, "
            "{\"Cluster\": \"demo\", \"Member\": \"node4\", \"Role\": \"Replica\", \"State\": \"stopped\", "
            "\"Lag in MB\": \"unknown\"}, "
            "{\"Cluster\": \"demo\", \"Member\": \"node5\", \"Host\": \"10.0.0.5\", \"Role\": \"Replica\", "
            "\"State\": \"streaming\", \"TL\": 2, \"Lag in MB\": 2}]\n");
}

// Paused, with a pending restart (one reason hidden as too long), a scheduled restart and a
// scheduled switchover.
dcs::Cluster maintenance() {
  return cluster({
      {"initialize", "7312345678901234567"},
      {"config", R"({"pause":true})"},
      {"leader", "node1"},
      {"status", R"({"optime":1000})"},
      {"failover", R"({"leader":"node1","member":"node2","scheduled_at":"2026-11-22T06:30:00+00:00"})"},
      {"members/node1", member_value("127.0.0.1:5432", "master", "running", 1000, 2,
                                     {{"pause", true},
                                      {"scheduled_restart",
                                       {{"schedule", "2026-11-22T07:00:00+00:00"},
                                        {"postmaster_start_time", "2026-11-22 05:00:00.000 UTC"},
                                        {"postgres_version", "15.4"}}}})},
      {"members/node2", member_value("127.0.0.1:5433", "replica", "running", 1000, 2,
                                     {{"pause", true},
                                      {"replication_state", "streaming"},
                                      {"pending_restart", true},
                                      {"pending_restart_reason",
                                       {{"max_connections", {{"old_value", "100"}, {"new_value", "200"}}},
                                        {"shared_preload_libraries",
                                         {{"old_value", "pg_stat_statements"},
                                          {"new_value", "pg_stat_statements,auto_explain"}}}}}})},
  });
}

TEST(CtlList, PrettyPausedPendingRestartScheduledSwitchover) {
  EXPECT_EQ(render_members(maintenance(), "demo", fmt(OutputFormat::kPretty)),
            "+ Cluster: demo (7312345678901234567) ----------+----+-----------+-----------------+-----------------------------------------------+---------------------------------------------+\n"
            "| Member | Host           | Role    | State     | TL | Lag in MB | Pending restart | Pending restart reason                        | Scheduled restart                           |\n"
            "+--------+----------------+---------+-----------+----+-----------+-----------------+-----------------------------------------------+---------------------------------------------+\n"
            "| node1  | 127.0.0.1:5432 | Leader  | running   |  2 |           |                 |                                               | 2026-11-22T07:00:00+00:00 if version < 15.4 |\n"
            "+--------+----------------+---------+-----------+----+-----------+-----------------+-----------------------------------------------+---------------------------------------------+\n"
            "| node2  | 127.0.0.1:5433 | Replica | streaming |  2 |         0 | *               | max_connections: 100->200                     |                                             |\n"
            "|        |                |         |           |    |           |                 | shared_preload_libraries: [hidden - too long] |                                             |\n"
            "+--------+----------------+---------+-----------+----+-----------+-----------------+-----------------------------------------------+---------------------------------------------+\n"
            " Maintenance mode: on\n"
            " Switchover scheduled at: 2026-11-22T06:30:00+00:00\n"
            "                    from: node1\n"
            "                      to: node2\n");
}

TEST(CtlList, MachineFormatsKeepFullRestartReasonAndSkipServiceInfo) {
  const std::string tsv = render_members(maintenance(), "demo", fmt(OutputFormat::kTsv));
  EXPECT_EQ(tsv,
            "Cluster\tMember\tHost\tRole\tState\tTL\tLag in MB\tPending restart\tPending restart reason\tScheduled restart\n"
            "demo\tnode1\t127.0.0.1:5432\tLeader\trunning\t2\t\t\t\t2026-11-22T07:00:00+00:00 if version < 15.4\n"
            "demo\tnode2\t127.0.0.1:5433\tReplica\tstreaming\t2\t0\t*\tmax_connections: 100->200\n"
            "shared_preload_libraries: pg_stat_statements->pg_stat_statements,auto_explain\t\n");
  auto parsed = nlohmann::json::parse(render_members(maintenance(), "demo", fmt(OutputFormat::kJson)));
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0]["Scheduled restart"], "2026-11-22T07:00:00+00:00 if version < 15.4");
  EXPECT_FALSE(parsed[0].contains("Pending restart"));
  EXPECT_EQ(parsed[1]["Pending restart"], "*");
  EXPECT_EQ(parsed[1]["Pending restart reason"],
            "max_connections: 100->200\nshared_preload_libraries: pg_stat_statements->pg_stat_statements,auto_explain");
  const std::string yaml = render_members(maintenance(), "demo", fmt(OutputFormat::kYaml));
  EXPECT_NE(yaml.find("  Pending restart: '*'\n"), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find("Maintenance"), std::string::npos);
}

TEST(CtlList, SyncStandbyOnlyInSynchronousMode) {
  auto make = [](const std::string& config) {
    return cluster({
        {"initialize", "7312345678901234567"},
        {"config", config},
        {"leader", "node1"},
        {"sync", R"({"leader":"node1","sync_standby":"node2"})"},
        {"status", R"({"optime":500})"},
        {"members/node1", member_value("10.0.0.1:5432", "master", "running", 500, 1)},
        {"members/node2", member_value("10.0.0.2:5432", "replica", "running", 500, 1, {{"replication_state", "streaming"}})},
        {"members/node3", member_value("10.0.0.3:5432", "replica", "running", 500, 1, {{"replication_state", "streaming"}})},
    });
  };
  EXPECT_EQ(render_members(make(R"({"synchronous_mode":true})"), "demo", fmt(OutputFormat::kPretty)),
            "+ Cluster: demo (7312345678901234567) ---------+----+-----------+\n"
            "| Member | Host     | Role         | State     | TL | Lag in MB |\n"
            "+--------+----------+--------------+-----------+----+-----------+\n"
            "| node1  | 10.0.0.1 | Leader       | running   |  1 |           |\n"
            "| node2  | 10.0.0.2 | Sync Standby | streaming |  1 |         0 |\n"
            "| node3  | 10.0.0.3 | Replica      | streaming |  1 |         0 |\n"
            "+--------+----------+--------------+-----------+----+-----------+\n");
  const std::string async = render_members(make(R"({"synchronous_mode":false})"), "demo", fmt(OutputFormat::kTsv));
  EXPECT_EQ(async.find("Sync Standby"), std::string::npos) << async;
  // Patroni 4 quorum commit: the members of /sync are quorum standbys.
  const std::string quorum = render_members(make(R"({"synchronous_mode":"quorum"})"), "demo", fmt(OutputFormat::kTsv));
  EXPECT_NE(quorum.find("node2\t10.0.0.2\tQuorum Standby\t"), std::string::npos) << quorum;
  EXPECT_EQ(quorum.find("Sync Standby"), std::string::npos) << quorum;
}

TEST(CtlList, StandbyClusterLeader) {
  auto c = cluster({
      {"initialize", "7312345678901234567"},
      {"config", R"({"standby_cluster":{"host":"10.1.0.1","port":5432}})"},
      {"leader", "node1"},
      {"members/node1", member_value("10.0.0.1:5432", "standby_leader", "running", 100, 4,
                                     {{"replication_state", "streaming"}})},
      {"members/node2", member_value("10.0.0.2:5432", "replica", "running", 100, 4, {{"replication_state", "streaming"}})},
  });
  // The standby leader shows its replication_state (only the "leader" role hides it).
  EXPECT_EQ(render_members(c, "demo", fmt(OutputFormat::kTsv)),
            "Cluster\tMember\tHost\tRole\tState\tTL\tLag in MB\n"
            "demo\tnode1\t10.0.0.1\tStandby Leader\tstreaming\t4\t\n"
            "demo\tnode2\t10.0.0.2\tReplica\tstreaming\t4\t0\n");
}

TEST(CtlList, ExtendedShowsOptionalColumnsAndTagsAsYaml) {
  auto c = cluster({
      {"initialize", "7312345678901234567"},
      {"leader", "node1"},
      {"status", R"({"optime":500})"},
      {"members/node1", member_value("10.0.0.1:5432", "master", "running", 500, 1)},
      {"members/node2", member_value("10.0.0.2:5432", "replica", "running", 500, 1,
                                     {{"replication_state", "streaming"},
                                      {"tags", {{"replicatefrom", "node1"}, {"nofailover", true}}}})},
  });
  EXPECT_EQ(render_members(c, "demo", fmt(OutputFormat::kPretty, true)),
            "+ Cluster: demo (7312345678901234567) ----+----+-----------+-----------------+------------------------+-------------------+----------------------+\n"
            "| Member | Host     | Role    | State     | TL | Lag in MB | Pending restart | Pending restart reason | Scheduled restart | Tags                 |\n"
            "+--------+----------+---------+-----------+----+-----------+-----------------+------------------------+-------------------+----------------------+\n"
            "| node1  | 10.0.0.1 | Leader  | running   |  1 |           |                 |                        |                   |                      |\n"
            "+--------+----------+---------+-----------+----+-----------+-----------------+------------------------+-------------------+----------------------+\n"
            "| node2  | 10.0.0.2 | Replica | streaming |  1 |         0 |                 |                        |                   | nofailover: true     |\n"
            "|        |          |         |           |    |           |                 |                        |                   | replicatefrom: node1 |\n"
            "+--------+----------+---------+-----------+----+-----------+-----------------+------------------------+-------------------+----------------------+\n");
  // Tags alone make the column appear (without -e); tsv uses YAML flow style; json the object.
  EXPECT_EQ(render_members(c, "demo", fmt(OutputFormat::kTsv)),
            "Cluster\tMember\tHost\tRole\tState\tTL\tLag in MB\tTags\n"
            "demo\tnode1\t10.0.0.1\tLeader\trunning\t1\t\t\n"
            "demo\tnode2\t10.0.0.2\tReplica\tstreaming\t1\t0\t{nofailover: true, replicatefrom: node1}\n");
  auto j = nlohmann::json::parse(render_members(c, "demo", fmt(OutputFormat::kJson)));
  EXPECT_EQ(j[1]["Tags"], (nlohmann::json{{"nofailover", true}, {"replicatefrom", "node1"}}));
  EXPECT_FALSE(j[0].contains("Tags"));
}

TEST(CtlList, UninitializedAndInitializing) {
  EXPECT_EQ(render_members(dcs::Cluster::empty(), "ghost", fmt(OutputFormat::kPretty)),
            "+ Cluster: ghost (uninitialized) ---+-----------+\n"
            "| Member | Host | Role | State | TL | Lag in MB |\n"
            "+--------+------+------+-------+----+-----------+\n"
            "+--------+------+------+-------+----+-----------+\n");
  EXPECT_EQ(render_members(dcs::Cluster::empty(), "ghost", fmt(OutputFormat::kJson)), "[]\n");
  EXPECT_EQ(render_members(dcs::Cluster::empty(), "ghost", fmt(OutputFormat::kYaml)), "[]\n");
  EXPECT_EQ(render_members(dcs::Cluster::empty(), "ghost", fmt(OutputFormat::kTsv)),
            "Cluster\tMember\tHost\tRole\tState\tTL\tLag in MB\n");

  auto booting = cluster({{"initialize", ""},
                          {"leader", "node1"},
                          {"members/node1", member_value("10.0.0.1:5432", "master", "initializing new cluster",
                                                         std::nullopt, std::nullopt)}});
  EXPECT_EQ(render_members(booting, "demo", fmt(OutputFormat::kPretty)),
            "+ Cluster: demo (initializing) -------------------------+----+-----------+\n"
            "| Member | Host     | Role   | State                    | TL | Lag in MB |\n"
            "+--------+----------+--------+--------------------------+----+-----------+\n"
            "| node1  | 10.0.0.1 | Leader | initializing new cluster |    |           |\n"
            "+--------+----------+--------+--------------------------+----+-----------+\n");
}

// A Citus coordinator (group 0) with two worker groups, as the coordinator view reads them.
dcs::RawNodes citus_nodes() {
  return nodes({
      {"0/initialize", "7000000000000000000"},
      {"0/leader", "coord1"},
      {"0/status", R"({"optime":100})"},
      {"0/members/coord1", member_value("10.0.0.1:5432", "master", "running", 100, 1)},
      {"0/members/coord2", member_value("10.0.0.2:5432", "replica", "running", 100, 1, {{"replication_state", "streaming"}})},
      {"1/initialize", "7000000000000000001"},
      {"1/leader", "work1"},
      {"1/config", R"({"pause":true})"},
      {"1/status", R"({"optime":100})"},
      {"1/members/work1", member_value("10.0.1.1:5432", "master", "running", 100, 2)},
      {"2/initialize", "7000000000000000002"},
      {"2/leader", "work2"},
      {"2/members/work2", member_value("10.0.2.1:5432", "master", "running", 100, 1)},
  });
}

TEST(CtlList, CitusAllGroups) {
  ListOptions o = fmt(OutputFormat::kPretty);
  o.citus = true;
  EXPECT_EQ(render_members(dcs::Cluster::from_citus_nodes(citus_nodes(), 0), "demo", o),
            "+ Citus cluster: demo ------+---------+-----------+----+-----------+\n"
            "| Group | Member | Host     | Role    | State     | TL | Lag in MB |\n"
            "+-------+--------+----------+---------+-----------+----+-----------+\n"
            "|     0 | coord1 | 10.0.0.1 | Leader  | running   |  1 |           |\n"
            "|     0 | coord2 | 10.0.0.2 | Replica | streaming |  1 |         0 |\n"
            "|     1 | work1  | 10.0.1.1 | Leader  | running   |  2 |           |\n"
            "|     2 | work2  | 10.0.2.1 | Leader  | running   |  1 |           |\n"
            "+-------+--------+----------+---------+-----------+----+-----------+\n"
            "Citus group: 1\n"
            " Maintenance mode: on\n");
  o.format = OutputFormat::kTsv;
  EXPECT_EQ(render_members(dcs::Cluster::from_citus_nodes(citus_nodes(), 0), "demo", o),
            "Cluster\tGroup\tMember\tHost\tRole\tState\tTL\tLag in MB\n"
            "demo\t0\tcoord1\t10.0.0.1\tLeader\trunning\t1\t\n"
            "demo\t0\tcoord2\t10.0.0.2\tReplica\tstreaming\t1\t0\n"
            "demo\t1\twork1\t10.0.1.1\tLeader\trunning\t2\t\n"
            "demo\t2\twork2\t10.0.2.1\tLeader\trunning\t1\t\n");
  o.format = OutputFormat::kJson;
  auto j = nlohmann::json::parse(render_members(dcs::Cluster::from_citus_nodes(citus_nodes(), 0), "demo", o));
  ASSERT_EQ(j.size(), 4u);
  EXPECT_EQ(j[2]["Group"], 1);
}

TEST(CtlList, CitusOneGroup) {
  ListOptions o = fmt(OutputFormat::kPretty);
  o.citus = true;
  o.group = 1;
  EXPECT_EQ(render_members(dcs::Cluster::from_citus_nodes(citus_nodes(), 1), "demo", o),
            "+ Citus cluster: demo (group: 1, 7000000000000000001) --+\n"
            "| Member | Host     | Role   | State   | TL | Lag in MB |\n"
            "+--------+----------+--------+---------+----+-----------+\n"
            "| work1  | 10.0.1.1 | Leader | running |  2 |           |\n"
            "+--------+----------+--------+---------+----+-----------+\n"
            " Maintenance mode: on\n");
  o.format = OutputFormat::kTsv;
  EXPECT_EQ(render_members(dcs::Cluster::from_citus_nodes(citus_nodes(), 1), "demo", o),
            "Cluster\tGroup\tMember\tHost\tRole\tState\tTL\tLag in MB\n"
            "demo\t1\twork1\t10.0.1.1\tLeader\trunning\t2\t\n");
}

TEST(CtlList, GarbageNeverThrows) {
  auto c = cluster({
      {"initialize", "7312345678901234567"},
      {"leader", "node1"},
      {"status", "not json"},
      {"members/node1", "[1,2,3]"},
      {"members/node2", R"({"conn_url":5,"state":{"x":1},"timeline":"abc","xlog_location":"zz",
                           "pending_restart_reason":[1],"scheduled_restart":7,"tags":"notadict"})"},
      {"members/node3", R"({"conn_url":"postgres://h:notaport/x","pending_restart_reason":{"a":5,"b":{"old_value":1}}})"},
      {"members/bad\xff\xfename", R"({"conn_url":"postgres://h:1/x","tags":{"replicatefrom":"bad\u0000"}})"},
      {"members/node4", R"({"conn_url":"postgres://[::1]:5433/x","timeline":1.5,"tags":{"x":[1,{"y":null}]}})"},
  });
  for (auto f : {OutputFormat::kPretty, OutputFormat::kTsv, OutputFormat::kJson, OutputFormat::kYaml,
                 OutputFormat::kTopology}) {
    for (bool ext : {false, true}) {
      for (const char* name : {"demo", "de\xffmo"}) {
        std::string out;
        EXPECT_NO_THROW(out = render_members(c, name, fmt(f, ext)));
        EXPECT_NE(out.find("node2"), std::string::npos) << out;
      }
    }
  }
}

TEST(CtlList, ParseOutputFormat) {
  EXPECT_EQ(parse_output_format("yml"), OutputFormat::kYaml);
  EXPECT_EQ(parse_output_format("pretty"), OutputFormat::kPretty);
  EXPECT_FALSE(parse_output_format("xml"));
}

// patronictl 4.1: Receive LSN / Lag / Replay LSN / Lag; a member publishing only xlog_location
// (Patroni 3.x, custos presenting 3.3) has its position under Receive while it streams.
dcs::Cluster healthy_41() {
  return cluster({
      {"initialize", "7312345678901234567"},
      {"leader", "node1"},
      {"status", R"({"optime":67108864})"},
      {"members/node1", member_value("127.0.0.1:5432", "primary", "running", 67108864, 1)},
      {"members/node2", member_value("127.0.0.1:5433", "replica", "running", 67108864, 1,
                                     {{"replication_state", "streaming"},
                                      {"receive_lsn", 67108864},
                                      {"replay_lsn", 67108864 - 3 * kMiB}})},
      {"members/node3", member_value("127.0.0.1:5434", "replica", "running", 67108864 - 5 * kMiB, 1,
                                     {{"replication_state", "streaming"}})},
      {"members/node4", member_value("127.0.0.1:5435", "replica", "stopped", std::nullopt, 1)},
  });
}

TEST(CtlList, Patroni41ColumnsWithReceiveAndReplayPositions) {
  ListOptions o = fmt(OutputFormat::kPretty);
  o.presentation = PatroniGeneration::v4_1;
  EXPECT_EQ(render_members(healthy_41(), "demo", o),
            "+ Cluster: demo (7312345678901234567) ----------+----+-------------+-----+------------+-----+\n"
            "| Member | Host           | Role    | State     | TL | Receive LSN | Lag | Replay LSN | Lag |\n"
            "+--------+----------------+---------+-----------+----+-------------+-----+------------+-----+\n"
            "| node1  | 127.0.0.1:5432 | Leader  | running   |  1 |             |     |            |     |\n"
            "| node2  | 127.0.0.1:5433 | Replica | streaming |  1 |   0/4000000 |   0 |  0/3D00000 |   3 |\n"
            "| node3  | 127.0.0.1:5434 | Replica | streaming |  1 |   0/3B00000 |   5 |    unknown |     |\n"
            "| node4  | 127.0.0.1:5435 | Replica | stopped   |  1 |     unknown |     |    unknown |     |\n"
            "+--------+----------------+---------+-----------+----+-------------+-----+------------+-----+\n");
  o.format = OutputFormat::kTsv;
  EXPECT_EQ(render_members(healthy_41(), "demo", o),
            "Cluster\tMember\tHost\tRole\tState\tTL\tReceive LSN\tReceive Lag\tReplay LSN\tReplay Lag\n"
            "demo\tnode1\t127.0.0.1:5432\tLeader\trunning\t1\t\t\t\t\n"
            "demo\tnode2\t127.0.0.1:5433\tReplica\tstreaming\t1\t0/4000000\t0\t0/3D00000\t3\n"
            "demo\tnode3\t127.0.0.1:5434\tReplica\tstreaming\t1\t0/3B00000\t5\tunknown\t\n"
            "demo\tnode4\t127.0.0.1:5435\tReplica\tstopped\t1\tunknown\t\tunknown\t\n");
}

}  // namespace
}  // namespace custos::ctl
