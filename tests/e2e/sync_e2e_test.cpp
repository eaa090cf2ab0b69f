// End-to-end test of synchronous replication (ha.md §6): a private etcd and three real custos
// agents with PostgreSQL 15 (test_cluster.h), bootstrapped with synchronous_mode: true.
//  1. The primary publishes /sync with exactly one synchronous standby and sets
//     synchronous_standby_names to it; REST and /cluster show the sync_standby role.
//  2. A writer commits rows continuously; kill -9 of the primary's agent and postmaster: the new
//     primary is the synchronous standby and every row whose commit was acknowledged is there.
//  3. SIGTERM of the (new) sync standby: it leaves the sync role before it stops (ha.md §6.4).
//  4. synchronous_mode turned off in /config: /sync disappears and so does the parameter.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cluster_fixture.h"

namespace custos::e2e {
namespace {

using namespace std::chrono_literals;

class SyncE2E : public ClusterFixture {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.scope = "e2e-sync";
    o.synchronous_mode = true;
    make_cluster(o);
  }

  // The parsed /sync key, or an empty object.
  nlohmann::json sync_key() {
    auto v = c().get_key("sync");
    if (!v) return nlohmann::json::object();
    auto j = nlohmann::json::parse(*v, nullptr, false);
    return j.is_object() ? j : nlohmann::json::object();
  }

  // Until /sync names `leader` and exactly one standby among `candidates` that the leader's
  // PostgreSQL also lists in synchronous_standby_names and reports as `sync`. Returns its index.
  int wait_for_sync_standby(int leader, const std::vector<int>& candidates, std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::string last;
    while (Clock::now() < deadline) {
      nlohmann::json s = sync_key();
      last = s.dump();
      if (s.value("leader", "") == c().name(leader) && s.contains("sync_standby") && s["sync_standby"].is_string()) {
        const std::string standby = s["sync_standby"].get<std::string>();
        const int idx = c().index_of(standby);
        const auto ssn = c().sql_value(leader, "SHOW synchronous_standby_names");
        const auto state = c().sql_value(
            leader, "SELECT sync_state FROM pg_catalog.pg_stat_replication WHERE application_name = '" + standby + "'");
        if (idx >= 0 && std::count(candidates.begin(), candidates.end(), idx) == 1 && ssn == standby &&
            state == std::string("sync"))
          return idx;
      }
      std::this_thread::sleep_for(500ms);
    }
    throw std::runtime_error("no synchronous standby of " + c().name(leader) + " in time; /sync = " + last + "\n" +
                             c().describe());
  }

  // A writer commits rows one by one on `primary` (table e2e_rows) and records every
  // acknowledged commit; after 3 s the primary's agent and postmaster are killed with SIGKILL.
  // Returns the ids acknowledged.
  std::vector<int64_t> write_and_kill_primary(int primary) {
    const std::string primary_conninfo = c().conninfo(primary);
    std::atomic<bool> writing{true};
    std::vector<int64_t> acked;
    std::thread writer([&] {
      postgres::ConnectionOptions co;
      co.connect_timeout = 2000ms;
      co.query_timeout = 5000ms;
      co.application_name = "custos-e2e-writer";
      postgres::PgConnection conn(primary_conninfo, co);
      for (int64_t id = next_id_; writing && id < next_id_ + 10000000; ++id) {
        auto r = conn.query("INSERT INTO e2e_rows (id, note) VALUES ($1::bigint, 'acked')", {std::to_string(id)});
        if (r.ok()) acked.push_back(id);
        else std::this_thread::sleep_for(50ms);
      }
    });
    std::this_thread::sleep_for(3s);
    c().kill_node(primary);
    std::this_thread::sleep_for(500ms);
    writing = false;
    writer.join();
    if (!acked.empty()) next_id_ = acked.back() + 1;
    EXPECT_GT(acked.size(), 10u) << "the writer committed almost nothing before the kill";
    return acked;
  }

  // Every acknowledged id is in e2e_rows on node i.
  void expect_all_present(int i, const std::vector<int64_t>& acked) {
    auto rows = c().sql(i, "SELECT id FROM e2e_rows", {}, 10000ms);
    ASSERT_TRUE(rows.ok) << rows.error;
    std::set<int64_t> present;
    for (const auto& row : rows.rows)
      if (!row.empty() && row[0]) present.insert(std::stoll(*row[0]));
    std::size_t missing = 0;
    for (int64_t id : acked)
      if (!present.count(id)) ++missing;
    EXPECT_EQ(missing, 0u) << missing << " of " << acked.size() << " acknowledged rows are missing on " << c().name(i);
  }

