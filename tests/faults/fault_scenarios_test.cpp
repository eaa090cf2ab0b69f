// The fault suite (issue 12): a three-node cluster on a three-member etcd, TLS everywhere, where
// every path between the parties goes through a TCP proxy the test controls (TestCluster with
// `proxies`): each agent reaches etcd through proxies of its own, and the members reach each
// other's REST API and PostgreSQL through one proxy in front of each. A fault is a proxy set to
// blackhole (a partition: nothing arrives, callers run into timeouts) or reject, an etcd member
// stopped, an agent frozen with SIGSTOP or killed with SIGKILL, or a wall clock moved by
// libfaketime. Writers on every node (WriteRecorder, connected directly, as the node's own
// clients) record every acknowledged commit; each scenario reports
//   - dual-primary milliseconds (two nodes acknowledging writes at once),
//   - acknowledged commits missing from the final primary,
//   - the longest stretch without any acknowledged write,
// prints them as a FIGURE line, and appends them to $CUSTOS_FAULTS_RESULTS (JSON lines) for
// docs/reliability.md (tests/faults/run.sh).
//
// Suites: `Faults` (ctest label `faults`, part of the test command) and `FaultsFull` (label
// `faults_full`, run by tests/faults/run.sh).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../e2e/cluster_fixture.h"
#include "watchdog_emulator.h"
#include "write_recorder.h"

namespace custos::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Mode = test::TcpProxy::Mode;

constexpr const char* kFaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

struct ScenarioOptions {
  bool synchronous_mode = true;
  bool failsafe_mode = false;
  bool watchdog = false;     // required, testing driver on a FIFO read by a WatchdogEmulator
  bool faketime = false;     // every agent under libfaketime, offset file per node
  bool tls = true;
};

class FaultFixture : public ClusterFixture {
 protected:
  void start_cluster(const ScenarioOptions& so) {
    so_ = so;
    ClusterOptions o;
    o.nodes = 3;
    o.scope = "faults";
    o.etcd_members = 3;
    o.proxies = true;
    o.tls = so.tls;
    o.synchronous_mode = so.synchronous_mode;
    o.failsafe_mode = so.failsafe_mode;
    if (so.watchdog) {
      o.watchdog_mode = "required";
      o.watchdog_fifo = true;
    }
    make_cluster(o);
    if (so.watchdog) {
      // The emulators' thread resets a node by the pids the test thread noted (note_pids()): it
      // touches nothing of the TestCluster.
      reset_pids_ = std::vector<std::pair<std::atomic<pid_t>, std::atomic<pid_t>>>(static_cast<std::size_t>(c().size()));
      for (int i = 0; i < c().size(); ++i)
        watchdogs_.push_back(std::make_unique<test::WatchdogEmulator>(c().node(i).watchdog_file, [this, i] {
          auto& [agent, postmaster] = reset_pids_[static_cast<std::size_t>(i)];
          std::printf("[  EVENT   ] watchdog of node %d fired: machine reset (agent %d, postmaster %d)\n", i + 1,
                      agent.load(), postmaster.load());
          std::fflush(stdout);
          if (agent.load() > 0) ::kill(agent.load(), SIGKILL);
          if (postmaster.load() > 0) {
            ::kill(-postmaster.load(), SIGKILL);  // its session: every backend
            ::kill(postmaster.load(), SIGKILL);
          }
        }));
    }
    if (so.faketime) {
      for (int i = 0; i < c().size(); ++i) {
        Node& n = c().node(i);
        const std::string offset = n.dir + "/faketime";
        std::ofstream(offset) << "+0\n";
        n.env = {{"LD_PRELOAD", kFaketime},
                 {"FAKETIME_TIMESTAMP_FILE", offset},
                 {"FAKETIME_CACHE_DURATION", "1"},
                 {"FAKETIME_DONT_FAKE_MONOTONIC", "1"}};
      }
    }
    c().start_all();
    primary_ = c().wait_for_primary(150s);
    c().wait_for_streaming(primary_, others(primary_), 150s);
    test::WriteRecorder::create_table(c().conninfo(primary_));
    if (so.synchronous_mode) {
      // A synchronous standby is named in /sync: only it may take over without losing commits.
      ASSERT_TRUE(eventually(
          [&] {
            auto v = json::parse(c().get_key("sync").value_or(""), nullptr, false);
            return v.is_object() && v.contains("sync_standby") && v["sync_standby"].is_string();
          },
          60s))
          << c().get_key("sync").value_or("(no /sync)");
    }
    std::vector<test::WriteRecorder::Target> t;
    for (int i = 0; i < c().size(); ++i) t.push_back({c().name(i), c().conninfo(i)});
    writers_ = std::make_unique<test::WriteRecorder>(t);
    note_pids();
    writers_->start();
    std::this_thread::sleep_for(3s);  // a steady state before the fault
  }

