// End-to-end tests of issue 3: a private etcd and three real custos agents with real PostgreSQL
// 15 servers on 127.0.0.1 (see test_cluster.h). Each test starts its own cluster, so each can
// run alone: `test_e2e --gtest_filter=E2E.SigtermOfPrimary*`. Set CUSTOS_KEEP_TEST_DIRS=1 to keep
// the temp dirs (configs, data dirs, agent logs) for inspection.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cluster_fixture.h"

namespace custos::e2e {
namespace {

using namespace std::chrono_literals;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string insert_sql(int64_t id, const std::string& note) {
  return "INSERT INTO e2e_rows (id, note) VALUES (" + std::to_string(id) + ", '" + note + "')";
}

class E2E : public ClusterFixture {
 protected:
  void SetUp() override { make_cluster({}); }

  // Starts all nodes; waits for one primary and every other node streaming; creates the table.
  int bring_up() {
    auto t0 = Clock::now();
    c().start_all();
    int p = c().wait_for_primary(150s);
    report("bootstrap: first primary (" + c().name(p) + ") after start", seconds_since(t0));
    c().wait_for_streaming(p, others(p), 150s);
    report("bootstrap: all replicas streaming after start", seconds_since(t0));
    auto r = c().sql(p, "CREATE TABLE IF NOT EXISTS e2e_rows (id bigint PRIMARY KEY, note text)");
    if (!r.ok) throw std::runtime_error("CREATE TABLE on " + c().name(p) + ": " + r.error);
    return p;
  }

