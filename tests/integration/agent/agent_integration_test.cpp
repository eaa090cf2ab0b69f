// The agent (`custos CONFIG.yml`) against a real etcd and real PostgreSQL 15 (ha.md): what a
// single node writes to the DCS when it bootstraps, graceful stop, adoption of a running
// postmaster, postmaster crash recovery keeping the lock, and a two-node failover with pg_rewind.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <atomic>

#include "agent_node.h"

namespace custos::agent_test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override { etcd_ = std::make_unique<test::EtcdServer>(); }

  std::string key(const std::string& k) { return "/service/agent-test/" + k; }
  // Value of a DCS key; nullopt when absent.
  std::optional<std::string> get(const std::string& k) {
    auto r = etcd_->etcdctl({"get", key(k), "--print-value-only"});
    if (r.exit_code != 0) return std::nullopt;
    std::string v = r.output;
    if (v.empty()) return std::nullopt;
    if (v.back() == '\n') v.pop_back();
    return v;
  }
  json get_json(const std::string& k) {
    auto v = get(k);
    if (!v) return json();
    return json::parse(*v, nullptr, false);
  }
  std::string leader() { return get("leader").value_or(""); }

  // Starts `node` and waits until it is the bootstrapped primary holding the lock.
  void bootstrap(AgentNode& node) {
    node.start();
    ASSERT_TRUE(eventually([&] { return leader() == node.name && node.accepts_writes(); }, 90s))
        << "leader=" << leader() << "\n" << node.log();
  }

  std::unique_ptr<test::EtcdServer> etcd_;
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

TEST_F(AgentTest, BootstrapsANewClusterAndWritesPatroniKeys) {
  AgentNode a("a", *etcd_);
  bootstrap(a);
  // members/a (dcs.md §2.2).
  ASSERT_TRUE(eventually([&] {
    json m = get_json("members/a");
    return m.is_object() && m.value("role", "") == "primary" && m.value("state", "") == "running" &&
           m.contains("xlog_location");
  }, 20s)) << get("members/a").value_or("(none)");
  json m = get_json("members/a");
  EXPECT_EQ(m["conn_url"], "postgres://127.0.0.1:" + std::to_string(a.pg_port) + "/postgres");
  EXPECT_EQ(m["api_url"], "http://127.0.0.1:" + std::to_string(a.api_port) + "/patroni");
  EXPECT_TRUE(m["version"].is_string() && !m["version"].get<std::string>().empty());
  EXPECT_EQ(m["timeline"], 1);
  EXPECT_TRUE(m["xlog_location"].is_number_integer());
  EXPECT_FALSE(m.contains("replication_state"));
  // initialize = the system identifier.
  const std::string sysid = a.sql("SELECT system_identifier FROM pg_control_system()");
  EXPECT_GE(sysid.size(), 10u);
  EXPECT_EQ(get("initialize").value_or(""), sysid);
  // config = the bootstrap.dcs dynamic configuration (ttl kept at Patroni's minimum 20).
  json config = get_json("config");
  ASSERT_TRUE(config.is_object()) << get("config").value_or("(none)");
  EXPECT_EQ(config["ttl"], 20);
  EXPECT_EQ(config["loop_wait"], 2);
  EXPECT_EQ(config["retry_timeout"], 3);
  // history = [] on timeline 1; status = the leader's LSN.
  EXPECT_TRUE(eventually([&] { return get("history").value_or("") == "[]"; }, 10s));
  EXPECT_TRUE(eventually([&] {
    json s = get_json("status");
    return s.is_object() && s.value("optime", int64_t{0}) > 0;
  }, 10s)) << get("status").value_or("(none)");
  // Roles of the post-bootstrap (ha.md §3.2).
  EXPECT_EQ(a.sql("SELECT rolreplication FROM pg_roles WHERE rolname = 'replicator'"), "t");
  EXPECT_EQ(a.sql("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'rewinder'"), "t");
  EXPECT_EQ(a.sql("SELECT has_function_privilege('rewinder', 'pg_read_binary_file(text)', 'execute')"), "t");
  // The lock is held across cycles.
  std::this_thread::sleep_for(5s);
  EXPECT_EQ(leader(), "a");
}