  int64_t next_id_ = 1;
};

// Quorum commit (Patroni 4 synchronous_mode: quorum), TLS everywhere: the primary waits for
// ANY 1 of its standbys, /sync carries the voters and the quorum; the quorum standbys answer
// /quorum; a kill -9 of the primary under load loses no acknowledged row, twice in a row (the
// killed node rejoins and becomes a voter again in between).
class QuorumE2E : public SyncE2E {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.scope = "e2e-quorum";
    o.tls = true;
    o.dcs_yaml = "    synchronous_mode: quorum\n    synchronous_node_count: 1\n";
    make_cluster(o);
  }

  // Until /sync names `leader`, quorum 1 and both other nodes as voters, the leader runs
  // synchronous_standby_names = ANY 1 (both) and reports both standbys as `quorum`.
  void wait_for_quorum(int leader, std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::vector<std::string> names;
    for (int j : others(leader)) names.push_back(c().name(j));
    std::sort(names.begin(), names.end());
    const std::string voters = names[0] + "," + names[1];
    const std::string ssn = "ANY 1 (" + voters + ")";
    std::string last;
    while (Clock::now() < deadline) {
      nlohmann::json s = sync_key();
      const auto running = c().sql_value(leader, "SHOW synchronous_standby_names");
      const auto quorum_states = c().sql_value(
          leader, "SELECT count(*) FROM pg_catalog.pg_stat_replication WHERE sync_state = 'quorum'");
      last = s.dump() + ", synchronous_standby_names '" + running.value_or("?") + "', quorum standbys " +
             quorum_states.value_or("?");
      if (s.value("leader", "") == c().name(leader) && s.value("quorum", -1) == 1 &&
          s.value("sync_standby", std::string()) == voters && running == ssn && quorum_states == std::string("2"))
        return;
      std::this_thread::sleep_for(500ms);
    }
    throw std::runtime_error("quorum commit of " + c().name(leader) + " not in place in time: " + last + "\n" +
                             c().describe());
  }
};

TEST_F(SyncE2E, SyncStandbyTakesOverWithoutLosingAcknowledgedRowsAndModeCanBeTurnedOff) {
  auto t0 = Clock::now();
  c().start_all();
  const int p = c().wait_for_primary(150s);
  c().wait_for_streaming(p, others(p), 150s);
  auto created = c().sql(p, "CREATE TABLE IF NOT EXISTS e2e_rows (id bigint PRIMARY KEY, note text)");
  ASSERT_TRUE(created.ok) << created.error;

  // 1. One synchronous standby, in /sync and in synchronous_standby_names.
  const int s = wait_for_sync_standby(p, others(p), 60s);
  report("sync standby " + c().name(s) + " published after start", seconds_since(t0));
  int async_replica = -1;
  for (int j : others(p))
    if (j != s) async_replica = j;
  EXPECT_EQ(c().rest_status(s, "/sync"), 200);
  EXPECT_EQ(c().rest_status(s, "/async"), 503);
  EXPECT_EQ(c().rest_status(async_replica, "/sync"), 503);
  EXPECT_EQ(c().rest_status(async_replica, "/async"), 200);
  std::string body;
  ASSERT_EQ(c().rest_status(async_replica, "/cluster", &body), 200);
  auto cl = nlohmann::json::parse(body, nullptr, false);
  ASSERT_TRUE(cl.is_object() && cl.contains("members") && cl["members"].is_array()) << body;
  for (const auto& m : cl["members"]) {
    const std::string name = m.value("name", "");
    const std::string want = name == c().name(p) ? "leader" : name == c().name(s) ? "sync_standby" : "replica";
    EXPECT_EQ(m.value("role", ""), want) << name << " in " << body;
  }
  std::string patroni;
  ASSERT_EQ(c().rest_status(s, "/patroni", &patroni), 200);
  auto pj = nlohmann::json::parse(patroni, nullptr, false);
  EXPECT_TRUE(pj.is_object() && pj.value("sync_standby", false)) << patroni;

  // 2. A writer commits rows one by one on the primary; only acknowledged commits are recorded.
  std::vector<int64_t> acked = write_and_kill_primary(p);
  auto t1 = Clock::now();
  const int np = c().wait_for_primary(90s);
  report("kill -9 of the primary: new primary " + c().name(np), seconds_since(t1));
  EXPECT_EQ(np, s) << "the new primary is not the synchronous standby";
  expect_all_present(np, acked);
  EXPECT_TRUE(sync_key().value("leader", "") == c().name(np)) << sync_key().dump();

  // 3. The remaining replica becomes the new primary's sync standby; stopped with SIGTERM it
  //    first leaves the role (nosync tag): once its agent has exited, /sync no longer lists it
  //    and the primary still commits (not strict: nothing to wait for).
  const int s2 = wait_for_sync_standby(np, {async_replica}, 90s);
  c().sigterm_agent(s2);
  auto exited = c().wait_agent_exit(s2, 60s);
  ASSERT_TRUE(exited.has_value()) << "the agent of " << c().name(s2) << " did not exit after SIGTERM";
  EXPECT_EQ(*exited, "exit 0");
  EXPECT_FALSE(sync_key().contains("sync_standby") && sync_key()["sync_standby"].is_string())
      << "stopped sync standby still in /sync: " << sync_key().dump();
  auto after_stop = c().sql(np, "INSERT INTO e2e_rows (id, note) VALUES (-2, 'standby gone')", {}, 10000ms);
  EXPECT_TRUE(after_stop.ok) << after_stop.error;

  // 4. synchronous_mode off in /config: /sync goes away, then the parameter on the primary.
  auto cfg_text = c().get_key("config");
  ASSERT_TRUE(cfg_text.has_value());
  auto cfg = nlohmann::json::parse(*cfg_text, nullptr, false);
  ASSERT_TRUE(cfg.is_object()) << *cfg_text;
  EXPECT_EQ(cfg.value("synchronous_mode", false), true) << *cfg_text;
  cfg["synchronous_mode"] = false;
  auto t2 = Clock::now();
  c().put_key("config", cfg.dump());
  bool cleared = false;
  for (int k = 0; k < 120 && !cleared; ++k) {
    const bool sync_gone = sync_key().empty();
    const auto ssn = c().sql_value(np, "SHOW synchronous_standby_names");
    cleared = sync_gone && ssn == std::string("");
    if (!cleared) std::this_thread::sleep_for(500ms);
  }
  EXPECT_TRUE(cleared) << "/sync = " << sync_key().dump() << ", synchronous_standby_names = '"
                       << c().sql_value(np, "SHOW synchronous_standby_names").value_or("(error)") << "'";
  report("synchronous_mode off: /sync and synchronous_standby_names cleared", seconds_since(t2));
  // Writes no longer wait for any standby: the primary alone commits.
  auto w = c().sql(np, "INSERT INTO e2e_rows (id, note) VALUES (-1, 'async again')");
  EXPECT_TRUE(w.ok) << w.error;
}

}  // namespace
}  // namespace custos::e2e