  // Heals every link, waits until the cluster is whole again (one primary, both others
  // streaming), stops the writers and reports.
  test::WriteRecorder::Report finish(const std::string& scenario, const std::string& expectation) {
    c().heal_links();
    for (int i = 0; i < c().size(); ++i)
      if (!c().agent_running(i)) c().start_agent(i);
    const int p = c().wait_for_primary(150s);
    c().wait_for_streaming(p, others(p), 180s);
    std::this_thread::sleep_for(2s);
    writers_->stop();
    const auto rep = writers_->analyze(test::WriteRecorder::read_rows(c().conninfo(p)));
    std::printf("[  FIGURE  ] %s (%s): %s\n", scenario.c_str(), so_.synchronous_mode ? "sync" : "async",
                rep.to_string().c_str());
    std::fflush(stdout);
    if (const char* out = std::getenv("CUSTOS_FAULTS_RESULTS"); out && *out) {
      json row = {{"scenario", scenario},
                  {"synchronous_mode", so_.synchronous_mode},
                  {"failsafe_mode", so_.failsafe_mode},
                  {"watchdog", so_.watchdog},
                  {"tls", so_.tls},
                  {"dual_primary_ms", std::round(rep.dual_primary_ms)},
                  {"lost", rep.lost},
                  {"acknowledged", rep.acknowledged},
                  {"max_unavailable_s", std::round(rep.max_unavailable_s * 100) / 100},
                  {"expectation", expectation},
                  {"passed", !HasFailure()}};
      std::ofstream(out, std::ios::app) << row.dump() << "\n";
    }
    return rep;
  }

  void expect_safe(const test::WriteRecorder::Report& rep) {
    EXPECT_EQ(rep.dual_primary_ms, 0) << rep.to_string();
    if (so_.synchronous_mode) {
      EXPECT_EQ(rep.lost, 0) << rep.to_string();
    }
  }

  bool is_primary(int i) { return c().is_primary_sql(i) == std::optional<bool>(true); }

  // What a watchdog reset kills, as it is now (test thread only).
  void note_pids() {
    for (std::size_t i = 0; i < reset_pids_.size(); ++i) {
      reset_pids_[i].first = c().agent_pid(static_cast<int>(i));
      reset_pids_[i].second = c().postmaster_pid(static_cast<int>(i)).value_or(0);
    }
  }

  void set_clock(int i, const std::string& offset) { std::ofstream(c().node(i).dir + "/faketime") << offset << "\n"; }

  void TearDown() override {
    if (writers_) writers_->stop();
    watchdogs_.clear();
    ClusterFixture::TearDown();
  }

  // ---- scenario bodies, shared by the short and the full suite ---------------------------------

  // The primary loses etcd (every path blackholed) for twice the ttl. Without failsafe it must
  // stop taking writes before another node can take the lock; with failsafe it goes on because
  // both replicas confirm it, and nobody else promotes.
  void primary_cut_off_from_etcd(bool failsafe) {
    FaultFixture& f = *this;
    TestCluster& c = f.c();
    const int p = f.primary_;
    c.set_dcs_link(p, Mode::blackhole);
    const auto cut = Clock::now();
    if (failsafe) {
      while (seconds_since(cut) < 2.0 * c.options().ttl) {
        for (int i : f.others(p)) ASSERT_FALSE(f.is_primary(i)) << c.describe();
        std::this_thread::sleep_for(1s);
      }
      EXPECT_TRUE(f.is_primary(p));
    } else {
      ASSERT_TRUE(eventually([&] { return !f.is_primary(p); }, 60s)) << c.describe();
      report("primary cut off from etcd: read-only after", seconds_since(cut));
      const int q = c.wait_for_primary(90s);
      EXPECT_NE(q, p);
      std::this_thread::sleep_for(5s);
    }
    auto rep = f.finish(failsafe ? "primary cut off from etcd, failsafe" : "primary cut off from etcd",
                        failsafe ? "the primary keeps taking writes" : "another node takes over after the old one stopped");
    f.expect_safe(rep);
    if (failsafe) {
      EXPECT_LT(rep.max_unavailable_s, 3.0) << rep.to_string();
    }
  }

