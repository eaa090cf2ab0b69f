// The real HA loop and executor driven through hundreds of simulated cycles (tests/support: a
// SimClock, an in-memory DCS whose TTLs run on it, fake PostgreSQL servers): bootstrap,
// replication, lock loss, DCS errors, failover, switchover, a step that throws while holding the
// lock, a PostgreSQL that will not stop, and the thread count through it all.
#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include "agent/state_collector.h"
#include "log_capture.h"
#include "sim_cluster.h"

namespace custos::test {
namespace {

using nlohmann::json;

bool follows(SimNode& n, const std::string& leader) {
  const auto s = n.pg.server();
  return s.running && s.in_recovery && s.upstream && s.upstream->name == leader;
}

// A healthy three-node cluster led by node1.
void bring_up(SimCluster& c) {
  ASSERT_TRUE(c.rounds_until(
      [&] { return c.leader() == "node1" && follows(c.node("node2"), "node1") && follows(c.node("node3"), "node1"); },
      60))
      << "leader: " << c.leader().value_or("none");
}

std::optional<dcs::DcsError> unreachable() { return dcs::DcsError{dcs::DcsErrorKind::kUnreachable, "no etcd"}; }

int thread_count() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
  }
  return n;
}

TEST(AgentLoop, ThreeNodesBootstrapOnePrimaryTwoReplicas) {
  SimCluster c(3);
  bring_up(c);
  EXPECT_TRUE(c.node("node1").is_primary());
  EXPECT_TRUE(c.node("node1").pg.called("bootstrap"));
  EXPECT_TRUE(c.node("node1").pg.called("post_bootstrap"));
  EXPECT_FALSE(c.node("node2").pg.called("bootstrap"));
  EXPECT_TRUE(c.node("node2").pg.called("clone(node1)"));
  EXPECT_EQ(c.store.get("initialize"), c.node("node1").pg.server().sysid);
  ASSERT_TRUE(c.store.get("config"));
  EXPECT_TRUE(c.store.get("members/node3"));
}

TEST(AgentLoop, TheDynamicConfigurationIsCachedInTheDataDirectoryAsPatroniKeepsIt) {
  SimCluster c(3);
  bring_up(c);
  c.store.put("config", R"({"ttl": 20, "loop_wait": 10, "retry_timeout": 10, "postgresql": {"use_slots": true}})");
  c.node("node2").cycle();
  const std::string path = c.node("node2").settings.current()->config.data_dir() + "/patroni.dynamic.json";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  const json cached = json::parse(in);
  EXPECT_EQ(cached, json::parse(R"({"ttl": 20, "loop_wait": 1, "retry_timeout": 9, "postgresql": {"use_slots": true}})"));
  EXPECT_EQ(c.node("node2").settings.current()->ha.loop_wait, 1);
}

TEST(AgentLoop, InPausePostgresDownIsStoppedWhateverHappenedBefore) {
  SimCluster c(3);
  bring_up(c);
  auto state_of = [&](const std::string& name) {
    auto v = c.store.get("members/" + name);
    return v ? json::parse(*v).value("state", "") : std::string();
  };
  // Not paused: a postmaster that dies and cannot be started again is `start failed`.
  c.node("node3").pg.crash();
  c.node("node3").pg.fail("start");
  c.node("node3").cycle();  // 'restarting after failure' starts, and fails
  c.node("node3").cycle();  // its result is taken in
  EXPECT_EQ(state_of("node3"), "start failed");
  // Paused: PostgreSQL not running is `stopped` (Patroni's words for it), also when the state
  // was `crashed` before; nothing is started.
  c.store.put("config", R"({"pause": true})");
  c.node("node3").pg.crash();
  c.node("node3").cycle();
  EXPECT_EQ(state_of("node3"), "stopped");
  EXPECT_FALSE(c.node("node3").pg.server().running);
  c.node("node2").pg.crash();
  c.node("node2").cycle();
  EXPECT_EQ(state_of("node2"), "stopped");
}

