// The request handler against snapshots of typical situations: the §3 health-check table,
// /patroni, /liveness, /readiness, /cluster, /history, /config, /failsafe, /metrics.
#include <gtest/gtest.h>

#include "fixtures.h"

namespace custos::api::test {
namespace {

struct Row {
  const char* path;
  int expected;
};

void expect_rows(TestSource& src, const std::vector<Row>& rows, const char* situation) {
  for (const auto& row : rows) {
    EXPECT_EQ(code(src, row.path), row.expected) << situation << " GET " << row.path;
    // HEAD and OPTIONS evaluate the same, reply with the bare status line.
    for (const char* m : {"HEAD", "OPTIONS"}) {
      Response r = run(src, m, row.path);
      EXPECT_EQ(r.status, row.expected) << situation << " " << m << " " << row.path;
      EXPECT_TRUE(r.status_line_only);
      EXPECT_EQ(serialize(r), "HTTP/1.0 " + std::to_string(row.expected) + " " + reason_phrase(row.expected) +
                                  "\r\n\r\n");
    }
  }
}

TEST(HealthCheck, PrimaryRows) {
  TestSource src;
  src.snap = primary_snapshot();
  expect_rows(src,
              {{"/", 200},
               {"/primary", 200},
               {"/master", 200},
               {"/read-write", 200},
               {"/leader", 200},
               {"/standby-leader", 503},
               {"/standby_leader", 503},
               {"/replica", 503},
               {"/read-only", 200},
               {"/health", 200},
               {"/sync", 503},
               {"/synchronous", 503},
               {"/async", 503},
               {"/asynchronous", 503},
               {"/read-only-sync", 200},
               {"/read-only-synchronous", 200},
               {"/foo", 503},
               {"/foo/primary", 200}},
              "primary");
  // HEAD /liveness goes through the generic matcher (503 here), unlike GET /liveness.
  EXPECT_EQ(run(src, "HEAD", "/liveness").status, 503);
  EXPECT_EQ(run(src, "GET", "/liveness").status, 200);
  // GET returns the status JSON as body with the computed code.
  Response r = run(src, "GET", "/primary");
  EXPECT_EQ(r.headers.at(0), (std::pair<std::string, std::string>{"Content-Type", "application/json"}));
  EXPECT_EQ(json::parse(r.body)["role"], "master");
}

TEST(HealthCheck, ReplicaRows) {
  TestSource src;
  src.snap = replica_snapshot();
  expect_rows(src,
              {{"/", 503},
               {"/primary", 503},
               {"/master", 503},
               {"/read-write", 503},
               {"/leader", 503},
               {"/standby-leader", 503},
               {"/replica", 200},
               {"/read-only", 200},
               {"/health", 200},
               {"/sync", 503},
               {"/async", 200},
               {"/asynchronous", 200},
               {"/read-only-sync", 503},
               {"/anything", 503}},
              "async replica");
}

TEST(HealthCheck, SyncReplicaRows) {
  TestSource src;
  src.snap = replica_snapshot();
  src.snap.synchronous_mode = true;
  src.snap.cluster = std::make_shared<const dcs::Cluster>(make_cluster(R"({"ttl":30,"synchronous_mode":true})", R"({"leader":"node1","sync_standby":"node2"})"));
  expect_rows(src,
              {{"/sync", 200},
               {"/synchronous", 200},
               {"/async", 503},
               {"/read-only-sync", 200},
               {"/read-only-synchronous", 200},
               {"/replica", 200}},
              "sync replica");
  EXPECT_EQ(json::parse(run(src, "GET", "/sync").body)["sync_standby"], true);
  // A stale DCS view: the sync rows need a cluster; /replica does not.
  src.snap.cluster_loaded_at = kNow - 31;
  expect_rows(src, {{"/sync", 503}, {"/async", 503}, {"/read-only-sync", 503}, {"/replica", 200}},
              "sync replica, stale cluster");
}

// Patroni 4 quorum commit: a member of /sync is a quorum standby, not a sync standby.
TEST(HealthCheck, QuorumReplicaRows) {
  TestSource src;
  src.snap = replica_snapshot();
  src.snap.synchronous_mode = true;
  src.snap.quorum_commit = true;
  src.snap.cluster = std::make_shared<const dcs::Cluster>(make_cluster(R"({"ttl":30,"synchronous_mode":"quorum"})",
                                  R"({"leader":"node1","quorum":1,"sync_standby":"node2,node3"})"));
  expect_rows(src,
              {{"/quorum", 200},
               {"/read-only-quorum", 200},
               {"/sync", 503},
               {"/read-only-sync", 503},
               {"/async", 503},
               {"/asynchronous", 503},
               {"/replica", 200},
               {"/read-only", 200}},
              "quorum replica");
  const json body = json::parse(run(src, "GET", "/quorum").body);
  EXPECT_EQ(body["quorum_standby"], true);
  EXPECT_FALSE(body.contains("sync_standby"));
  // Not among the voters: an asynchronous replica.
  src.snap.cluster = std::make_shared<const dcs::Cluster>(make_cluster(R"({"ttl":30,"synchronous_mode":"quorum"})",
                                  R"({"leader":"node1","quorum":0,"sync_standby":"node3"})"));
  expect_rows(src, {{"/quorum", 503}, {"/read-only-quorum", 503}, {"/async", 200}}, "async replica, quorum mode");
  // The primary answers the read-only variant only.
  TestSource primary;
  primary.snap = primary_snapshot();
  expect_rows(primary, {{"/quorum", 503}, {"/read-only-quorum", 200}}, "primary");
}

TEST(HealthCheck, StandbyLeaderRows) {
  TestSource src;
  src.snap = standby_leader_snapshot();
  expect_rows(src,
              {{"/standby-leader", 200},
               {"/standby_leader", 200},
               {"/leader", 200},
               {"/primary", 503},
               {"/", 503},
               {"/read-write", 503},
               {"/replica", 503},
               {"/read-only", 200},
               {"/health", 200}},
              "standby leader");
  EXPECT_EQ(json::parse(run(src, "GET", "/patroni").body)["role"], "standby_leader");
}

TEST(HealthCheck, LockLostPrimaryIsNotPrimary) {
  TestSource src;
  src.snap = primary_snapshot();
  src.snap.leader_lock_valid_until = kNow - 1;
  expect_rows(src, {{"/primary", 503}, {"/leader", 503}, {"/read-only", 503}, {"/health", 200}},
              "primary without lock");
}

TEST(HealthCheck, PausedWithStaleCluster) {
  TestSource src;
  src.snap = primary_snapshot();
  src.snap.paused = true;
  src.snap.leader_lock_valid_until = 0;
  src.snap.cluster_loaded_at = kNow - 100;  // older than ttl: cluster is None
  expect_rows(src, {{"/primary", 200}, {"/leader", 200}, {"/standby-leader", 503}, {"/replica", 503}},
              "paused primary, DCS down");
  src.snap.paused = false;
  expect_rows(src, {{"/primary", 503}, {"/leader", 503}}, "unpaused primary, DCS down, lock expired");

  TestSource sl;
  sl.snap = standby_leader_snapshot();
  sl.snap.paused = true;
  sl.snap.leader_lock_valid_until = 0;
  sl.snap.cluster_loaded_at = 0;
  sl.snap.cluster.reset();
  expect_rows(sl, {{"/standby-leader", 200}, {"/leader", 200}, {"/primary", 503}}, "paused standby leader");
}

TEST(HealthCheck, ReplicaNotRunningOrNoLoadBalance) {
  TestSource src;
  src.snap = replica_snapshot();
  src.snap.pg.state = "starting";
  EXPECT_EQ(code(src, "/replica"), 503);
  EXPECT_EQ(code(src, "/health"), 503);
  src.snap = replica_snapshot();
  src.snap.tags["noloadbalance"] = true;
  EXPECT_EQ(code(src, "/replica"), 503);
  EXPECT_EQ(code(src, "/read-only"), 503);
  src.snap.tags["noloadbalance"] = false;
  EXPECT_EQ(code(src, "/replica"), 200);
}

TEST(HealthCheck, LagFilter) {
  TestSource src;
  src.snap = replica_snapshot();  // optime 100000, replayed 98000: 2000 bytes behind
  EXPECT_EQ(code(src, "/replica?lag=1000"), 503);
  EXPECT_EQ(code(src, "/replica?lag=2000"), 200);
  EXPECT_EQ(code(src, "/replica?lag=1kB"), 503);
  EXPECT_EQ(code(src, "/replica?lag=2kB"), 200);
  EXPECT_EQ(code(src, "/replica?lag=1MB"), 200);
  EXPECT_EQ(code(src, "/replica?lag=1GB"), 200);
  EXPECT_EQ(code(src, "/replica?lag=bogus"), 200);  // invalid: unlimited
  EXPECT_EQ(code(src, "/replica?lag="), 200);
  EXPECT_EQ(code(src, "/replica?lag=10XB"), 200);
  EXPECT_EQ(code(src, "/read-only?lag=1000"), 503);
  EXPECT_EQ(code(src, "/async?lag=1000"), 503);
  EXPECT_EQ(code(src, "/replica?lag=1000&lag=1MB"), 503);  // first value wins
  // The lag uses the cluster's optime, which is unknown (0) without a fresh view.
  src.snap.cluster_loaded_at = kNow - 100;
  EXPECT_EQ(code(src, "/replica?lag=1000"), 200);
}

TEST(HealthCheck, ParseLagUnits) {
  EXPECT_EQ(parse_lag("1048576"), 1048576);
  EXPECT_EQ(parse_lag("1024kB"), 1048576);
  EXPECT_EQ(parse_lag("10MB"), 10485760);
  EXPECT_EQ(parse_lag("1GB"), 1073741824);
  EXPECT_EQ(parse_lag("1.5MB"), 1572864);
  EXPECT_EQ(parse_lag(" 16 MB "), 16777216);
  EXPECT_EQ(parse_lag("0"), 0);
  EXPECT_FALSE(parse_lag(""));
  EXPECT_FALSE(parse_lag("MB"));
  EXPECT_FALSE(parse_lag("10mb"));  // PostgreSQL unit names are case-sensitive
  EXPECT_FALSE(parse_lag("1e3"));
  EXPECT_FALSE(parse_lag("99999999999999999999999GB"));
}

TEST(HealthCheck, TagFilters) {
  TestSource src;
  src.snap = replica_snapshot();
  EXPECT_EQ(code(src, "/replica?tag_zone=a"), 200);
  EXPECT_EQ(code(src, "/replica?tag_zone=b"), 503);
  EXPECT_EQ(code(src, "/replica?tag_nofailover=true"), 200);  // bool compared as lowercase string
  EXPECT_EQ(code(src, "/replica?tag_nofailover=True"), 503);
  EXPECT_EQ(code(src, "/replica?tag_weight=1.4"), 200);
  EXPECT_EQ(code(src, "/replica?tag_priority=3"), 200);
  EXPECT_EQ(code(src, "/replica?tag_missing=x"), 503);
  EXPECT_EQ(code(src, "/replica?tag_zone=a&tag_weight=2"), 503);
  EXPECT_EQ(code(src, "/replica?tag_zone=a&tag_zone=b"), 200);  // first value wins
  EXPECT_EQ(code(src, "/replica?tag_zone="), 200);               // blank values are dropped
  EXPECT_EQ(code(src, "/read-only?tag_zone=b"), 503);
  EXPECT_EQ(code(src, "/health?tag_zone=b"), 503);
  EXPECT_EQ(code(src, "/async?tag_zone=b"), 503);
  EXPECT_EQ(code(src, "/replica?other=1"), 200);  // other parameters are ignored
  // Leader/primary rows ignore tag filters.
  TestSource p;
  p.snap = primary_snapshot();
  EXPECT_EQ(code(p, "/primary?tag_zone=nowhere"), 200);
  EXPECT_EQ(code(p, "/leader?tag_zone=nowhere"), 200);
  EXPECT_EQ(code(p, "/read-only?tag_zone=nowhere"), 503);
}

TEST(StatusJson, PrimaryExactFields) {
  TestSource src;
  src.snap = primary_snapshot();
  Response r = run(src, "GET", "/patroni");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at(0).second, "application/json");
  json expected = {
      {"state", "running"},
      {"postmaster_start_time", "2023-11-14 22:13:20.500000+00:00"},
      {"role", "master"},
      {"server_version", 150004},
      {"xlog", {{"location", 100000}}},
      {"timeline", 2},
      {"replication",
       json::array({{{"usename", "replicator"},
                     {"application_name", "node2"},
                     {"client_addr", "10.0.0.2"},
                     {"state", "streaming"},
                     {"sync_state", "async"},
                     {"sync_priority", 0}}})},
      {"dcs_last_seen", 1699999999},
      {"database_system_identifier", "7301234567890123456"},
      {"patroni", {{"version", "3.3.1"}, {"scope", "demo"}, {"name", "node1"}}},
      {"custos", {{"lease_remaining", 29.0}}},
  };
  EXPECT_EQ(json::parse(r.body), expected) << r.body;
  // With the lease fence armed, when it would act.
  src.snap.fence_deadline = kNow + 27.5;
  EXPECT_EQ(json::parse(run(src, "GET", "/patroni").body)["custos"], json({{"lease_remaining", 29.0}, {"fence_in", 27.5}}));
  src.snap.fence_deadline = 0;
  // A live status is preferred over the cached one.
  src.live = src.snap.pg;
  src.live->flush_lsn = 123456;
  EXPECT_EQ(json::parse(run(src, "GET", "/patroni").body)["xlog"]["location"], 123456);
  EXPECT_EQ(src.live_calls.load(), 3);  // one live query per request
}

TEST(StatusJson, ReplicaExactFields) {
  TestSource src;
  src.snap = replica_snapshot();
  src.snap.paused = true;
  src.snap.pending_restart = true;
  src.snap.pending_restart_reason = {{"max_connections", {{"old_value", "100"}, {"new_value", "200"}}}};
  src.snap.scheduled_restart = json{{"schedule", "2023-11-15T00:00:00+00:00"}, {"postmaster_start_time", "x"}};
  src.snap.watchdog_failed = true;
  src.snap.failsafe_mode_is_active = true;
  json expected = {
      {"state", "running"},
      {"postmaster_start_time", "2023-11-14 22:13:21.000000+00:00"},
      {"role", "replica"},
      {"server_version", 150004},
      {"xlog",
       {{"received_location", 99000},
        {"replayed_location", 98000},
        {"replayed_timestamp", "2023-11-14 22:20:00.250000+00:00"},
        {"paused", false}}},
      {"timeline", 2},
      {"replication_state", "streaming"},
      {"pause", true},
      {"failsafe_mode_is_active", true},
      {"dcs_last_seen", 1699999999},
      {"tags", {{"zone", "a"}, {"nofailover", true}, {"weight", 1.4}, {"priority", 3}}},
      {"database_system_identifier", "7301234567890123456"},
      {"pending_restart", true},
      {"pending_restart_reason", {{"max_connections", {{"old_value", "100"}, {"new_value", "200"}}}}},
      {"patroni", {{"version", "3.3.1"}, {"scope", "demo"}, {"name", "node2"}}},
      {"scheduled_restart", {{"schedule", "2023-11-15T00:00:00+00:00"}}},
      {"watchdog_failed", true},
  };
  EXPECT_EQ(json::parse(run(src, "GET", "/patroni").body), expected);
  // received_location falls back to replayed_location; a null replay timestamp stays null.
  src.snap.pg.receive_lsn.reset();
  src.snap.pg.replayed_timestamp.reset();
  json x = json::parse(run(src, "GET", "/patroni").body)["xlog"];
  EXPECT_EQ(x["received_location"], 98000);
  EXPECT_TRUE(x["replayed_timestamp"].is_null());
}

TEST(StatusJson, QueryFailureAndUnlocked) {
  TestSource src;
  src.snap = replica_snapshot();
  src.snap.pg.query_ok = false;
  src.snap.cluster = std::make_shared<const dcs::Cluster>(make_cluster(R"({"ttl":30})", "", "", /*with_leader=*/false));
  json j = json::parse(run(src, "GET", "/patroni").body);
  EXPECT_EQ(j["state"], "unknown");
  EXPECT_EQ(j["role"], "replica");
  EXPECT_FALSE(j.contains("xlog"));
  EXPECT_FALSE(j.contains("server_version"));
  EXPECT_EQ(j["cluster_unlocked"], true);
  EXPECT_EQ(j["patroni"]["name"], "node2");
  // Stopped PostgreSQL: no live query is attempted.
  src.snap.pg.state = "stopped";
  int calls = src.live_calls;
  j = json::parse(run(src, "GET", "/patroni").body);
  EXPECT_EQ(j["state"], "stopped");
  EXPECT_EQ(src.live_calls.load(), calls);
  // No DCS view at all.
  src.snap.cluster.reset();
  src.snap.cluster_loaded_at = 0;
  src.snap.dcs_last_seen = 0;
  j = json::parse(run(src, "GET", "/patroni").body);
  EXPECT_EQ(j["cluster_unlocked"], true);
  EXPECT_EQ(j["dcs_last_seen"], 0);
}

TEST(Liveness, Rules) {
  TestSource src;
  src.snap = primary_snapshot();
  Response r = run(src, "GET", "/liveness");
  EXPECT_TRUE(r.status_line_only);
  EXPECT_EQ(serialize(r), "HTTP/1.0 200 OK\r\n\r\n");
  src.snap.next_run = kNow - 25;  // primary threshold: ttl
  EXPECT_EQ(code(src, "/liveness"), 200);
  src.snap.next_run = kNow - 31;
  EXPECT_EQ(code(src, "/liveness"), 503);
  src.snap.paused = true;
  EXPECT_EQ(code(src, "/liveness"), 200);
  src.snap = replica_snapshot();  // replica threshold: 2 x ttl
  src.snap.next_run = kNow - 31;
  EXPECT_EQ(code(src, "/liveness"), 200);
  src.snap.next_run = kNow - 61;
  EXPECT_EQ(code(src, "/liveness"), 503);
}

TEST(Readiness, Rules) {
  TestSource src;
  src.snap = primary_snapshot();
  src.snap.cluster_loaded_at = kNow - 100;  // leader: ready even with a stale view
  EXPECT_EQ(serialize(run(src, "GET", "/readiness")), "HTTP/1.0 200 OK\r\n\r\n");
  src.snap = replica_snapshot();
  EXPECT_EQ(code(src, "/readiness"), 200);
  src.snap.cluster_loaded_at = kNow - 31;
  EXPECT_EQ(serialize(run(src, "GET", "/readiness")), "HTTP/1.0 503 Service Unavailable\r\n\r\n");
  src.snap = replica_snapshot();
  src.snap.pg.state = "starting";
  EXPECT_EQ(code(src, "/readiness"), 503);
}

TEST(ClusterEndpoint, QuorumStandbyRole) {
  TestSource src;
  src.snap = replica_snapshot();
  src.fresh = make_cluster(R"({"ttl":30,"synchronous_mode":"Quorum"})",
                           R"({"leader":"node1","quorum":0,"sync_standby":"node2"})");
  Response r = run(src, "GET", "/cluster");
  ASSERT_EQ(r.status, 200);
  const json body = json::parse(r.body);
  ASSERT_GE(body["members"].size(), 2u);
  EXPECT_EQ(body["members"][1]["name"], "node2");
  EXPECT_EQ(body["members"][1]["role"], "quorum_standby");
}

TEST(ClusterEndpoint, RolesLagHostPort) {
  TestSource src;
  src.snap = replica_snapshot();
  src.fresh = make_cluster(R"({"ttl":30,"synchronous_mode":true,"pause":true})",
                           R"({"leader":"node1","sync_standby":"node2"})");
  Response r = run(src, "GET", "/cluster");
  ASSERT_EQ(r.status, 200);
  json expected = {
      {"members",
       json::array({
           {{"name", "node1"},
            {"role", "leader"},
            {"state", "running"},
            {"api_url", "http://10.0.0.1:8008/patroni"},
            {"host", "10.0.0.1"},
            {"port", 5432},
            {"timeline", 2}},
           {{"name", "node2"},
            {"role", "sync_standby"},
            {"state", "streaming"},
            {"api_url", "http://10.0.0.2:8008/patroni"},
            {"host", "10.0.0.2"},
            {"port", 5433},
            {"timeline", 2},
            {"tags", {{"zone", "a"}}},
            {"lag", 2000}},
           {{"name", "node3"},
            {"role", "replica"},
            {"state", "starting"},
            {"api_url", "http://172.16.0.5:8008/patroni"},
            {"host", "node3.example"},
            {"port", 5432},
            {"lag", "unknown"}},
       })},
      {"scope", "demo"},
      {"pause", true},
  };
  EXPECT_EQ(json::parse(r.body), expected) << r.body;
}

TEST(ClusterEndpoint, StandbyLeaderAndScheduledSwitchover) {
  TestSource src;
  src.snap = standby_leader_snapshot();
  dcs::RawNodes nodes = {node("members/b", R"({"state":"running","xlog_location":200000})"),
                         node("members/a", R"({"state":"running","replication_state":"streaming"})"),
                         node("leader", "a"),
                         node("status", R"({"optime":100000})"),
                         node("config", R"({"standby_cluster":{"host":"x"}})"),
                         node("failover", R"({"leader":"a","member":"b","scheduled_at":"2030-01-02T03:04:05+00:00"})")};
  src.fresh = dcs::Cluster::from_nodes(nodes);
  json j = json::parse(run(src, "GET", "/cluster").body);
  ASSERT_EQ(j["members"].size(), 2u);
  EXPECT_EQ(j["members"][0]["name"], "a");
  EXPECT_EQ(j["members"][0]["role"], "standby_leader");
  EXPECT_EQ(j["members"][0]["state"], "streaming");  // replication_state for a standby leader
  EXPECT_FALSE(j["members"][0].contains("lag"));
  EXPECT_TRUE(j["members"][0]["api_url"].is_null());
  EXPECT_EQ(j["members"][1]["lag"], 0);  // ahead of the optime: 0, never negative
  EXPECT_EQ(j["scheduled_switchover"], (json{{"at", "2030-01-02T03:04:05+00:00"}, {"from", "a"}, {"to", "b"}}));
  // DCS unreachable: the cached view is used.
  src.fresh.reset();
  j = json::parse(run(src, "GET", "/cluster").body);
  EXPECT_EQ(j["members"].size(), 3u);
}

TEST(OtherEndpoints, HistoryConfigFailsafe) {
  TestSource src;
  src.snap = replica_snapshot();
  Response h = run(src, "GET", "/history");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(json::parse(h.body),
            json::parse(R"([[1,25165984,"no recovery target specified","2023-11-14T22:13:20+00:00","node1"]])"));
  Response c = run(src, "GET", "/config");
  EXPECT_EQ(c.status, 200);
  EXPECT_EQ(json::parse(c.body), (json{{"ttl", 30}, {"loop_wait", 10}}));
  EXPECT_EQ(run(src, "GET", "/failsafe").status, 502);

  src.snap.cluster = std::make_shared<const dcs::Cluster>(dcs::Cluster::from_nodes({node("failsafe", R"({"node1":"http://10.0.0.1:8008/patroni"})")}));
  Response f = run(src, "GET", "/failsafe");
  EXPECT_EQ(f.status, 200);
  EXPECT_EQ(json::parse(f.body), (json{{"node1", "http://10.0.0.1:8008/patroni"}}));
  EXPECT_EQ(run(src, "GET", "/config").status, 502);
  EXPECT_EQ(json::parse(run(src, "GET", "/history").body), json::array());

  src.snap.cluster = std::make_shared<const dcs::Cluster>(dcs::Cluster::from_nodes({node("failsafe", R"(["not","a","dict"])")}));
  EXPECT_EQ(run(src, "GET", "/failsafe").status, 502);
}

TEST(Metrics, ExactTextForPrimary) {
  TestSource src;
  src.snap = primary_snapshot();
  Response r = run(src, "GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at(0).second, "text/plain");
  const std::string l = R"({scope="demo",name="node1"})";
  std::string expected =
      "# HELP patroni_version Patroni semver without periods.\n"
      "# TYPE patroni_version gauge\n"
      "patroni_version" + l + " 030301\n"
      "# HELP patroni_postgres_running Value is 1 if Postgres is running, 0 otherwise.\n"
      "# TYPE patroni_postgres_running gauge\n"
      "patroni_postgres_running" + l + " 1\n"
      "# HELP patroni_postmaster_start_time Epoch seconds since Postgres started.\n"
      "# TYPE patroni_postmaster_start_time gauge\n"
      "patroni_postmaster_start_time" + l + " 1700000000.5\n"
      "# HELP patroni_master Value is 1 if this node is the leader, 0 otherwise.\n"
      "# TYPE patroni_master gauge\n"
      "patroni_master" + l + " 1\n"
      "# HELP patroni_primary Value is 1 if this node is the leader, 0 otherwise.\n"
      "# TYPE patroni_primary gauge\n"
      "patroni_primary" + l + " 1\n"
      "# HELP patroni_xlog_location Current location of the Postgres transaction log, 0 if this node is not the leader.\n"
      "# TYPE patroni_xlog_location counter\n"
      "patroni_xlog_location" + l + " 100000\n"
      "# HELP patroni_standby_leader Value is 1 if this node is the standby_leader, 0 otherwise.\n"
      "# TYPE patroni_standby_leader gauge\n"
      "patroni_standby_leader" + l + " 0\n"
      "# HELP patroni_replica Value is 1 if this node is a replica, 0 otherwise.\n"
      "# TYPE patroni_replica gauge\n"
      "patroni_replica" + l + " 0\n"
      "# HELP patroni_sync_standby Value is 1 if this node is a sync standby replica, 0 otherwise.\n"
      "# TYPE patroni_sync_standby gauge\n"
      "patroni_sync_standby" + l + " 0\n"
      "# HELP patroni_quorum_standby Value is 1 if this node is a quorum standby replica, 0 otherwise.\n"
      "# TYPE patroni_quorum_standby gauge\n"
      "patroni_quorum_standby" + l + " 0\n"
      "# HELP patroni_xlog_received_location Current location of the received Postgres transaction log, 0 if this node is not a replica.\n"
      "# TYPE patroni_xlog_received_location counter\n"
      "patroni_xlog_received_location" + l + " 0\n"
      "# HELP patroni_xlog_replayed_location Current location of the replayed Postgres transaction log, 0 if this node is not a replica.\n"
      "# TYPE patroni_xlog_replayed_location counter\n"
      "patroni_xlog_replayed_location" + l + " 0\n"
      "# HELP patroni_xlog_replayed_timestamp Current timestamp of the replayed Postgres transaction log, 0 if null.\n"
      "# TYPE patroni_xlog_replayed_timestamp gauge\n"
      "patroni_xlog_replayed_timestamp" + l + " 0\n"
      "# HELP patroni_xlog_paused Value is 1 if the Postgres xlog is paused, 0 otherwise.\n"
      "# TYPE patroni_xlog_paused gauge\n"
      "patroni_xlog_paused" + l + " 0\n"
      "# HELP patroni_postgres_streaming Value is 1 if Postgres is streaming, 0 otherwise.\n"
      "# TYPE patroni_postgres_streaming gauge\n"
      "patroni_postgres_streaming" + l + " 0\n"
      "# HELP patroni_postgres_in_archive_recovery Value is 1 if Postgres is replicating from archive, 0 otherwise.\n"
      "# TYPE patroni_postgres_in_archive_recovery gauge\n"
      "patroni_postgres_in_archive_recovery" + l + " 0\n"
      "# HELP patroni_postgres_server_version Version of Postgres (if running), 0 otherwise.\n"
      "# TYPE patroni_postgres_server_version gauge\n"
      "patroni_postgres_server_version " + l + " 150004\n"
      "# HELP patroni_cluster_unlocked Value is 1 if the cluster is unlocked, 0 if locked.\n"
      "# TYPE patroni_cluster_unlocked gauge\n"
      "patroni_cluster_unlocked" + l + " 0\n"
      "# HELP patroni_failsafe_mode_is_active Value is 1 if failsafe mode is active, 0 if inactive.\n"
      "# TYPE patroni_failsafe_mode_is_active gauge\n"
      "patroni_failsafe_mode_is_active" + l + " 0\n"
      "# HELP patroni_postgres_timeline Postgres timeline of this node (if running), 0 otherwise.\n"
      "# TYPE patroni_postgres_timeline counter\n"
      "patroni_postgres_timeline" + l + " 2\n"
      "# HELP patroni_dcs_last_seen Epoch timestamp when DCS was last contacted successfully by Patroni.\n"
      "# TYPE patroni_dcs_last_seen gauge\n"
      "patroni_dcs_last_seen" + l + " 1699999999\n"
      "# HELP patroni_pending_restart Value is 1 if the node needs a restart, 0 otherwise.\n"
      "# TYPE patroni_pending_restart gauge\n"
      "patroni_pending_restart" + l + " 0\n"
      "# HELP patroni_is_paused Value is 1 if auto failover is disabled, 0 otherwise.\n"
      "# TYPE patroni_is_paused gauge\n"
      "patroni_is_paused" + l + " 0\n"
      "# HELP custos_leader_lease_remaining_seconds Seconds left of this node's leader lease (monotonic clock), 0 "
      "if it holds none.\n"
      "# TYPE custos_leader_lease_remaining_seconds gauge\n"
      "custos_leader_lease_remaining_seconds" + l + " 29.0\n"
      "# HELP custos_lease_fence_armed Value is 1 if the lease fence will stop Postgres when the lease ends, 0 "
      "otherwise.\n"
      "# TYPE custos_lease_fence_armed gauge\n"
      "custos_lease_fence_armed" + l + " 0\n"
      "# HELP custos_lease_fence_remaining_seconds Seconds until the lease fence stops Postgres unless the lease is "
      "refreshed, 0 if not armed.\n"
      "# TYPE custos_lease_fence_remaining_seconds gauge\n"
      "custos_lease_fence_remaining_seconds" + l + " 0\n"
      "# HELP custos_watchdog_running Value is 1 if a watchdog device is armed, 0 otherwise.\n"
      "# TYPE custos_watchdog_running gauge\n"
      "custos_watchdog_running" + l + " 0\n"
      "# HELP custos_watchdog_failed Value is 1 if the watchdog device could not be armed or kept alive, 0 "
      "otherwise.\n"
      "# TYPE custos_watchdog_failed gauge\n"
      "custos_watchdog_failed" + l + " 0\n"
      "# HELP custos_failsafe_mode_enabled Value is 1 if failsafe_mode is on in the dynamic configuration, 0 "
      "otherwise.\n"
      "# TYPE custos_failsafe_mode_enabled gauge\n"
      "custos_failsafe_mode_enabled" + l + " 0\n"
      "# HELP custos_member_replication_lag_bytes Bytes a member's WAL position is behind the leader's, as the "
      "leader sees it in the member keys (reported by the leader only).\n"
      "# TYPE custos_member_replication_lag_bytes gauge\n"
      "custos_member_replication_lag_bytes{scope=\"demo\",name=\"node1\",member=\"node2\"} 2000\n"
      "# HELP custos_replication_slot_lag_bytes Bytes a replication slot published in the status key is behind "
      "the leader's position (reported by the leader only).\n"
      "# TYPE custos_replication_slot_lag_bytes gauge\n";
  EXPECT_EQ(r.body, expected);
  // The agent's own families (the source's registry) follow.
  src.own = "# HELP custos_x X.\n# TYPE custos_x gauge\ncustos_x 1\n";
  EXPECT_EQ(run(src, "GET", "/metrics").body, expected + src.own);
}

TEST(Metrics, ReplicaValues) {
  TestSource src;
  src.snap = replica_snapshot();
  std::string body = run(src, "GET", "/metrics").body;
  const std::string l = R"({scope="demo",name="node2"})";
  EXPECT_NE(body.find("patroni_replica" + l + " 1\n"), std::string::npos);
  EXPECT_NE(body.find("patroni_xlog_received_location" + l + " 99000\n"), std::string::npos);
  EXPECT_NE(body.find("patroni_xlog_replayed_location" + l + " 98000\n"), std::string::npos);
  EXPECT_NE(body.find("patroni_xlog_replayed_timestamp" + l + " 1700000400.25\n"), std::string::npos);
  EXPECT_NE(body.find("patroni_postgres_streaming" + l + " 1\n"), std::string::npos);
  EXPECT_NE(body.find("patroni_postmaster_start_time" + l + " 1700000001.0\n"), std::string::npos);
}

}  // namespace
}  // namespace custos::api::test