  // The primary's agent is frozen (SIGSTOP) for longer than the ttl. With the watchdog its
  // machine is reset before the lease ends; without, PostgreSQL goes on until the agent wakes up
  // (its lease fence then acts at once): how long two nodes could take writes is measured.
  void primary_agent_frozen(bool watchdog) {
    FaultFixture& f = *this;
    TestCluster& c = f.c();
    const int p = f.primary_;
    ::kill(c.agent_pid(p), SIGSTOP);
    const auto frozen = Clock::now();
    // Another node takes the lock and promotes (without the watchdog the old PostgreSQL may
    // still run as a primary meanwhile: what the writers measure).
    int q = -1;
    ASSERT_TRUE(eventually(
        [&] {
          const auto leader = c.leader_name();
          q = leader ? c.index_of(*leader) : -1;
          return q >= 0 && q != p && f.is_primary(q);
        },
        90s))
        << c.describe();
    report("frozen primary agent: new primary after", seconds_since(frozen));
    while (seconds_since(frozen) < c.options().ttl + 10.0) std::this_thread::sleep_for(500ms);
    if (c.agent_running(p)) ::kill(c.agent_pid(p), SIGCONT);
    if (watchdog) {
      const auto& wd = *f.watchdogs_.at(static_cast<std::size_t>(p));
      EXPECT_GE(wd.resets(), 1);
      EXPECT_EQ(wd.timeout_seconds(), c.options().ttl - 5);  // ttl - safety_margin
      // The reset came before the lease could end (the last keepalive was before the freeze).
      ASSERT_TRUE(wd.last_reset());
      EXPECT_LT(std::chrono::duration<double>(*wd.last_reset() - frozen).count(), c.options().ttl);
    }
    auto rep = f.finish(watchdog ? "primary agent frozen past the ttl, watchdog" : "primary agent frozen past the ttl",
                        watchdog                 ? "the watchdog resets the machine before the lease ends"
                        : f.so_.synchronous_mode ? "the old primary acknowledges nothing once its standby is promoted"
                                                 : "the old primary takes writes until its agent wakes up");
    if (watchdog || f.so_.synchronous_mode) f.expect_safe(rep);
  }

  ScenarioOptions so_;
  int primary_ = -1;
  std::unique_ptr<test::WriteRecorder> writers_;
  std::vector<std::unique_ptr<test::WatchdogEmulator>> watchdogs_;
  std::vector<std::pair<std::atomic<pid_t>, std::atomic<pid_t>>> reset_pids_;
};

// ---- the short suite (label faults) -----------------------------------------------------------

class Faults : public FaultFixture {};

TEST_F(Faults, PrimaryCutOffFromEtcdDemotesBeforeAnotherTakesOver) {
  start_cluster({});
  primary_cut_off_from_etcd(false);
}

TEST_F(Faults, PrimaryCutOffFromEtcdKeepsRunningWithFailsafe) {
  ScenarioOptions so;
  so.failsafe_mode = true;
  start_cluster(so);
  primary_cut_off_from_etcd(true);
}

TEST_F(Faults, FrozenPrimaryAgentIsResetByTheWatchdog) {
  ScenarioOptions so;
  so.watchdog = true;
  start_cluster(so);
  primary_agent_frozen(true);
}

// ---- the full suite (label faults_full, tests/faults/run.sh) ----------------------------------

class FaultsFull : public FaultFixture {};

TEST_F(FaultsFull, PrimaryCutOffFromEtcdAsync) {
  ScenarioOptions so;
  so.synchronous_mode = false;
  start_cluster(so);
  primary_cut_off_from_etcd(false);
}

// The replicas lose the primary (its REST API and PostgreSQL blackholed for them) while it
// still reaches etcd: it keeps the lock and stays the only primary.
TEST_F(FaultsFull, PrimaryCutOffFromTheReplicasButNotFromEtcd) {
  start_cluster({});
  const int p = primary_;
  c().set_inbound_links(p, Mode::blackhole);
  const auto cut = Clock::now();
  while (seconds_since(cut) < 2.0 * c().options().ttl) {
    for (int i : others(p)) ASSERT_FALSE(is_primary(i)) << c().describe();
    std::this_thread::sleep_for(1s);
  }
  EXPECT_TRUE(is_primary(p));
  EXPECT_EQ(c().leader_name(), c().name(p));
  expect_safe(finish("primary cut off from the replicas", "the primary keeps the lock"));
}

// A replica loses everything (etcd and the other members): nothing changes for the primary.
TEST_F(FaultsFull, AReplicaCutOff) {
  start_cluster({});
  const int r = others(primary_).front();
  c().set_dcs_link(r, Mode::blackhole);
  c().set_inbound_links(r, Mode::blackhole);
  std::this_thread::sleep_for(std::chrono::seconds(2 * c().options().ttl));
  EXPECT_TRUE(is_primary(primary_));
  EXPECT_EQ(c().leader_name(), c().name(primary_));
  expect_safe(finish("a replica cut off", "no failover"));
}