TEST(AgentLoop, APostmasterThatDiesWhileStartingIsStartFailedNotCrashed) {
  SimCluster c(3);
  bring_up(c);
  SimNode& n3 = c.node("node3");
  auto s = n3.pg.server();
  s.accepting = false;  // still starting
  n3.pg.set_server(s);
  n3.cycle();
  ASSERT_EQ(n3.agent->memory().local.state, ha::PgState::starting);
  // Patroni: a start that ends with no postmaster is `start failed`; `crashed` is for a
  // running server that went away. What the collector makes of it is what the decision sees.
  n3.pg.crash();
  agent::NodeMemory memory = n3.agent->memory();
  agent::StateCollector collector(n3.pg);
  collector.collect(memory, *n3.settings.current(), c.clock.now_seconds(), std::nullopt);
  EXPECT_EQ(memory.local.state, ha::PgState::start_failed);
  // A running one that dies is `crashed`.
  n3.cycle();
  n3.cycle();
  ASSERT_EQ(n3.agent->memory().local.state, ha::PgState::running);
  n3.pg.crash();
  memory = n3.agent->memory();
  collector.collect(memory, *n3.settings.current(), c.clock.now_seconds(), std::nullopt);
  EXPECT_EQ(memory.local.state, ha::PgState::crashed);
}

TEST(AgentLoop, StartsAfterACrashOrADemotionRunUnderPatronisNames) {
  SimCluster c(3);
  bring_up(c);
  SimNode& n3 = c.node("node3");
  {
    LogCapture log;
    n3.pg.block("start");
    n3.pg.crash();
    n3.cycle();  // the start waits in the fake: the action is in flight
    EXPECT_TRUE(log.has("info: started restarting after failure"));
    EXPECT_TRUE(log.has("info: starting as a secondary"));
    n3.cycle();
    EXPECT_TRUE(log.has("info: restarting after failure in progress"));
    auto v = c.store.get("members/node3");
    ASSERT_TRUE(v);
    EXPECT_EQ(json::parse(*v).value("state", ""), "starting");
    n3.pg.release("start");
    n3.settle();
    n3.cycle();
    EXPECT_TRUE(n3.pg.server().running);
    EXPECT_EQ(n3.agent->memory().local.state, ha::PgState::running);
  }
  // A primary that finds another member holding the lock: immediate-nolock demote, then the
  // start as a replica runs as 'starting after demotion' (no pg_rewind possible here, so
  // there is no divergence check to wait for first).
  auto s1 = c.node("node1").pg.server();
  s1.wal_log_hints = false;
  c.node("node1").pg.set_server(s1);
  LogCapture log;
  c.store.put("leader", "node2");
  c.node("node1").cycle();
  EXPECT_TRUE(log.has("info: Demoting self (immediate-nolock)"));
  EXPECT_TRUE(log.has("info: started starting after demotion"));
  EXPECT_TRUE(c.node("node1").pg.server().running);
  EXPECT_TRUE(c.node("node1").pg.server().in_recovery);
}

TEST(AgentLoop, GetPatroniAnswersTheWalPositionOfNowNotOfTheLastCycle) {
  SimCluster c(3);
  bring_up(c);
  c.round();  // the clone's result taken in: nothing runs in the background
  SimNode& n2 = c.node("node2");
  auto s = n2.pg.server();
  s.lsn += 0x100000;  // replayed since the cycle
  n2.pg.set_server(s);
  auto live = n2.agent->live_pg_status(std::chrono::milliseconds(500));
  ASSERT_TRUE(live);
  ASSERT_TRUE(live->replay_lsn);
  EXPECT_EQ(*live->replay_lsn, s.lsn);
  // When PostgreSQL does not answer, the cycle's answer stands.
  n2.pg.fail("query_status");
  live = n2.agent->live_pg_status(std::chrono::milliseconds(500));
  ASSERT_TRUE(live);
  EXPECT_LT(*live->replay_lsn, s.lsn);
  n2.pg.clear_failure("query_status");
}