TEST_F(AgentTest, SigtermStopsPostgresAndReleasesTheLock) {
  AgentNode a("a", *etcd_);
  bootstrap(a);
  auto pid = a.postmaster_pid();
  ASSERT_TRUE(pid);
  const auto t0 = Clock::now();
  a.stop_sigterm(60s);
  auto status = a.agent_wait(1s);
  ASSERT_TRUE(status) << "agent still running after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << a.log();
  EXPECT_LT(seconds_since(t0), 30);
  EXPECT_FALSE(get("leader")) << "the lock must be released at once, not left to expire";
  EXPECT_FALSE(a.postmaster_pid()) << "PostgreSQL must be stopped";
  json s = get_json("status");
  EXPECT_TRUE(s.is_object() && s.value("optime", int64_t{0}) > 0);
}

TEST_F(AgentTest, RestartedAgentAdoptsTheRunningPostmaster) {
  AgentNode a("a", *etcd_);
  bootstrap(a);
  auto pid = a.postmaster_pid();
  ASSERT_TRUE(pid);
  a.kill_agent();
  ASSERT_TRUE(a.postmaster_pid());
  a.start();
  ASSERT_TRUE(eventually([&] { return a.log().find("adopted the running postmaster") != std::string::npos; }, 20s))
      << a.log();
  // Several cycles later: same postmaster, still the leader, still writable.
  std::this_thread::sleep_for(6s);
  EXPECT_EQ(a.postmaster_pid(), pid);
  EXPECT_EQ(leader(), "a");
  EXPECT_TRUE(a.accepts_writes());
}

TEST_F(AgentTest, PostmasterCrashIsNoticedAtOnceAndRestartedKeepingTheLock) {
  AgentNode a("a", *etcd_);
  bootstrap(a);
  auto pid = a.postmaster_pid();
  ASSERT_TRUE(pid);
  std::this_thread::sleep_for(500ms);  // mid-way between cycles (loop_wait 2 s)
  const auto t0 = Clock::now();
  ::kill(*pid, SIGKILL);
  // A new postmaster within ~1 s of the death: the agent does not wait for its next cycle.
  ASSERT_TRUE(eventually([&] {
    auto p = a.postmaster_pid();
    return p && *p != *pid;
  }, 10s)) << a.log();
  const double restarted_after = seconds_since(t0);
  std::printf("postmaster restarted %.2f s after kill -9\n", restarted_after);
  EXPECT_LT(restarted_after, 1.5);
  ASSERT_TRUE(eventually([&] { return a.accepts_writes(); }, 60s)) << a.log();
  EXPECT_EQ(leader(), "a");
  EXPECT_NE(a.log().find("starting primary after failure"), std::string::npos);
}

TEST_F(AgentTest, ReplicaClonesStreamsTakesOverAndOldPrimaryRejoinsWithRewind) {
  AgentNode a("a", *etcd_);
  AgentNode b("b", *etcd_);
  bootstrap(a);
  b.start();
  ASSERT_TRUE(eventually([&] {
    return b.sql("SELECT status FROM pg_stat_wal_receiver") == "streaming" &&
           a.sql("SELECT count(*) FROM pg_stat_replication WHERE application_name = 'b' AND state = 'streaming'") == "1";
  }, 90s)) << b.log() << "\n---- a ----\n" << a.log() << "\n---- a postgres ----\n" << a.pg_log();
  EXPECT_TRUE(eventually([&] {
    return a.sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'b' AND active") == "1";
  }, 20s)) << "the primary keeps a physical slot for every member (use_slots)";
  ASSERT_EQ(a.sql("CREATE TABLE t(i int); INSERT INTO t VALUES (1); SELECT 1"), "1");
  ASSERT_TRUE(eventually([&] { return b.sql("SELECT count(*) FROM t") == "1"; }, 20s));
  ASSERT_TRUE(eventually([&] {
    json m = get_json("members/b");
    return m.is_object() && m.value("role", "") == "replica" && m.value("replication_state", "") == "streaming";
  }, 20s)) << get("members/b").value_or("");

  // kill -9 of the primary's agent and postmaster together.
  auto pid = a.postmaster_pid();
  ASSERT_TRUE(pid);
  const auto t0 = Clock::now();
  a.kill_agent();
  ::kill(*pid, SIGKILL);
  ASSERT_TRUE(eventually([&] { return b.accepts_writes(); }, 60s)) << b.log();
  const double failover = seconds_since(t0);
  std::printf("failover: b accepts writes %.2f s after kill -9 (ttl 20, loop_wait 2)\n", failover);
  EXPECT_LT(failover, 20 + 2 + 5);
  EXPECT_EQ(leader(), "b");
  ASSERT_EQ(b.sql("INSERT INTO t VALUES (2); SELECT count(*) FROM t"), "2");
  EXPECT_TRUE(eventually([&] {
    json h = get_json("history");
    return h.is_array() && h.size() == 1 && h[0].is_array() && h[0].size() == 5 && h[0][0] == 1 && h[0][4] == "b";
  }, 20s)) << get("history").value_or("(none)");

  // The old primary comes back: crash recovery, pg_rewind, then it streams from b.
  a.start();
  ASSERT_TRUE(eventually([&] {
    return a.sql("SELECT status FROM pg_stat_wal_receiver") == "streaming" &&
           b.sql("SELECT count(*) FROM pg_stat_replication WHERE application_name = 'a' AND state = 'streaming'") == "1";
  }, 120s)) << a.log();
  EXPECT_NE(a.log().find("pg_rewind succeeded"), std::string::npos) << a.log();
  EXPECT_TRUE(eventually([&] { return a.sql("SELECT count(*) FROM t") == "2"; }, 20s));
  EXPECT_EQ(a.sql("SELECT pg_is_in_recovery()"), "t");
  EXPECT_EQ(leader(), "b");
}