// One etcd member of three lost (nothing happens), then a second (no quorum: the primary stops
// taking writes), then both back (one primary again).
TEST_F(FaultsFull, EtcdMembersLostOneThenTwoThenBack) {
  start_cluster({});
  c().etcd_cluster().stop_member(0);
  std::this_thread::sleep_for(std::chrono::seconds(c().options().ttl));
  EXPECT_TRUE(is_primary(primary_));
  c().etcd_cluster().stop_member(1);
  ASSERT_TRUE(eventually([&] { return !is_primary(primary_); }, 60s)) << c().describe();
  for (int i = 0; i < c().size(); ++i) EXPECT_FALSE(is_primary(i));
  std::this_thread::sleep_for(10s);
  c().etcd_cluster().start_member(0);
  c().etcd_cluster().start_member(1);
  ASSERT_TRUE(c().etcd_cluster().wait_healthy(60s));
  expect_safe(finish("etcd: one member lost, then two, then back", "no primary without quorum"));
}

// The whole DCS down for twice the ttl and back, with failsafe: the primary keeps taking writes.
TEST_F(FaultsFull, WholeDcsDownAndBackWithFailsafe) {
  ScenarioOptions so;
  so.failsafe_mode = true;
  start_cluster(so);
  c().etcd_cluster().stop_all();
  const auto down = Clock::now();
  while (seconds_since(down) < 2.0 * c().options().ttl) {
    for (int i : others(primary_)) ASSERT_FALSE(is_primary(i)) << c().describe();
    std::this_thread::sleep_for(1s);
  }
  EXPECT_TRUE(is_primary(primary_));
  c().etcd_cluster().start_all();
  ASSERT_TRUE(c().etcd_cluster().wait_healthy(60s));
  auto rep = finish("whole DCS down and back, failsafe", "the primary keeps taking writes");
  expect_safe(rep);
  EXPECT_LT(rep.max_unavailable_s, 3.0) << rep.to_string();
}

TEST_F(FaultsFull, FrozenPrimaryAgentWithoutWatchdogAsync) {
  ScenarioOptions so;
  so.synchronous_mode = false;
  start_cluster(so);
  primary_agent_frozen(false);
}

TEST_F(FaultsFull, FrozenPrimaryAgentWithoutWatchdogSync) {
  start_cluster({});
  primary_agent_frozen(false);
}

// kill -9 of an agent at a random moment of a switchover: the old primary's, or the
// candidate's, started again 1-5 s later. The cluster must be whole after every round and never
// have two nodes acknowledging writes (the old primary's PostgreSQL, orphaned while its agent is
// gone, cannot acknowledge once its synchronous standby follows the new primary).
TEST_F(FaultsFull, AgentKilledAtRandomPointsOfASwitchover) {
  start_cluster({});
  std::mt19937 rng(static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  for (int round = 0; round < 4; ++round) {
    const int p = c().wait_for_primary(150s);
    c().wait_for_streaming(p, others(p), 180s);
    const int cand = others(p)[rng() % 2];
    const int victim = round % 2 == 0 ? p : cand;
    const int delay_ms = static_cast<int>(rng() % 3000);
    std::thread req([&] {
      c().rest(p, "POST", "/switchover", json{{"leader", c().name(p)}, {"candidate", c().name(cand)}}.dump(), true, 60s);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    c().kill_agent(victim);
    std::printf("[  EVENT   ] round %d: switchover %s -> %s, agent of %s killed after %d ms\n", round + 1,
                c().name(p).c_str(), c().name(cand).c_str(), c().name(victim).c_str(), delay_ms);
    req.join();
    // The agent is started again shortly after, as a service manager would: a primary whose
    // agent died is demoted by it (or fenced by its lease before that, when it comes back late).
    std::this_thread::sleep_for(std::chrono::milliseconds(1000 + rng() % 4000));
    c().start_agent(victim);
    const int np = c().wait_for_primary(150s);
    c().wait_for_streaming(np, others(np), 180s);
  }
  expect_safe(finish("agent killed at random points of a switchover", "one primary at a time"));
}

// The primary's wall clock jumps an hour forwards, then an hour backwards: leases are on the
// monotonic clock, so nothing happens. (Without TLS: a certificate issued a minute ago is not
// valid yet an hour earlier.)
TEST_F(FaultsFull, WallClockStepsOnThePrimary) {
  ScenarioOptions so;
  so.faketime = true;
  so.tls = false;
  start_cluster(so);
  const int p = primary_;
  for (const char* offset : {"+1h", "-1h", "+0"}) {
    set_clock(p, offset);
    const auto since = Clock::now();
    while (seconds_since(since) < c().options().ttl) {
      ASSERT_TRUE(is_primary(p)) << "after the clock step " << offset << "\n" << c().describe();
      ASSERT_EQ(c().leader_name(), c().name(p)) << offset;
      std::this_thread::sleep_for(1s);
    }
  }
  auto rep = finish("wall clock stepped +1h and -1h on the primary", "nothing changes");
  expect_safe(rep);
  EXPECT_LT(rep.max_unavailable_s, 2.0) << rep.to_string();
}

}  // namespace
}  // namespace custos::e2e