// Requests arriving while GET /patroni's status query runs share the next query: a burst of
// health checks does not queue one query each on the status connection, and each still gets a
// position read after it asked, never the answer of the query that was already running.
TEST(AgentLoop, GetPatroniRequestsArrivingDuringAStatusQueryShareTheNextOne) {
  SimCluster c(3);
  bring_up(c);
  c.round();
  SimNode& n2 = c.node("node2");
  // Every status query sees WAL replayed since the previous one.
  n2.pg.on_call([&](const std::string& op) {
    if (op != "query_status") return;
    auto s = n2.pg.server();
    s.lsn += 0x100000;
    n2.pg.set_server(s);
  });
  auto status_queries = [&] {
    auto calls = n2.pg.calls();
    return std::count(calls.begin(), calls.end(), std::string("query_status"));
  };
  n2.pg.clear_calls();
  n2.pg.block("query_status");
  std::optional<api::PgStatus> first_answer;
  std::thread first([&] { first_answer = n2.agent->live_pg_status(std::chrono::milliseconds(10000)); });
  for (int i = 0; i < 1000 && !n2.pg.blocked_in("query_status"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(n2.pg.blocked_in("query_status"));
  const int64_t first_lsn = n2.pg.server().lsn;  // what the running query reports
  constexpr int kLate = 6;
  std::vector<std::optional<api::PgStatus>> answers(kLate);
  std::vector<std::thread> late;
  for (int i = 0; i < kLate; ++i)
    late.emplace_back([&, i] { answers[i] = n2.agent->live_pg_status(std::chrono::milliseconds(10000)); });
  for (int i = 0; i < 2000 && n2.agent->status_query_waiters() < kLate; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(n2.agent->status_query_waiters(), kLate);
  EXPECT_EQ(status_queries(), 1);  // the late ones wait; they do not queue queries of their own
  n2.pg.release("query_status");
  first.join();
  for (auto& t : late) t.join();
  n2.pg.on_call(nullptr);
  ASSERT_TRUE(first_answer && first_answer->replay_lsn);
  EXPECT_EQ(*first_answer->replay_lsn, first_lsn);
  for (const auto& a : answers) {
    ASSERT_TRUE(a);
    ASSERT_TRUE(a->replay_lsn);
    EXPECT_EQ(*a->replay_lsn, first_lsn + 0x100000) << "the late requests share the next query";
  }
  EXPECT_EQ(status_queries(), 2);
}

TEST(AgentLoop, InPauseAStartingPostmasterIsRunning) {
  SimCluster c(3);
  bring_up(c);
  c.store.put("config", R"({"pause": true})");
  SimNode& n3 = c.node("node3");
  auto s = n3.pg.server();
  s.accepting = false;
  n3.pg.set_server(s);
  n3.cycle();
  auto v = c.store.get("members/node3");
  ASSERT_TRUE(v);
  EXPECT_EQ(json::parse(*v).value("state", ""), "running");  // Patroni does not wait for the startup in pause
}

TEST(AgentLoop, AShutdownWhosePostgresWillNotStopPublishesStopFailed) {
  SimCluster c(3);
  bring_up(c);
  SimNode& n2 = c.node("node2");
  n2.pg.refuse_stop(true);
  n2.agent->shutdown();
  auto v = c.store.get("members/node2");
  ASSERT_TRUE(v);
  EXPECT_EQ(json::parse(*v).value("state", ""), "stop failed");
  n2.pg.refuse_stop(false);
}

// ha.md §6.4 at shutdown. A synchronous standby of the current leader publishes `nosync` and
// waits (up to 2 x loop_wait) for the leader to pick another; one whose leader is gone (the
// whole cluster stopping, primary first) stops at once, as Patroni's does.
void make_node2_the_sync_standby(SimCluster& c) {
  c.store.put("config", R"({"ttl":20,"loop_wait":1,"retry_timeout":9,"synchronous_mode":true})");
  for (const char* n : {"node1", "node2", "node3"}) c.node(n).cycle();
  c.store.put("sync", R"({"leader":"node1","sync_standby":"node2"})");
}

bool nosync_in(const std::optional<std::string>& member_value) {
  return member_value && json::parse(*member_value).value("tags", json::object()).value("nosync", false);
}

TEST(AgentLoop, ASyncStandbyStoppingPublishesNosyncAndWaitsForTheLeader) {
  SimCluster c(3);
  bring_up(c);
  make_node2_the_sync_standby(c);
  // What node2's member key says each time node2 reads the cluster while it waits.
  std::vector<bool> nosync_while_waiting;
  c.store.set_fault([&](const std::string& member, const std::string& op) -> std::optional<dcs::DcsError> {
    if (member == "node2" && op == "get_cluster") nosync_while_waiting.push_back(nosync_in(c.store.get("members/node2")));
    return std::nullopt;
  });
  const double before = c.clock.now_seconds();
  c.node("node2").agent->shutdown();
  c.store.set_fault(nullptr);
  EXPECT_DOUBLE_EQ(c.clock.now_seconds() - before, 2.0) << "node1 never cycled: node2 waited 2 x loop_wait";
  ASSERT_FALSE(nosync_while_waiting.empty());
  for (bool nosync : nosync_while_waiting) EXPECT_TRUE(nosync);
  EXPECT_FALSE(c.node("node2").pg.server().running);
  EXPECT_FALSE(nosync_in(c.store.get("members/node2"))) << "the hint ends with the stop, as in Patroni";
}

TEST(AgentLoop, ASyncStandbyStoppingAfterTheLeaderLeftDoesNotWait) {
  SimCluster c(3);
  bring_up(c);
  make_node2_the_sync_standby(c);
  c.node("node1").agent->shutdown();
  ASSERT_FALSE(c.store.get("leader")) << "the primary's shutdown releases the lock";
  ASSERT_TRUE(c.store.get("sync")) << "/sync outlives its leader, as in Patroni";
  LogCapture log;
  const double before = c.clock.now_seconds();
  c.node("node2").agent->shutdown();
  EXPECT_DOUBLE_EQ(c.clock.now_seconds() - before, 0.0);
  EXPECT_EQ(log.count_containing("Waiting for primary to release us"), 0);
  EXPECT_EQ(log.count_containing("still listed as a synchronous standby"), 0);
  EXPECT_FALSE(c.node("node2").pg.server().running);
}

TEST(AgentLoop, FailuresAreLoggedInPatronisWords) {
  SimCluster c(3);
  bring_up(c);
  {
    LogCapture log;
    c.node("node2").pg.throw_once("query_status");
    c.node("node2").cycle();
    EXPECT_EQ(log.count_containing("error: Unexpected exception: "), 1);
    EXPECT_TRUE(log.has("info: Unexpected exception raised, please report it as a BUG"));
  }
  LogCapture log;
  c.store.set_fault([](const std::string& member, const std::string&) -> std::optional<dcs::DcsError> {
    if (member == "node3") return unreachable();
    return std::nullopt;
  });
  c.node("node3").cycle();
  EXPECT_TRUE(log.has("error: Error communicating with DCS"));
  c.store.set_fault(nullptr);
}

TEST(AgentLoop, AFatalPlanIsNotAlsoLoggedAsTheCycleMessage) {
  SimCluster c(3);
  bring_up(c);
  c.store.put("initialize", "7399999999999999999");
  LogCapture log;
  c.node("node2").cycle();
  ASSERT_TRUE(c.node("node2").agent->memory().fatal);
  EXPECT_EQ(log.count_containing("system ID mismatch"), 0);  // logged once, at CRITICAL, as the agent exits
  EXPECT_EQ(*c.node("node2").agent->memory().fatal,
            "system ID mismatch, node node2 belongs to a different cluster: 7399999999999999999 != " +
                c.node("node2").pg.server().sysid);
}

TEST(AgentLoop, SteadyForHundredsOfCyclesWithLeasesRunningOnTheClock) {
  SimCluster c(3);
  bring_up(c);
  for (int i = 0; i < 300; ++i) {
    c.round(10);  // loop_wait
    ASSERT_EQ(c.leader(), "node1") << "round " << i;
  }
  EXPECT_TRUE(c.node("node1").is_primary());
  EXPECT_TRUE(follows(c.node("node2"), "node1"));
  EXPECT_FALSE(c.node("node2").pg.called("promote"));
  EXPECT_EQ(c.node("node1").agent->consecutive_failures(), 0);
}

TEST(AgentLoop, LostLockDemotesWithoutReleasing) {
  SimCluster c(3);
  bring_up(c);
  c.store.put("leader", "node2");  // someone else holds it now
  c.node("node1").cycle();
  EXPECT_TRUE(c.node("node1").pg.called("stop(immediate)"));
  EXPECT_EQ(c.store.get("leader"), "node2");
  EXPECT_FALSE(c.node("node1").holds_lock());
}

TEST(AgentLoop, DcsUnreachableDemotesThePrimaryAndAReplicaTakesOverAfterTheTtl) {
  SimCluster c(3);
  bring_up(c);
  c.store.set_fault([](const std::string& member, const std::string&) -> std::optional<dcs::DcsError> {
    if (member == "node1") return unreachable();
    return std::nullopt;
  });
  c.node("node1").cycle();
  // DCS not accessible: offline demote (fast stop, started again read-only).
  EXPECT_TRUE(c.node("node1").pg.called("stop(fast)"));
  EXPECT_TRUE(c.node("node1").pg.server().in_recovery);
  // The lock expires after the ttl; node2 or node3 wins and the other follows.
  ASSERT_TRUE(c.rounds_until([&] { return c.leader() && *c.leader() != "node1"; }, 20, 5));
  const std::string winner = *c.leader();
  SimNode& other = c.node(winner == "node2" ? "node3" : "node2");
  ASSERT_TRUE(c.rounds_until([&] { return c.node(winner).is_primary() && follows(other, winner); }, 20));
  // node1 comes back once the DCS does.
  c.store.set_fault(nullptr);
  ASSERT_TRUE(c.rounds_until([&] { return follows(c.node("node1"), winner); }, 20));
}

TEST(AgentLoop, FailoverAfterThePrimaryDied) {
  SimCluster c(3);
  bring_up(c);
  // node1's machine is gone: its agent no longer runs, its PostgreSQL is down.
  c.node("node1").pg.crash();
  auto n1 = std::move(c.nodes[0]);
  c.nodes.erase(c.nodes.begin());
  ASSERT_TRUE(c.rounds_until([&] { return c.leader() && *c.leader() != "node1"; }, 20, 5));
  const std::string winner = *c.leader();
  SimNode& other = c.node(winner == "node2" ? "node3" : "node2");
  ASSERT_TRUE(c.rounds_until([&] { return c.node(winner).is_primary() && follows(other, winner); }, 20));
  EXPECT_EQ(c.node(winner).pg.server().timeline, 2);
}

TEST(AgentLoop, SwitchoverThroughTheFailoverKey) {
  SimCluster c(3);
  bring_up(c);
  c.store.put("failover", R"({"leader":"node1","member":"node2"})");
  ASSERT_TRUE(c.rounds_until([&] { return c.leader() == "node2" && c.node("node2").is_primary(); }, 30));
  ASSERT_TRUE(c.rounds_until([&] { return follows(c.node("node1"), "node2") && follows(c.node("node3"), "node2"); }, 30));
  EXPECT_TRUE(c.node("node1").pg.called("checkpoint"));
  EXPECT_FALSE(c.node("node3").pg.called("promote"));
}

TEST(AgentLoop, AStepThatThrowsWhileHoldingTheLockFencesThePrimaryBeforeTheLeaseEnds) {
  SimCluster c(3);
  bring_up(c);
  SimNode& n1 = c.node("node1");
  c.round(10);
  const double lease_end = *n1.agent->memory().local.last_lock_write + 30;
  // sync_replication_slots runs in every steady cycle of the primary: make it throw.
  n1.pg.throw_once("sync_slots");
  n1.pg.clear_calls();
  EXPECT_TRUE(n1.cycle());  // the first failure: fenced, the agent goes on
  EXPECT_EQ(n1.agent->consecutive_failures(), 1);
  EXPECT_TRUE(n1.pg.called("stop(immediate)"));
  EXPECT_FALSE(n1.pg.server().running);
  // In the very cycle that failed, before any time passed (the lease still had ~30 s to run).
  EXPECT_LT(c.clock.now_seconds(), lease_end);
  EXPECT_NE(c.leader(), std::optional<std::string>("node1"));  // released at once
  EXPECT_FALSE(n1.holds_lock());
  // Another member takes over.
  ASSERT_TRUE(c.rounds_until([&] { return c.leader() && *c.leader() != "node1"; }, 10));
}

TEST(AgentLoop, AFenceThatCannotStopPostgresKeepsTheLockAndTheAgent) {
  SimCluster c(2);
  ASSERT_TRUE(c.rounds_until([&] { return c.leader() == "node1" && follows(c.node("node2"), "node1"); }, 60));
  SimNode& n1 = c.node("node1");
  n1.pg.refuse_stop(true);
  for (int i = 0; i < 5; ++i) {
    n1.pg.throw_once("sync_slots");
    EXPECT_TRUE(n1.cycle()) << "the agent must not exit while its PostgreSQL still runs as primary";
  }
  EXPECT_GE(n1.agent->consecutive_failures(), agent::Agent::kMaxFailures);
  EXPECT_TRUE(n1.pg.server().running);
  EXPECT_EQ(c.leader(), "node1") << "the lock must stay while PostgreSQL may accept writes";
  // Once it can be stopped, the next failure fences it.
  n1.pg.refuse_stop(false);
  n1.pg.throw_once("sync_slots");
  n1.cycle();
  EXPECT_FALSE(n1.pg.server().running);
  EXPECT_NE(c.leader(), std::optional<std::string>("node1"));
}

TEST(AgentLoop, AFenceDuringARestartTaskLeavesPostgresStopped) {
  SimCluster c(2);
  ASSERT_TRUE(c.rounds_until([&] { return c.leader() == "node1" && follows(c.node("node2"), "node1"); }, 60));
  SimNode& n1 = c.node("node1");
  n1.pg.block("start");  // the restart task stops PostgreSQL, then waits to start it again
  n1.agent->executor().execute(ha::Decision(ha::Action::restart, {ha::step::Restart{}}, "restart"));
  for (int i = 0; i < 100 && !n1.pg.blocked_in("start"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(n1.pg.blocked_in("start"));
  bool thrown = false;
  c.store.set_fault([&](const std::string& member, const std::string& op) -> std::optional<dcs::DcsError> {
    if (member == "node1" && op == "update_leader" && !thrown) {
      thrown = true;
      throw std::runtime_error("simulated bug");
    }
    return std::nullopt;
  });
  // The cycle fails while the restart task is about to start PostgreSQL again: the fence
  // cancels the task, so that start is refused once it proceeds.
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    n1.pg.release("start");
  });
  n1.cycle();
  releaser.join();
  n1.settle();
  EXPECT_TRUE(thrown);
  EXPECT_FALSE(n1.pg.server().running) << "the restart task started PostgreSQL after the fence";
  auto done = n1.agent->worker().take_finished();
  ASSERT_TRUE(done);
  EXPECT_FALSE(done->ok);
}

// A dynamic configuration change that arrives while a task (here a restart, about to start
// PostgreSQL again) runs: the files are rewritten and PostgreSQL reloaded once the task is over,
// so the running server ends with the new settings and can report pending_restart.
TEST(AgentLoop, AConfigurationChangeDuringATaskIsAppliedWhenTheTaskEnds) {
  SimCluster c(2);
  ASSERT_TRUE(c.rounds_until([&] { return c.leader() == "node1" && follows(c.node("node2"), "node1"); }, 60));
  SimNode& n2 = c.node("node2");
  n2.settle();  // the basebackup task that made it a replica has reported
  n2.cycle();
  n2.settle();
  ASSERT_FALSE(n2.agent->worker().busy());
  n2.pg.block("start");
  n2.agent->executor().execute(ha::Decision(ha::Action::restart, {ha::step::Restart{}}, "restart"));
  for (int i = 0; i < 100 && !n2.pg.blocked_in("start"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(n2.pg.blocked_in("start"));

  auto cluster = c.node("node1").dcs.get_cluster();
  ASSERT_TRUE(cluster && cluster->config());
  nlohmann::json config = cluster->config()->data();
  config["postgresql"]["parameters"]["work_mem"] = "9MB";
  ASSERT_TRUE(c.node("node1").dcs.set_config_value(config.dump(), cluster->config()->version));
  n2.pg.clear_calls();
  n2.cycle();  // sees the change while the task is still blocked
  EXPECT_FALSE(n2.pg.called("rewrite_configuration")) << "rewritten under the running task";
  EXPECT_EQ(n2.settings.current()->pg.conf_parameters.at("work_mem"), "9MB");

  n2.pg.release("start");
  n2.settle();
  for (int i = 0; i < 3 && !n2.pg.called("rewrite_configuration"); ++i) {
    c.clock.advance_seconds(1.0);
    n2.cycle();
  }
  EXPECT_TRUE(n2.pg.called("rewrite_configuration")) << "the change was lost";
  EXPECT_TRUE(n2.pg.called("reload"));
  EXPECT_EQ(n2.pg.settings().conf_parameters.at("work_mem"), "9MB");
  EXPECT_TRUE(n2.pg.server().running);
}

// GET /patroni on a primary reports the walsenders, asked for on demand: a burst of requests
// costs one pg_stat_replication query, and a request a second later asks again.
TEST(AgentLoop, TheWalsenderListOfGetPatroniIsQueriedAtMostOncePerSecond) {
  SimCluster c(2);
  ASSERT_TRUE(c.rounds_until([&] { return c.leader() == "node1" && follows(c.node("node2"), "node1"); }, 60));
  SimNode& n1 = c.node("node1");
  n1.settle();
  n1.cycle();
  n1.settle();
  auto queries = [&] {
    auto calls = n1.pg.calls();
    return std::count(calls.begin(), calls.end(), std::string("replication_connections"));
  };
  n1.pg.clear_calls();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(n1.agent->live_pg_status(std::chrono::milliseconds(100)));
  EXPECT_EQ(queries(), 1);
  c.clock.advance_seconds(0.5);
  ASSERT_TRUE(n1.agent->live_pg_status(std::chrono::milliseconds(100)));
  EXPECT_EQ(queries(), 1);
  c.clock.advance_seconds(0.6);
  ASSERT_TRUE(n1.agent->live_pg_status(std::chrono::milliseconds(100)));
  EXPECT_EQ(queries(), 2);
  // A replica has no walsenders to report: never asked.
  SimNode& n2 = c.node("node2");
  n2.settle();
  n2.pg.clear_calls();
  n2.agent->live_pg_status(std::chrono::milliseconds(100));
  EXPECT_FALSE(n2.pg.called("replication_connections"));
}

TEST(AgentLoop, RepeatedFailuresMakeTheAgentExit) {
  SimCluster c(2);
  ASSERT_TRUE(c.rounds_until([&] { return c.leader() == "node1" && follows(c.node("node2"), "node1"); }, 60));
  SimNode& n2 = c.node("node2");
  c.store.set_fault([](const std::string& member, const std::string& op) -> std::optional<dcs::DcsError> {
    if (member == "node2" && op == "touch_member") throw std::runtime_error("simulated bug");
    return std::nullopt;
  });
  EXPECT_TRUE(n2.cycle());
  EXPECT_TRUE(n2.cycle());
  EXPECT_FALSE(n2.cycle());  // the third in a row
  EXPECT_EQ(n2.agent->consecutive_failures(), agent::Agent::kMaxFailures);
  // A replica is never fenced: it accepts no writes.
  EXPECT_FALSE(n2.pg.called("stop("));
}

TEST(AgentLoop, APostgresThatWillNotStopKeepsTheLockAndItsDataDirectory) {
  SimCluster c(2);
  ASSERT_TRUE(c.rounds_until([&] { return c.leader() == "node1" && follows(c.node("node2"), "node1"); }, 60));
  SimNode& n1 = c.node("node1");
  n1.pg.refuse_stop(true);
  c.store.put("failover", R"({"leader":"node1","member":"node2"})");
  for (int i = 0; i < 5; ++i) c.round();
  // The graceful demote could not stop PostgreSQL: the lock was never released, nobody else
  // promoted, and the data directory was never touched.
  EXPECT_EQ(c.leader(), "node1");
  EXPECT_FALSE(c.node("node2").pg.called("promote"));
  EXPECT_EQ(n1.pg.moves_while_running(), 0);
  EXPECT_TRUE(n1.pg.server().running);
}

TEST(AgentLoop, FailedTakeLeaderAfterBootstrapLeavesTheNodeWithoutTheLockUntilItWinsTheRace) {
  SimCluster c;
  SimNode& n1 = c.add("node1");
  bool failed = false;
  c.store.set_fault([&](const std::string&, const std::string& op) -> std::optional<dcs::DcsError> {
    if (op == "take_leader" && !failed) {
      failed = true;
      return unreachable();
    }
    return std::nullopt;
  });
  bool saw_without_lock = false;
  for (int i = 0; i < 20 && c.leader() != "node1"; ++i) {
    c.round();
    if (failed && !c.leader()) saw_without_lock = saw_without_lock || !n1.holds_lock();
  }
  EXPECT_TRUE(failed);
  EXPECT_TRUE(saw_without_lock);
  EXPECT_EQ(c.leader(), "node1");  // won the race on a later cycle
  EXPECT_TRUE(n1.holds_lock());
}

TEST(AgentLoop, StopRequestedDuringACycleStartsNoAsyncTask) {
  SimCluster c;
  SimNode& n1 = c.add("node1");
  // SIGTERM arrives while the cycle runs (just before the bootstrap would start).
  c.store.set_fault([&](const std::string&, const std::string& op) -> std::optional<dcs::DcsError> {
    if (op == "initialize") n1.agent->request_stop();
    return std::nullopt;
  });
  n1.cycle();
  EXPECT_FALSE(n1.pg.called("bootstrap"));
  EXPECT_FALSE(n1.agent->worker().busy());
}

TEST(AgentLoop, AStopEndsAWaitForARestartOutcome) {
  SimCluster c;
  SimNode& n1 = c.add("node1");
  const uint64_t seq = n1.agent->restart_sequence();
  std::optional<agent::Agent::RestartOutcome> outcome{agent::Agent::RestartOutcome{}};
  const auto t0 = std::chrono::steady_clock::now();
  std::thread waiter([&] { outcome = n1.agent->wait_restart_after(seq, std::chrono::seconds(30)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  n1.agent->request_stop();
  waiter.join();
  EXPECT_FALSE(outcome.has_value());  // no outcome: stopping
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  // A stop requested before the wait began is not lost either.
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_FALSE(n1.agent->wait_restart_after(seq, std::chrono::seconds(30)).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - t1, std::chrono::seconds(5));
}

TEST(AgentLoop, ThreadCountStaysTheSameThroughASwitchoverAndHundredsOfCycles) {
  SimCluster c(3);
  bring_up(c);
  c.round();
  const int baseline = thread_count();
  std::atomic<int> max_seen{baseline}, min_seen{baseline};
  auto sample = [&](const std::string&) {
    const int n = thread_count();
    if (n > max_seen) max_seen = n;
    if (n < min_seen) min_seen = n;
  };
  for (auto& n : c.nodes) n->pg.on_call(sample);
  c.store.put("failover", R"({"leader":"node1","member":"node2"})");
  ASSERT_TRUE(c.rounds_until([&] { return c.leader() == "node2" && follows(c.node("node1"), "node2"); }, 40));
  for (int i = 0; i < 100; ++i) {
    c.round(10);
    sample("round");
  }
  for (auto& n : c.nodes) n->pg.on_call(nullptr);
  EXPECT_EQ(max_seen.load(), baseline);
  EXPECT_EQ(min_seen.load(), baseline);
  EXPECT_EQ(thread_count(), baseline);
}

}  // namespace
}  // namespace custos::test