TEST_F(AgentTest, SigtermOnThePrimaryHandsOverAtOnceWithoutLosingRows) {
  AgentNode a("a", *etcd_);
  AgentNode b("b", *etcd_);
  bootstrap(a);
  b.start();
  ASSERT_TRUE(eventually([&] {
    return b.sql("SELECT status FROM pg_stat_wal_receiver") == "streaming" &&
           a.sql("SELECT count(*) FROM pg_stat_replication WHERE application_name = 'b' AND state = 'streaming'") == "1";
  }, 90s)) << b.log() << "\n---- a ----\n" << a.log() << "\n---- a postgres ----\n" << a.pg_log();
  ASSERT_EQ(a.sql("CREATE TABLE t(i int); INSERT INTO t SELECT generate_series(1, 1000); SELECT count(*) FROM t"), "1000");
  // The replica waits on the DCS watch: the released lock is taken within a fraction of a second.
  const auto t0 = Clock::now();
  a.stop_sigterm(60s);
  ASSERT_TRUE(eventually([&] { return b.accepts_writes(); }, 20s))
      << b.log() << "\n---- a ----\n" << a.log() << "\n---- a postgres ----\n" << a.pg_log();
  const double handover = seconds_since(t0);
  std::printf("graceful handover: b accepts writes %.2f s after SIGTERM to the primary's agent\n", handover);
  EXPECT_LT(handover, 5);
  EXPECT_EQ(leader(), "b");
  EXPECT_EQ(b.sql("SELECT count(*) FROM t"), "1000");
}

TEST_F(AgentTest, DcsOutageDemotesThePrimaryBeforeTheLockCouldExpire) {
  AgentNode a("a", *etcd_);
  bootstrap(a);
  // etcd gone: the primary must stop accepting writes before another member could take the
  // lock (loop_wait + 2 x retry_timeout <= ttl), i.e. within 20 s.
  const auto t0 = Clock::now();
  etcd_->stop();
  ASSERT_TRUE(eventually([&] { return a.sql("SELECT pg_is_in_recovery()") == "t"; }, 30s)) << a.log();
  const double demoted = seconds_since(t0);
  std::printf("DCS outage: primary read-only %.2f s after etcd stopped (ttl 20)\n", demoted);
  EXPECT_LT(demoted, 20);
  EXPECT_NE(a.log().find("DCS is not accessible"), std::string::npos);
  // etcd back: the node still holds the lock (same lease) or wins it again, and is primary again.
  etcd_->start();
  ASSERT_TRUE(eventually([&] { return a.accepts_writes(); }, 60s)) << a.log();
  EXPECT_EQ(leader(), "a");
}