  // Inserts ids lo..hi on node i in one statement.
  void insert_range(int i, int64_t lo, int64_t hi) {
    auto r = c().sql(i, "INSERT INTO e2e_rows SELECT g, 'row ' || g FROM generate_series($1::bigint, $2::bigint) g",
                     {std::to_string(lo), std::to_string(hi)});
    if (!r.ok) throw std::runtime_error("insert " + std::to_string(lo) + ".." + std::to_string(hi) + " on " +
                                        c().name(i) + ": " + r.error);
  }

};

// Three nodes bootstrap into exactly one primary and two streaming replicas; rows written on the
// primary reach both replicas; the replicas refuse writes; REST health checks and DCS keys agree.
TEST_F(E2E, ThreeNodesBootstrapToOnePrimaryAndTwoStreamingReplicas) {
  int p = bring_up();
  auto replicas = others(p);

  // REST health checks: /primary only on the primary, /replica only on the replicas.
  EXPECT_EQ(c().rest_status(p, "/primary"), 200);
  EXPECT_EQ(c().rest_status(p, "/replica"), 503);
  for (int r : replicas) {
    EXPECT_EQ(c().rest_status(r, "/primary"), 503) << c().name(r);
    EXPECT_EQ(c().rest_status(r, "/replica"), 200) << c().name(r);
  }

  // DCS: the leader key names the primary, every member has its key, initialize holds the sysid.
  EXPECT_EQ(c().leader_name().value_or("(none)"), c().name(p));
  for (int i = 0; i < c().size(); ++i) {
    auto m = c().get_key("members/" + c().name(i));
    ASSERT_TRUE(m.has_value()) << "no member key for " << c().name(i);
    auto j = nlohmann::json::parse(*m, nullptr, false);
    ASSERT_TRUE(j.is_object()) << *m;
    EXPECT_EQ(j.value("role", ""), i == p ? c().primary_role(i) : "replica") << *m;
    EXPECT_EQ(j.value("version", ""), c().compat_of(i) == "3.3" ? "3.3.1" : "4.1.0") << *m;
    EXPECT_EQ(j.value("state", ""), "running") << *m;
  }
  auto init = c().get_key("initialize");
  ASSERT_TRUE(init.has_value());
  EXPECT_TRUE(init->size() >= 10 && std::all_of(init->begin(), init->end(), ::isdigit)) << *init;

  // GET /cluster on a replica: three members, the primary as leader, the others streaming.
  std::string body;
  ASSERT_EQ(c().rest_status(replicas[0], "/cluster", &body), 200);
  auto cl = nlohmann::json::parse(body, nullptr, false);
  ASSERT_TRUE(cl.is_object() && cl.contains("members")) << body;
  ASSERT_EQ(cl["members"].size(), 3u) << body;
  for (const auto& m : cl["members"]) {
    bool is_p = m.value("name", "") == c().name(p);
    EXPECT_EQ(m.value("role", ""), is_p ? "leader" : "replica") << body;
    EXPECT_EQ(m.value("state", ""), is_p ? "running" : "streaming") << body;
  }

  // Rows written on the primary reach both replicas.
  insert_range(p, 1, 1000);
  auto t0 = Clock::now();
  for (int r : replicas) c().wait_for_rows(r, 1, 1000, 30s);
  report("1000 rows visible on both replicas after commit", seconds_since(t0));

  // The replicas are read-only.
  for (int r : replicas) {
    auto w = c().sql(r, insert_sql(5000 + r, "must fail"));
    EXPECT_FALSE(w.ok) << c().name(r) << " accepted a write";
  }
}

// TLS everywhere, as production clusters run (etcd https + auth; PostgreSQL ssl with only
// hostssl ... clientcert=verify-ca / verify-full lines and client certificates for every role;
// REST on https with verify_client: required): the cluster bootstraps, replicates, switches over
// through the REST API (the agents' member calls present the client certificate) and fails over
// after kill -9, the old primary rejoining through pg_rewind over TLS.
class TlsE2E : public E2E {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.tls = true;
    make_cluster(o);
  }
};

TEST_F(TlsE2E, BootstrapsReplicatesSwitchesOverAndFailsOverWithTlsEverywhere) {
  int p = bring_up();
  insert_range(p, 1, 100);
  for (int r : others(p)) c().wait_for_rows(r, 1, 100, 30s);
  // Replication runs over TLS: pg_stat_ssl shows every walsender's connection encrypted.
  auto ssl = c().sql_value(p, "SELECT count(*) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE s.ssl");
  EXPECT_EQ(ssl.value_or("?"), "2");

  // Switchover to a named candidate.
  const int target = others(p)[0];
  auto sw = c().rest(p, "POST", "/switchover",
                     nlohmann::json{{"leader", c().name(p)}, {"candidate", c().name(target)}}.dump());
  ASSERT_EQ(sw.status, 200) << sw.body << "\n" << c().describe();
  EXPECT_EQ(c().wait_for_primary(60s), target);
  c().wait_for_streaming(target, others(target), 120s);
  c().wait_for_rows(target, 1, 100, 10s);

  // kill -9 of the new primary: another node takes over; the old one is rewound and follows.
  insert_range(target, 101, 200);
  for (int r : others(target)) c().wait_for_rows(r, 101, 200, 30s);
  c().kill_node(target);
  int np = c().wait_for_writable(others(target), insert_sql(1001, "after failover"), 90s);
  EXPECT_EQ(c().wait_for_primary(30s), np);
  c().wait_for_rows(np, 1, 200, 10s);
  c().start_agent(target);
  c().wait_for_streaming(np, others(np), 120s);
  c().wait_for_rows(target, 1001, 1001, 30s);
}

// kill -9 of the primary's agent and postmaster together: another node accepts writes within
// ttl + loop_wait + 5 s; the old node, started again, is rewound and streams from the new primary.
TEST_F(E2E, KillNineOfPrimaryFailsOverAndOldPrimaryRejoinsAfterRewind) {
  int p = bring_up();
  insert_range(p, 1, 100);
  for (int r : others(p)) c().wait_for_rows(r, 1, 100, 30s);

  const auto& o = c().options();
  const double bound = o.ttl + o.loop_wait + 5;
  auto t0 = Clock::now();
  c().kill_node(p);
  int np = c().wait_for_writable(others(p), insert_sql(1001, "first write after failover"),
                                 std::chrono::seconds(static_cast<int>(bound) + 30));
  double failover = seconds_since(t0);
  report("kill -9 failover: " + c().name(np) + " accepts writes after kill of " + c().name(p), failover);
  EXPECT_LE(failover, bound) << "failover took longer than ttl + loop_wait + 5 s";

  EXPECT_EQ(c().wait_for_primary(30s), np);
  c().wait_for_rows(np, 1, 100, 10s);  // nothing committed before the crash was lost
  insert_range(np, 1002, 1100);
  int survivor = -1;
  for (int j : others(p))
    if (j != np) survivor = j;
  c().wait_for_streaming(np, {survivor}, 60s);
  c().wait_for_rows(survivor, 1001, 1100, 30s);

  // The old primary comes back: it must not become primary again, but rewind and follow. A
  // poller records the pid of every postmaster that serves queries there in recovery: the
  // rejoined node should need exactly one (no second, needless rewind or restart).
  std::atomic<bool> polling{true};
  std::mutex pm_mu;
  std::set<pid_t> replica_pms;
  std::atomic<bool> served_as_primary{false};
  std::thread poller([&] {
    while (polling) {
      auto primary = c().is_primary_sql(p);
      auto pm = c().postmaster_pid(p);
      if (primary == true) served_as_primary = true;
      if (primary == false && pm) {
        std::lock_guard lock(pm_mu);
        replica_pms.insert(*pm);
      }
      std::this_thread::sleep_for(250ms);
    }
  });
  auto t1 = Clock::now();
  c().start_agent(p);
  try {
    c().wait_for_streaming(np, {p}, 120s);
    report("old primary streaming from the new primary after restart", seconds_since(t1));
    c().wait_for_rows(p, 1001, 1100, 30s);
    std::this_thread::sleep_for(std::chrono::seconds(5 * o.loop_wait));
    c().wait_for_streaming(np, {p}, 60s);
  } catch (...) {
    polling = false;
    poller.join();
    throw;
  }
  polling = false;
  poller.join();
  EXPECT_FALSE(served_as_primary) << "the old primary accepted writes again after its restart";
  EXPECT_EQ(replica_pms.size(), 1u) << "the rejoined node's PostgreSQL was started " << replica_pms.size()
                                    << " times as a replica (a second, needless pg_rewind/restart?)";
  EXPECT_EQ(c().is_primary_sql(p), std::optional<bool>(false));
  EXPECT_EQ(c().leader_name().value_or("(none)"), c().name(np));
  EXPECT_NE(lower(file_text(c().node(p).log_file)).find("rewind"), std::string::npos)
      << "the old primary's agent log does not mention pg_rewind";
  // And it keeps following new writes.
  insert_range(np, 1101, 1200);
  c().wait_for_rows(p, 1101, 1200, 30s);
}

// SIGTERM to the primary's agent: it stops PostgreSQL and releases the lock; a replica becomes
// primary and accepts writes within 5 s; every row whose commit was acknowledged is there.
TEST_F(E2E, SigtermOfPrimaryHandsOverWithinFiveSecondsWithoutLosingCommittedRows) {
  int p = bring_up();

  // A writer that inserts one row per statement on the old primary and records the ids whose
  // commit was acknowledged. It stops at the first error (the primary shutting down).
  std::mutex mu;
  std::vector<int64_t> acked;
  std::atomic<bool> stop{false};
  std::atomic<bool> writer_failed{false};
  std::string writer_error;
  std::thread writer([&] {
    postgres::ConnectionOptions co;
    co.connect_timeout = 2000ms;
    co.query_timeout = 3000ms;
    postgres::PgConnection conn(c().conninfo(p), co);
    for (int64_t id = 100000; !stop.load(); ++id) {
      auto r = conn.query("INSERT INTO e2e_rows (id, note) VALUES ($1, 'writer')", {std::to_string(id)});
      if (!r.ok()) {
        std::lock_guard lock(mu);
        writer_error = r.error().message;
        writer_failed = true;
        return;
      }
      std::lock_guard lock(mu);
      acked.push_back(id);
    }
  });
  std::this_thread::sleep_for(1500ms);
  std::size_t acked_before;
  {
    std::lock_guard lock(mu);
    acked_before = acked.size();
  }

  auto t0 = Clock::now();
  c().sigterm_agent(p);
  int np = -1;
  try {
    np = c().wait_for_writable(others(p), insert_sql(1, "first write after switchover"), 30s);
  } catch (...) {
    stop = true;
    writer.join();
    throw;
  }
  double handover = seconds_since(t0);
  stop = true;
  writer.join();
  report("SIGTERM switchover: " + c().name(np) + " accepts writes after SIGTERM to " + c().name(p), handover);
  EXPECT_LE(handover, 5.0) << "a new primary took longer than 5 s to accept writes";
  EXPECT_GT(acked_before, 0u) << "the writer could not write before the SIGTERM: " << writer_error;
  std::printf("[  INFO    ] writer: %zu rows acknowledged (%zu before SIGTERM); stopped by: %s\n", acked.size(),
              acked_before, writer_failed ? writer_error.c_str() : "end of test");

  // The old agent exits cleanly, its PostgreSQL is stopped, the lock is the new primary's.
  auto exit = c().wait_agent_exit(p, 30s);
  ASSERT_TRUE(exit.has_value()) << "the agent did not exit within 30 s of SIGTERM";
  EXPECT_EQ(*exit, "exit 0");
  EXPECT_FALSE(c().postmaster_pid(p).has_value()) << "PostgreSQL still runs after the agent stopped";
  EXPECT_EQ(c().wait_for_primary(30s), np);

  // No acknowledged row lost.
  std::string ids = "{";
  for (std::size_t k = 0; k < acked.size(); ++k) ids += (k ? "," : "") + std::to_string(acked[k]);
  ids += "}";
  auto r = c().sql(np, "SELECT count(*) FROM e2e_rows WHERE id = ANY($1::bigint[])", {ids});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(*r.rows.at(0).at(0), std::to_string(acked.size())) << "acknowledged rows missing on the new primary";

  // The remaining replica follows the new primary.
  for (int j : others(p))
    if (j != np) c().wait_for_streaming(np, {j}, 60s);
}

// The agent is killed and started again while PostgreSQL keeps running: the new agent adopts the
// running postmaster (same pid, same start time) instead of restarting it; the primary keeps the
// lock, the replica keeps streaming.
TEST_F(E2E, RestartedAgentAdoptsRunningPostgres) {
  int p = bring_up();
  int r = others(p)[0];
  for (int i : {p, r}) {
    const bool primary = i == p;
    auto pm0 = c().postmaster_pid(i);
    auto st0 = c().postmaster_start_time(i);
    ASSERT_TRUE(pm0 && st0) << c().name(i);
    c().kill_agent(i);
    std::this_thread::sleep_for(1s);
    ASSERT_TRUE(c().postmaster_pid(i).has_value()) << "PostgreSQL died with its agent on " << c().name(i);

    auto t0 = Clock::now();
    c().start_agent(i);
    const std::string path = primary ? "/primary" : "/replica";
    auto deadline = Clock::now() + 60s;
    while (c().rest_status(i, path) != 200 && Clock::now() < deadline) std::this_thread::sleep_for(200ms);
    ASSERT_EQ(c().rest_status(i, path), 200) << c().name(i) << " did not answer " << path << " after the restart\n"
                                            << c().describe();
    report(std::string("agent restart: ") + (primary ? "primary " : "replica ") + c().name(i) + " healthy again",
           seconds_since(t0));
    // A few HA cycles later PostgreSQL is still the same process.
    std::this_thread::sleep_for(std::chrono::seconds(3 * c().options().loop_wait));
    EXPECT_EQ(c().postmaster_pid(i), pm0) << "postmaster pid changed on " << c().name(i);
    EXPECT_EQ(c().postmaster_start_time(i), st0) << "PostgreSQL was restarted on " << c().name(i);
    EXPECT_EQ(c().wait_for_primary(30s), p);
  }
  c().wait_for_streaming(p, others(p), 60s);
  insert_range(p, 1, 100);
  for (int j : others(p)) c().wait_for_rows(j, 1, 100, 30s);
}

// The postmaster alone is killed on the primary: the agent notices, starts PostgreSQL again and
// keeps the lock (no failover: primary_start_timeout is 60 s and PostgreSQL can start).
TEST_F(E2E, KilledPostmasterOnPrimaryIsRestartedAndKeepsTheLock) {
  int p = bring_up();
  insert_range(p, 1, 100);
  auto t0 = Clock::now();
  auto pm0 = c().kill_postmaster(p);
  ASSERT_TRUE(pm0.has_value());

  // Watch the leader key while waiting for any node to accept writes again.
  std::vector<int> all = {0, 1, 2};
  std::atomic<bool> done{false};
  std::mutex mu;
  std::vector<std::string> leaders_seen;
  std::thread watcher([&] {
    while (!done) {
      auto l = c().leader_name().value_or("(none)");
      {
        std::lock_guard lock(mu);
        if (leaders_seen.empty() || leaders_seen.back() != l) leaders_seen.push_back(l);
      }
      std::this_thread::sleep_for(200ms);
    }
  });
  int q = -1;
  try {
    q = c().wait_for_writable(all, insert_sql(101, "after postmaster crash"), 90s);
  } catch (...) {
    done = true;
    watcher.join();
    throw;
  }
  double recovered = seconds_since(t0);
  done = true;
  watcher.join();
  report("postmaster killed on primary: " + c().name(q) + " accepts writes again", recovered);
  std::string seen;
  for (const auto& l : leaders_seen) seen += l + " ";
  std::printf("[  INFO    ] leader key values seen meanwhile: %s\n", seen.c_str());

  EXPECT_EQ(q, p) << "the cluster failed over instead of restarting PostgreSQL on the lock holder";
  EXPECT_EQ(leaders_seen, std::vector<std::string>{c().name(p)}) << "the lock changed hands: " << seen;
  EXPECT_EQ(c().wait_for_primary(30s), q);
  auto pm1 = c().postmaster_pid(q);
  EXPECT_TRUE(pm1.has_value() && pm1 != pm0);
  c().wait_for_rows(q, 1, 101, 10s);
  c().wait_for_streaming(q, others(q), 90s);
  insert_range(q, 200, 300);
  for (int j : others(q)) c().wait_for_rows(j, 200, 300, 30s);
}

// A third party writes garbage into the cluster's DCS keys (every key but the leader lock, which
// would legitimately make the holder step down): no agent crashes, the primary stays primary,
// writes still replicate and the REST API still answers.
TEST_F(E2E, GarbageInDcsKeysCrashesNoAgentAndTheClusterKeepsItsPrimary) {
  int p = bring_up();
  int r = others(p)[0];
  const std::vector<std::pair<std::string, std::string>> garbage = {
      {"config", "{not json at all"},
      {"initialize", "not-a-sysid"},
      {"status", "[1,2,\"three\""},
      {"history", "{\"timeline\": \"x\"}"},
      {"failover", "{\"leader\": 42, \"member\": [\"x\"], \"scheduled_at\": {}}"},
      {"sync", "null"},
      {"failsafe", "\xff\xfe garbage \x01"},
      {"optime/leader", "minus-one"},
      {"members/ghost", "\x01\x02\x03 binary junk"},
      {"members/evil", "{\"conn_url\": 17, \"api_url\": [], \"role\": {}, \"state\": 3, \"xlog_location\": \"lots\","
                       " \"timeline\": -5, \"tags\": \"none\", \"version\": 1.5}"},
      {"members/legacy", "postgres://%zz@[::1:bad/db"},
      {"members/a/b/c", "{}"},
      {"members/" + c().name(r), "\"just a string\""},
      {"unknown-key", "whatever"},
  };
  for (int round = 0; round < 2; ++round) {
    for (const auto& [k, v] : garbage) c().put_key(k, v);
    std::this_thread::sleep_for(std::chrono::seconds(2 * c().options().loop_wait));
  }
  std::this_thread::sleep_for(std::chrono::seconds(2 * c().options().loop_wait));

  for (int i = 0; i < c().size(); ++i) {
    EXPECT_TRUE(c().agent_running(i)) << c().name(i) << " died: " << c().agent_exit(i);
    std::string body;
    EXPECT_EQ(c().rest_status(i, "/patroni", &body), 200) << c().name(i);
    // An unparsable `config` is ignored, the last valid one stays in effect (spec/dcs.md 2.3):
    // nothing the garbage "changed" may leave a restart pending.
    auto status = nlohmann::json::parse(body, nullptr, false);
    EXPECT_FALSE(status.is_object() && status.value("pending_restart", false))
        << c().name(i) << " has a restart pending after the garbage config: " << body;
    int cs = c().rest_status(i, "/cluster", &body);
    EXPECT_TRUE(cs == 200 || cs == 503) << c().name(i) << " GET /cluster answered " << cs;
  }
  EXPECT_EQ(c().wait_for_primary(30s), p) << "the primary changed after garbage was written";
  insert_range(p, 1, 100);
  for (int j : others(p)) c().wait_for_rows(j, 1, 100, 30s);

  // custosctl reads the same keys: it may report errors, it must not crash.
  auto ctl = test::run_command({TestCluster::custosctl_bin(), "-c", c().node(p).config_file, "list"}, 20s);
  EXPECT_NE(ctl.exit_code, -1) << "custosctl list crashed or hung:\n" << ctl.output;
  std::printf("[  INFO    ] custosctl list after the garbage (exit %d):\n%s\n", ctl.exit_code, ctl.output.c_str());
  for (int i = 0; i < c().size(); ++i) EXPECT_TRUE(c().agent_running(i)) << c().name(i) << ": " << c().agent_exit(i);
}

}  // namespace
}  // namespace custos::e2e
