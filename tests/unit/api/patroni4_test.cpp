// The Patroni 4.1 presentation of the REST API (custos.compat "4.1", the default): role
// "primary", /readiness with `lag` and `mode`, /cluster with receive/replay LSNs, the 4.1 metric
// families, restapi.server_tokens, and label values escaped.
#include <gtest/gtest.h>

#include "api/rest_server.h"
#include "common/metrics_registry.h"
#include "fixtures.h"

namespace custos::api::test {
namespace {

NodeSnapshot v4(NodeSnapshot s) {
  s.presentation = PatroniGeneration::v4_1;
  s.patroni_version = "4.1.0";
  if (s.pg.role == "master") s.pg.role = "primary";
  return s;
}

TEST(Patroni4, StatusNamesThePrimaryPrimaryAndAnnounces41) {
  TestSource src;
  src.snap = v4(primary_snapshot());
  json st = json::parse(run(src, "GET", "/patroni").body);
  EXPECT_EQ(st["role"], "primary");
  EXPECT_EQ(st["patroni"]["version"], "4.1.0");
  // The health checks answer the same.
  EXPECT_EQ(code(src, "/primary"), 200);
  EXPECT_EQ(code(src, "/master"), 200);
  EXPECT_EQ(code(src, "/replica"), 503);
  EXPECT_EQ(json::parse(run(src, "GET", "/primary").body)["role"], "primary");
}

TEST(Patroni4, ReceivedLocationTakesTheWrittenLsn) {
  TestSource src;
  src.snap = v4(replica_snapshot());
  src.snap.pg.written_lsn = 99500;
  EXPECT_EQ(json::parse(run(src, "GET", "/patroni").body)["xlog"]["received_location"], 99500);
  // 3.3 reads pg_last_wal_receive_lsn() only.
  src.snap.presentation = PatroniGeneration::v3_3;
  EXPECT_EQ(json::parse(run(src, "GET", "/patroni").body)["xlog"]["received_location"], 99000);
}

TEST(Patroni4, ReadinessChecksStreamingAndLag) {
  TestSource src;
  src.snap = v4(replica_snapshot());  // replayed 98000, received 99000, leader optime 100000
  EXPECT_EQ(code(src, "/readiness"), 200);  // 2000 bytes behind, maximum_lag_on_failover 1 MB
  EXPECT_EQ(code(src, "/readiness?lag=1999"), 503);
  EXPECT_EQ(code(src, "/readiness?lag=2000"), 200);
  EXPECT_EQ(code(src, "/readiness?lag=1kB"), 503);
  EXPECT_EQ(code(src, "/readiness?lag=1kB&mode=write"), 200);  // 1000 behind in what was received
  EXPECT_EQ(code(src, "/readiness?lag=999&mode=write"), 503);
  EXPECT_EQ(code(src, "/readiness?lag=999&mode=apply"), 503);
  EXPECT_EQ(code(src, "/readiness?lag=2000&mode=WRITE"), 200);  // only "write" is write: apply here
  EXPECT_EQ(code(src, "/readiness?lag=1999&mode=WRITE"), 503);
  EXPECT_EQ(code(src, "/readiness?lag=nonsense"), 200);  // invalid: maximum_lag_on_failover
  src.snap.maximum_lag_on_failover = 100;
  EXPECT_EQ(code(src, "/readiness?lag=nonsense"), 503);
  // The sender's latest end of WAL counts when it is ahead of the DCS.
  src.snap.maximum_lag_on_failover = 1048576;
  src.snap.pg.latest_end_lsn = 200000;
  EXPECT_EQ(code(src, "/readiness?lag=100000"), 503);
  EXPECT_EQ(code(src, "/readiness?lag=102000"), 200);
  // Not streaming (archive recovery): not ready, whatever the lag.
  src.snap.pg.replication_state = "in archive recovery";
  EXPECT_EQ(code(src, "/readiness?lag=1GB"), 503);
  // Without a fresh view and without the sender's position: ready only in failsafe mode.
  src.snap.pg.replication_state = "streaming";
  src.snap.pg.latest_end_lsn.reset();
  src.snap.cluster_loaded_at = kNow - 100;
  EXPECT_EQ(code(src, "/readiness"), 503);
  src.snap.failsafe_mode_is_active = true;
  EXPECT_EQ(code(src, "/readiness"), 200);
  // Not running: not ready; the leader: ready.
  src.snap.pg.state = "starting";
  EXPECT_EQ(code(src, "/readiness"), 503);
  TestSource leader;
  leader.snap = v4(primary_snapshot());
  EXPECT_EQ(code(leader, "/readiness?lag=0"), 200);
  // The answer is the bare status line.
  EXPECT_EQ(serialize(run(leader, "GET", "/readiness")), "HTTP/1.0 200 OK\r\n\r\n");
}

TEST(Patroni4, ClusterShowsReceiveAndReplayPositions) {
  TestSource src;
  src.snap = v4(replica_snapshot());
  src.fresh = make_cluster(R"({"ttl":30})", "",
                           R"(,"receive_lsn":99990,"replay_lsn":4294967296,"xlog_location":99990)");
  json body = json::parse(run(src, "GET", "/cluster").body);
  const json& m = body["members"];
  ASSERT_EQ(m.size(), 3u);
  EXPECT_FALSE(m[0].contains("lsn"));  // the leader
  EXPECT_FALSE(m[0].contains("lag"));
  // node2 publishes only xlog_location (a 3.x member).
  EXPECT_EQ(m[1]["lsn"], "0/17ED0");
  EXPECT_EQ(m[1]["lag"], 2000);
  EXPECT_EQ(m[1]["receive_lsn"], "unknown");
  EXPECT_EQ(m[1]["receive_lag"], "unknown");
  EXPECT_EQ(m[1]["replay_lsn"], "unknown");
  EXPECT_EQ(m[1]["replay_lag"], "unknown");
  // node3 publishes 4.1's positions; one ahead of the leader's optime counts as no lag.
  EXPECT_EQ(m[2]["receive_lsn"], "0/18696");
  EXPECT_EQ(m[2]["receive_lag"], 10);
  EXPECT_EQ(m[2]["replay_lsn"], "1/0");
  EXPECT_EQ(m[2]["replay_lag"], 0);
  // 3.3: only `lag`.
  src.snap.presentation = PatroniGeneration::v3_3;
  body = json::parse(run(src, "GET", "/cluster").body);
  EXPECT_FALSE(body["members"][2].contains("receive_lsn"));
  EXPECT_FALSE(body["members"][2].contains("lsn"));
  EXPECT_EQ(body["members"][2]["lag"], 10);
}

TEST(Patroni4, MetricsDropPatroniMasterAndAddPostgresState) {
  TestSource src;
  src.snap = v4(primary_snapshot());
  const std::string text = run(src, "GET", "/metrics").body;
  EXPECT_EQ(text.find("patroni_master"), std::string::npos);
  EXPECT_NE(text.find("patroni_primary{scope=\"demo\",name=\"node1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("patroni_version{scope=\"demo\",name=\"node1\"} 040100\n"), std::string::npos);
  EXPECT_NE(text.find("# HELP patroni_postgres_state Numeric representation of Postgres state.\n# Values: 0=initdb"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE patroni_postgres_state gauge\npatroni_postgres_state{scope=\"demo\",name=\"node1\"} 5\n"),
            std::string::npos);
  src.snap.presentation = PatroniGeneration::v3_3;
  src.snap.patroni_version = "3.3.1";
  const std::string old = run(src, "GET", "/metrics").body;
  EXPECT_NE(old.find("patroni_master{"), std::string::npos);
  EXPECT_EQ(old.find("patroni_postgres_state"), std::string::npos);
}

TEST(Patroni4, PostgresStateNumbers) {
  EXPECT_EQ(postgres_state_number("initializing new cluster"), 0);
  EXPECT_EQ(postgres_state_number("creating replica"), 4);
  EXPECT_EQ(postgres_state_number("running"), 5);
  EXPECT_EQ(postgres_state_number("restart failed (start failed)"), 10);
  EXPECT_EQ(postgres_state_number("crashed"), 14);
  EXPECT_EQ(postgres_state_number("unknown"), -1);
}

TEST(Patroni4, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label_value(R"(a"b\c)" "\n"), R"(a\"b\\c\n)");
  TestSource src;
  src.snap = v4(primary_snapshot());
  src.snap.scope = "we\"ird\\";
  const std::string text = run(src, "GET", "/metrics").body;
  EXPECT_NE(text.find("patroni_primary{scope=\"we\\\"ird\\\\\",name=\"node1\"} 1\n"), std::string::npos) << text;
}

TEST(Patroni4, ServerTokensChooseTheServerHeader) {
  auto header = [](const char* tokens, PatroniGeneration g) {
    json cfg = {{"listen", "127.0.0.1:8008"}};
    if (tokens) cfg["server_tokens"] = tokens;
    auto s = RestApiSettings::from_config(cfg, g);
    EXPECT_TRUE(s) << s.error();
    return s.value();
  };
  EXPECT_EQ(header(nullptr, PatroniGeneration::v4_1).server_header.rfind("custos/", 0), 0u);
  EXPECT_EQ(header("Original", PatroniGeneration::v4_1).server_header.rfind("custos/", 0), 0u);
  EXPECT_EQ(header("ProductOnly", PatroniGeneration::v4_1).server_header, "Patroni");
  EXPECT_EQ(header("productonly", PatroniGeneration::v4_1).server_header, "Patroni");
  EXPECT_EQ(header("Minimal", PatroniGeneration::v4_1).server_header, "Patroni/4.1.0");
  EXPECT_EQ(header("MINIMAL", PatroniGeneration::v3_3).server_header, "Patroni/3.3.1");
  const auto odd = header("Full", PatroniGeneration::v4_1);
  EXPECT_EQ(odd.server_header.rfind("custos/", 0), 0u);  // Patroni: a warning, then Original
  ASSERT_TRUE(odd.server_tokens_warning);
  EXPECT_NE(odd.server_tokens_warning->find("\"Full\""), std::string::npos);
}

}  // namespace
}  // namespace custos::api::test

namespace custos::api::test {
namespace {

TEST(StatusPage, ServedAsSelfContainedHtmlWithTheAgentsEvents) {
  TestSource src;
  src.snap = primary_snapshot();
  Response page = run(src, "GET", "/ui");
  EXPECT_EQ(page.status, 200);
  bool html = false, csp = false;
  for (const auto& [k, v] : page.headers) {
    html = html || (k == "Content-Type" && v == "text/html; charset=utf-8");
    csp = csp || (k == "Content-Security-Policy" && v.find("connect-src 'self'") != std::string::npos);
  }
  EXPECT_TRUE(html);
  EXPECT_TRUE(csp);  // the page may talk to this node only
  EXPECT_NE(page.body.find("<!DOCTYPE html>"), std::string::npos);
  for (const char* endpoint : {"\"/cluster\"", "\"/patroni\"", "\"/history\"", "\"/ui/events\""})
    EXPECT_NE(page.body.find(endpoint), std::string::npos) << endpoint;
  EXPECT_EQ(page.body.find("http://"), std::string::npos);  // nothing fetched from elsewhere
  EXPECT_EQ(page.body.find("https://"), std::string::npos);
  EXPECT_EQ(page.body.find(".innerHTML"), std::string::npos);  // cluster text is never markup
  EXPECT_EQ(run(src, "GET", "/ui/").status, 200);
  EXPECT_EQ(json::parse(run(src, "GET", "/ui/events").body), json::array());
  src.events = json::array({{{"time", 1.5}, {"kind", "role"}, {"text", "replica -> primary (promote)"}}});
  EXPECT_EQ(json::parse(run(src, "GET", "/ui/events").body), src.events);
  EXPECT_EQ(run(src, "GET", "/ui/other").status, 404);
}

}  // namespace
}  // namespace custos::api::test