namespace custos::e2e {
namespace {

TEST_F(QuorumE2E, NoAcknowledgedRowIsLostWhenThePrimaryIsKilledUnderLoad) {
  auto t0 = Clock::now();
  c().start_all();
  const int p = c().wait_for_primary(150s);
  c().wait_for_streaming(p, others(p), 150s);
  auto created = c().sql(p, "CREATE TABLE IF NOT EXISTS e2e_rows (id bigint PRIMARY KEY, note text)");
  ASSERT_TRUE(created.ok) << created.error;
  wait_for_quorum(p, 90s);
  report("quorum commit in place after start", seconds_since(t0));

  // REST: the standbys are quorum standbys, not sync standbys; /cluster says so too (once each
  // agent's own view of /sync has caught up).
  for (int j : others(p))
    EXPECT_TRUE(eventually([&] { return c().rest_status(j, "/quorum") == 200; }, 30s)) << c().name(j);
  for (int j : others(p)) {
    EXPECT_EQ(c().rest_status(j, "/quorum"), 200) << c().name(j);
    EXPECT_EQ(c().rest_status(j, "/read-only-quorum"), 200) << c().name(j);
    EXPECT_EQ(c().rest_status(j, "/sync"), 503) << c().name(j);
    EXPECT_EQ(c().rest_status(j, "/async"), 503) << c().name(j);
    EXPECT_TRUE(patroni(j).value("quorum_standby", false)) << patroni(j).dump();
  }
  EXPECT_EQ(c().rest_status(p, "/quorum"), 503);
  EXPECT_EQ(c().rest_status(p, "/read-only-quorum"), 200);
  std::string body;
  ASSERT_EQ(c().rest_status(p, "/cluster", &body), 200);
  auto cl = nlohmann::json::parse(body, nullptr, false);
  ASSERT_TRUE(cl.is_object() && cl.contains("members")) << body;
  for (const auto& m : cl["members"])
    EXPECT_EQ(m.value("role", ""), m.value("name", "") == c().name(p) ? "leader" : "quorum_standby") << body;

  // Two rounds: kill -9 of the primary while a writer commits; every acknowledged row is on the
  // new primary, which takes /sync over; the killed node comes back and votes again.
  int primary = p;
  for (int round = 1; round <= 2; ++round) {
    std::vector<int64_t> acked = write_and_kill_primary(primary);
    auto t1 = Clock::now();
    const int np = c().wait_for_primary(120s);
    report("round " + std::to_string(round) + ": kill -9 of the primary under load: new primary " + c().name(np),
           seconds_since(t1));
    ASSERT_NE(np, primary);
    expect_all_present(np, acked);
    if (HasFailure()) return;
    c().start_agent(primary);
    c().wait_for_streaming(np, others(np), 180s);
    wait_for_quorum(np, 120s);
    report("round " + std::to_string(round) + ": quorum commit in place again with the old primary voting",
           seconds_since(t1));
    primary = np;
  }
}

}  // namespace
}  // namespace custos::e2e