TEST_F(AgentTest, LostLockDemotesAtOnceAndNeverPromotesWithoutIt) {
  AgentNode a("a", *etcd_);
  bootstrap(a);
  // A third party takes the leader key: the next refresh finds it owned by another member.
  auto r = etcd_->etcdctl({"put", key("leader"), "intruder"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto t0 = Clock::now();
  ASSERT_TRUE(eventually([&] { return a.sql("SELECT pg_is_in_recovery()") == "t"; }, 20s)) << a.log();
  std::printf("lost lock: primary read-only %.2f s after the leader key changed hands\n", seconds_since(t0));
  EXPECT_LT(seconds_since(t0), 2 + 3 + 5);  // one loop_wait + a refresh + the stop/start
  // Without the lock it stays a replica.
  std::this_thread::sleep_for(5s);
  EXPECT_EQ(a.sql("SELECT pg_is_in_recovery()"), "t");
  EXPECT_EQ(leader(), "intruder");
  // The key disappears: the only healthy node takes the lock and promotes itself.
  r = etcd_->etcdctl({"del", key("leader")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(eventually([&] { return leader() == "a" && a.accepts_writes(); }, 30s)) << a.log();
}

TEST_F(AgentTest, SwitchoverThroughTheFailoverKeyDemotesGracefully) {
  AgentNode a("a", *etcd_);
  AgentNode b("b", *etcd_);
  bootstrap(a);
  b.start();
  ASSERT_TRUE(eventually([&] {
    return b.sql("SELECT status FROM pg_stat_wal_receiver") == "streaming" &&
           a.sql("SELECT count(*) FROM pg_stat_replication WHERE application_name = 'b' AND state = 'streaming'") == "1";
  }, 90s)) << b.log();
  ASSERT_EQ(a.sql("CREATE TABLE t(i int); INSERT INTO t SELECT generate_series(1, 100); SELECT count(*) FROM t"), "100");
  // Every thread of an agent is made at start-up: the count stays the same through the
  // switchover and the cycles after it (docs/architecture.md, "Threads").
  const int threads_a = a.agent_threads(), threads_b = b.agent_threads();
  ASSERT_GT(threads_a, 0);
  std::atomic<bool> sampling{true};
  std::atomic<int> changed{0};
  std::thread sampler([&] {
    while (sampling) {
      if (a.agent_threads() != threads_a || b.agent_threads() != threads_b) ++changed;
      std::this_thread::sleep_for(20ms);
    }
  });
  // What POST /switchover (or patronictl) writes (dcs.md §2.5).
  auto r = etcd_->etcdctl({"put", key("failover"), R"({"leader":"a","member":"b"})"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto t0 = Clock::now();
  ASSERT_TRUE(eventually([&] { return b.accepts_writes(); }, 30s)) << a.log() << "\n---- b ----\n" << b.log();
  std::printf("switchover: b accepts writes %.2f s after the failover key was written\n", seconds_since(t0));
  EXPECT_EQ(leader(), "b");
  EXPECT_EQ(b.sql("SELECT count(*) FROM t"), "100");
  EXPECT_TRUE(eventually([&] { return get("failover").value_or("") == "{}"; }, 20s)) << get("failover").value_or("");
  // The old primary follows the new one (cleanly shut down: no pg_rewind needed).
  ASSERT_TRUE(eventually([&] {
    return a.sql("SELECT status FROM pg_stat_wal_receiver") == "streaming" &&
           b.sql("SELECT count(*) FROM pg_stat_replication WHERE application_name = 'a' AND state = 'streaming'") == "1";
  }, 60s)) << a.log();
  EXPECT_EQ(a.log().find("pg_rewind succeeded"), std::string::npos);
  std::this_thread::sleep_for(6s);  // a few more cycles (loop_wait 2)
  sampling = false;
  sampler.join();
  EXPECT_EQ(changed.load(), 0) << "an agent started or ended a thread after start-up";
  EXPECT_EQ(a.agent_threads(), threads_a);
  EXPECT_EQ(b.agent_threads(), threads_b);
}

TEST_F(AgentTest, SecondAgentWithTheSameNameRefusesToStart) {
  AgentNode a("a", *etcd_);
  bootstrap(a);
  ASSERT_TRUE(eventually([&] { return get_json("members/a").is_object(); }, 10s));
  AgentNode twin("a", *etcd_);  // same member name, other directory and ports
  twin.start();
  auto status = twin.agent_wait(20s);
  ASSERT_TRUE(status) << "the duplicate agent keeps running:\n" << twin.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0);
  EXPECT_NE(twin.log().find("already a node named 'a' running"), std::string::npos) << twin.log();
  EXPECT_EQ(leader(), "a");
  EXPECT_TRUE(a.accepts_writes());
}

}  // namespace
}  // namespace custos::agent_test
