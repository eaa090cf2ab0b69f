// The executor against the fakes of tests/support: every ha::Action is carried out by at least one
// scenario here (ExecutorCoverage checks that), each looking at what reached the fake PostgreSQL,
// the in-memory DCS, the watchdog, the hooks and the agent's memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <set>
#include <thread>

#include "ha/decision.h"
#include "log_capture.h"
#include "sim_cluster.h"

namespace custos::test {
namespace {

using ha::Action;
using nlohmann::json;
namespace step = ha::step;

// A two-node cluster: node1 the primary holding the lock, node2 a streaming replica.
class TwoNodes {
 public:
  explicit TwoNodes(const json& overrides = json::object()) : c(0) {
    c.add("node1", overrides);
    c.add("node2", overrides);
    const bool ok = c.rounds_until(
        [&] { return c.leader() == "node1" && n2().pg.server().running && n2().pg.server().in_recovery; }, 40);
    if (!ok) throw std::runtime_error("the two-node cluster did not come up");
    c.round();
  }
  SimNode& n1() { return c.node("node1"); }
  SimNode& n2() { return c.node("node2"); }
  // Runs a plan of `steps` on `node` (after loading its view like a cycle does).
  agent::ExecutionResult run(SimNode& node, std::vector<ha::Step> steps, const std::string& message = "done") {
    reload_view(node);
    auto r = node.agent->executor().execute(ha::Decision(Action::none, std::move(steps), message));
    node.settle();
    return r;
  }
  // A conditional plan: `cond` then the message of the branch taken.
  std::string run_branch(SimNode& node, ha::Step cond) {
    reload_view(node);
    auto d = ha::Decision::branch({}, std::move(cond), ha::Decision(Action::none, {}, "success"),
                                  ha::Decision(Action::none, {}, "failure"));
    auto r = node.agent->executor().execute(d);
    node.settle();
    return r.dcs_error ? "dcs error" : r.message;
  }
  void reload_view(SimNode& node) {
    auto v = node.dcs.get_cluster();
    if (v) node.agent->memory().view = v.value();
  }
  // Takes the async outcome like the next cycle would.
  void take_async(SimNode& node) {
    if (auto done = node.agent->worker().take_finished()) node.agent->executor().apply_async_result(*done);
  }
  ha::LocalState& local(SimNode& node) { return node.agent->memory().local; }

  SimCluster c;
};

struct Scenario {
  Action action;
  std::string name;
  std::function<void()> run;
};

std::vector<Scenario> scenarios() {
  std::vector<Scenario> s;
  auto add = [&](Action a, const std::string& name, std::function<void()> fn) { s.push_back({a, name, fn}); };

  add(Action::none, "NoneDoesNothing", [] {
    TwoNodes t;
    t.n1().pg.clear_calls();
    auto r = t.run(t.n1(), {step::None{}}, "nothing to do");
    EXPECT_EQ(r.message, "nothing to do");
    EXPECT_FALSE(r.dcs_error);
    EXPECT_TRUE(t.n1().pg.calls().empty());
  });
  add(Action::touch_member, "TouchMemberWritesTheMemberKey", [] {
    TwoNodes t;
    t.c.store.erase("members/node1");
    t.run(t.n1(), {step::TouchMember{}});
    auto v = t.c.store.get("members/node1");
    ASSERT_TRUE(v);
    json m = json::parse(*v);
    EXPECT_EQ(m["role"], "primary");  // the default presentation, Patroni 4.1
    EXPECT_EQ(m["version"], "4.1.0");
    EXPECT_EQ(m["state"], "running");
    EXPECT_EQ(m["conn_url"], "postgres://node1:5432/postgres");
  });
  add(Action::write_initialize, "WriteInitializeWritesTheSystemIdentifier", [] {
    TwoNodes t;
    t.c.store.erase("initialize");
    t.run(t.n1(), {step::WriteInitialize{true}});
    EXPECT_EQ(t.c.store.get("initialize"), t.n1().pg.server().sysid);
  });
  add(Action::write_config, "WriteConfigWritesTheDynamicConfiguration", [] {
    TwoNodes t;
    t.c.store.erase("config");
    t.run(t.n1(), {step::WriteConfig{}});
    auto v = t.c.store.get("config");
    ASSERT_TRUE(v);
    EXPECT_EQ(json::parse(*v)["ttl"], 30);
  });
  add(Action::reload_cluster, "ReloadClusterReadsTheNewView", [] {
    TwoNodes t;
    t.c.store.put("failover", R"({"leader":"node1","member":"node2"})");
    t.n1().agent->executor().execute(ha::Decision(Action::none, {step::ReloadCluster{}}, ""));
    ASSERT_TRUE(t.n1().agent->memory().view);
    ASSERT_TRUE(t.n1().agent->memory().view->failover());
    EXPECT_EQ(t.n1().agent->memory().view->failover()->candidate, std::optional<std::string>("node2"));
  });
  add(Action::release_lock, "ReleaseLockDeletesTheLeaderKey", [] {
    TwoNodes t;
    ASSERT_TRUE(t.local(t.n1()).last_lock_write);
    t.run(t.n1(), {step::ReleaseLock{}});
    EXPECT_FALSE(t.c.leader());
    EXPECT_FALSE(t.local(t.n1()).last_lock_write);
  });
  add(Action::release_lock, "VoluntaryReleaseSaysLeaderKeyReleased", [] {
    TwoNodes t;
    {
      LogCapture log;
      t.run(t.n1(), {step::ReleaseLock{}});
      EXPECT_EQ(log.count_containing("Leader key released"), 0);  // Patroni's _delete_leader: silent
    }
    t.c.store.put("leader", "node1");
    LogCapture log;
    t.run(t.n1(), {step::ReleaseLock{true}});
    EXPECT_FALSE(t.c.leader());
    EXPECT_TRUE(log.has("info: Leader key released"));
  });
  add(Action::clear_failover_key, "ClearFailoverKeyEmptiesIt", [] {
    TwoNodes t;
    t.c.store.put("failover", R"({"leader":"node1","member":"node2"})");
    t.run(t.n1(), {step::ClearFailoverKey{}});
    EXPECT_EQ(t.c.store.get("failover"), "{}");
  });
  add(Action::rewrite_failover_key, "RewriteFailoverKeyNamesTheCandidate", [] {
    TwoNodes t;
    t.c.store.put("failover", R"({"leader":"node1","member":"node2"})");
    t.run(t.n1(), {step::RewriteFailoverKey{"node2"}});
    EXPECT_EQ(json::parse(*t.c.store.get("failover")), json({{"member", "node2"}}));
  });
  add(Action::cancel_initialization, "CancelInitializationDeletesTheKey", [] {
    TwoNodes t;
    t.run(t.n1(), {step::CancelInitialization{}});
    EXPECT_FALSE(t.c.store.get("initialize"));
  });
  add(Action::acquire_lock, "AcquireLockTakesAFreeLockOnly", [] {
    TwoNodes t;
    EXPECT_EQ(t.run_branch(t.n2(), step::AcquireLock{}), "failure");  // node1 holds it
    t.c.store.erase("leader");
    EXPECT_EQ(t.run_branch(t.n2(), step::AcquireLock{}), "success");
    EXPECT_EQ(t.c.leader(), "node2");
    EXPECT_TRUE(t.local(t.n2()).last_lock_write);
  });
  add(Action::update_lock, "UpdateLockRefreshesOrReportsTheDcsError", [] {
    TwoNodes t;
    EXPECT_EQ(t.run_branch(t.n1(), step::UpdateLock{}), "success");
    t.c.store.set_fault([](const std::string& member, const std::string& op) -> std::optional<dcs::DcsError> {
      if (member == "node1" && op == "update_leader") return dcs::DcsError{dcs::DcsErrorKind::kUnreachable, "down"};
      return std::nullopt;
    });
    EXPECT_EQ(t.run_branch(t.n1(), step::UpdateLock{}), "dcs error");
    t.c.store.set_fault(nullptr);
    t.c.store.put("leader", "node2");
    EXPECT_EQ(t.run_branch(t.n1(), step::UpdateLock{}), "failure");
    EXPECT_FALSE(t.local(t.n1()).last_lock_write);
  });
  add(Action::race_initialize, "RaceInitializeIsWonOnce", [] {
    TwoNodes t;
    t.c.store.erase("initialize");
    EXPECT_EQ(t.run_branch(t.n2(), step::RaceInitialize{}), "success");
    EXPECT_EQ(t.run_branch(t.n1(), step::RaceInitialize{}), "failure");
  });
  add(Action::take_leader, "TakeLeaderFailureNeverMakesTheNodeLeader", [] {
    TwoNodes t;
    t.local(t.n2()).last_lock_write.reset();
    t.c.store.set_fault([](const std::string& member, const std::string& op) -> std::optional<dcs::DcsError> {
      if (member == "node2" && op == "take_leader") return dcs::DcsError{dcs::DcsErrorKind::kUnreachable, "down"};
      return std::nullopt;
    });
    EXPECT_EQ(t.run_branch(t.n2(), step::TakeLeader{}), "failure");
    EXPECT_FALSE(t.local(t.n2()).last_lock_write);
    EXPECT_EQ(t.c.leader(), "node1");
    t.c.store.set_fault(nullptr);
    EXPECT_EQ(t.run_branch(t.n2(), step::TakeLeader{}), "success");
    EXPECT_EQ(t.c.leader(), "node2");
    EXPECT_TRUE(t.local(t.n2()).last_lock_write);
  });
  add(Action::write_sync_state, "WriteSyncStateNamesTheLeader", [] {
    TwoNodes t;
    EXPECT_EQ(t.run_branch(t.n1(), step::WriteSyncState{}), "success");
    EXPECT_EQ(json::parse(*t.c.store.get("sync")), json({{"leader", "node1"}, {"sync_standby", nullptr}}));
  });
  add(Action::check_failsafe_topology, "FailsafeTopologyIsNotConfirmedYet", [] {
    TwoNodes t;
    EXPECT_EQ(t.run_branch(t.n1(), step::CheckFailsafeTopology{}), "failure");
  });
  add(Action::activate_watchdog, "ActivateWatchdogAsksTheWatchdogOnlyWhenConfigured", [] {
    TwoNodes t;
    t.n1().watchdog.calls.clear();
    // No watchdog section: Patroni's default, automatic; without a device that is a success.
    EXPECT_EQ(t.run_branch(t.n1(), step::ActivateWatchdog{}), "success");
    EXPECT_EQ(t.n1().watchdog.calls, std::vector<std::string>{"activate"});
    SimCluster off;
    SimNode& o = off.add("node1", {{"watchdog", {{"mode", "off"}}}});
    o.watchdog.calls.clear();
    EXPECT_EQ(t.run_branch(o, step::ActivateWatchdog{}), "success");
    EXPECT_TRUE(o.watchdog.calls.empty());
    SimCluster c;
    SimNode& n = c.add("node1", {{"watchdog", {{"mode", "required"}}}});
    EXPECT_EQ(t.run_branch(n, step::ActivateWatchdog{}), "failure");
    n.watchdog.can_activate = true;
    EXPECT_EQ(t.run_branch(n, step::ActivateWatchdog{}), "success");
    EXPECT_TRUE(n.watchdog.running);
  });
  add(Action::watchdog_keepalive, "WatchdogKeepaliveAndDisable", [] {
    TwoNodes t;
    t.n1().watchdog.calls.clear();
    t.run(t.n1(), {step::WatchdogKeepalive{}, step::WatchdogDisable{}});
    EXPECT_EQ(t.n1().watchdog.calls, (std::vector<std::string>{"keepalive", "disable"}));
  });
  add(Action::watchdog_disable, "WatchdogDisableDisarms", [] {
    TwoNodes t;
    t.n1().watchdog.running = true;
    t.run(t.n1(), {step::WatchdogDisable{}});
    EXPECT_FALSE(t.n1().watchdog.running);
  });
  add(Action::bootstrap, "BootstrapRunsInitdbAsync", [] {
    SimCluster c;
    SimNode& n = c.add("node1");
    n.pg.block("bootstrap");
    n.agent->executor().execute(ha::Decision(Action::bootstrap, {step::Bootstrap{}}, "bootstrapping"));
    n.settle();
    EXPECT_TRUE(n.pg.blocked_in("bootstrap"));
    EXPECT_TRUE(n.agent->worker().busy());
    EXPECT_EQ(n.agent->memory().local.state, ha::PgState::initializing_new_cluster);
    EXPECT_TRUE(n.agent->memory().local.bootstrapping);
    n.pg.release("bootstrap");
    n.settle();
    auto done = n.agent->worker().take_finished();
    ASSERT_TRUE(done);
    EXPECT_TRUE(done->ok);
    EXPECT_TRUE(n.pg.server().running);
  });
  add(Action::clone, "CloneCopiesFromTheMember", [] {
    TwoNodes t;
    ASSERT_TRUE(t.n2().pg.called("clone(node1)"));
    t.n2().pg.clear_calls();
    auto s = t.n2().pg.server();
    s.running = false;
    s.data_present = false;
    t.n2().pg.set_server(s);
    t.run(t.n2(), {step::Clone{"node1"}});
    EXPECT_TRUE(t.n2().pg.called("clone(node1)"));
    t.take_async(t.n2());
    EXPECT_EQ(t.local(t.n2()).role, ha::Role::replica);
  });
  add(Action::post_bootstrap, "PostBootstrapCreatesTheRoles", [] {
    TwoNodes t;
    t.n1().pg.clear_calls();
    t.run(t.n1(), {step::PostBootstrap{}});
    EXPECT_TRUE(t.n1().pg.called("post_bootstrap"));
  });
  add(Action::promote, "PromoteRunsPrePromoteThenPromotes", [] {
    TwoNodes t;
    // on_role_change comes once PostgreSQL runs as the primary, before the post-promote
    // CHECKPOINT (which may take long on a busy server), as in Patroni.
    t.n2().pg.block("checkpoint");
    t.run(t.n2(), {step::Promote{}});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!t.n2().pg.blocked_in("checkpoint") && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_TRUE(t.n2().pg.blocked_in("checkpoint")) << "no CHECKPOINT after the promotion";
    EXPECT_TRUE(t.n2().pg.called("promote"));
    auto fired = t.n2().hooks.fired();
    EXPECT_NE(std::find(fired.begin(), fired.end(), "pre_promote"), fired.end());
    EXPECT_NE(std::find(fired.begin(), fired.end(), "on_role_change master"), fired.end())
        << "the callback waited for the CHECKPOINT";
    EXPECT_FALSE(t.n2().pg.server().in_recovery);
    EXPECT_TRUE(t.local(t.n2()).checkpoint_after_promote_pending);
    t.n2().pg.release("checkpoint");
    t.n2().settle();
    t.take_async(t.n2());
    EXPECT_EQ(t.local(t.n2()).role, ha::Role::primary);
    EXPECT_FALSE(t.local(t.n2()).checkpoint_after_promote_pending);
    fired = t.n2().hooks.fired();
    EXPECT_EQ(std::count(fired.begin(), fired.end(), "on_role_change master"), 1) << "one callback per promotion";
    // A failing pre_promote cancels the promotion.
    TwoNodes u;
    u.n2().hooks.fail_pre_promote(true);
    u.run(u.n2(), {step::Promote{}});
    EXPECT_FALSE(u.n2().pg.called("promote"));
    EXPECT_TRUE(u.n2().pg.server().in_recovery);
  });
  add(Action::demote, "GracefulDemoteCheckpointsStopsAndReleases", [] {
    TwoNodes t;
    t.n1().pg.clear_calls();
    t.run(t.n1(), {step::Demote{ha::DemoteMode::graceful}});
    auto calls = t.n1().pg.calls();
    ASSERT_TRUE(t.n1().pg.called("checkpoint"));
    EXPECT_TRUE(t.n1().pg.called("stop(fast)"));
    EXPECT_FALSE(t.c.leader());
    EXPECT_EQ(t.local(t.n1()).role, ha::Role::demoted);
  });
  add(Action::demote, "GracefulDemoteRunsUnderTheSwitchoverName", [] {
    TwoNodes t;
    LogCapture log;
    t.reload_view(t.n1());
    t.n1().agent->executor().execute(
        ha::Decision(Action::demote, {step::Demote{ha::DemoteMode::graceful, "switchover: demote"}}, "done"));
    ASSERT_TRUE(t.local(t.n1()).async);
    EXPECT_EQ(t.local(t.n1()).async->display_name(), "switchover: demote");
    t.n1().settle();
    EXPECT_TRUE(log.has("info: Demoting self (graceful)"));
    EXPECT_TRUE(log.has("info: Leader key released"));
  });
  add(Action::demote, "ImmediateDemoteSaysSoAndReleases", [] {
    TwoNodes t;
    LogCapture log;
    t.run(t.n1(), {step::Demote{ha::DemoteMode::immediate_nolock}});
    EXPECT_TRUE(log.has("info: Demoting self (immediate-nolock)"));
    EXPECT_EQ(log.count_containing("Leader key released"), 0);  // immediate-nolock keeps the key
  });
  add(Action::demote, "ImmediateDemotePublishesItsStopBeforeTheLockGoes", [] {
    // The others race as soon as the key is gone and ask this node's /patroni: it must not
    // answer with the last cycle's running primary (they would wait a cycle for it).
    TwoNodes t;
    t.n1().agent->publish_snapshot();
    ASSERT_EQ(t.n1().agent->snapshot().pg.state, "running");
    t.n1().pg.crash();
    t.run(t.n1(), {step::Demote{ha::DemoteMode::immediate}});
    EXPECT_FALSE(t.c.leader());
    const auto published = t.n1().agent->snapshot();  // no cycle ended: the demotion published it
    EXPECT_EQ(published.pg.state, "stopped");
    EXPECT_EQ(published.pg.role, "demoted");
  });
  add(Action::follow, "FollowReconfiguresARunningReplica", [] {
    TwoNodes t;
    auto s = t.n2().pg.server();
    s.upstream.reset();
    t.n2().pg.set_server(s);
    t.n2().pg.clear_calls();
    t.run(t.n2(), {step::Follow{"node1"}});
    EXPECT_TRUE(t.n2().pg.called("follow(node1)"));
    ASSERT_TRUE(t.n2().pg.server().upstream);
    EXPECT_EQ(t.n2().pg.server().upstream->name, "node1");
  });
  add(Action::start_primary, "StartPrimaryAfterACrash", [] {
    TwoNodes t;
    t.n1().pg.crash();
    t.local(t.n1()).process = ha::PgProcess::stopped;
    t.n1().pg.clear_calls();
    t.run(t.n1(), {step::StartPrimary{30}});
    EXPECT_TRUE(t.n1().pg.called("start(primary)"));
    EXPECT_TRUE(t.n1().pg.server().running);
  });
  add(Action::crash_recovery, "CrashRecoveryRunsSingleUser", [] {
    TwoNodes t;
    t.n1().pg.crash();
    t.run(t.n1(), {step::CrashRecovery{}});
    EXPECT_TRUE(t.n1().pg.called("crash_recovery"));
    EXPECT_GT(t.local(t.n1()).crash_recovery_started, 0);
  });
  add(Action::rewind, "RewindFromTheLeader", [] {
    TwoNodes t;
    t.run(t.n2(), {step::Rewind{"node1"}});
    EXPECT_TRUE(t.n2().pg.called("rewind(node1)"));
    t.take_async(t.n2());
    EXPECT_EQ(t.local(t.n2()).rewind, ha::RewindState::success);
  });
  add(Action::reinitialize, "ReinitializeNeverMovesADataDirectoryInUse", [] {
    TwoNodes t;
    t.n2().pg.clear_calls();
    t.run(t.n2(), {step::Reinitialize{"node1"}});
    EXPECT_TRUE(t.n2().pg.called("stop(immediate)"));
    // The data directory stays for the replica methods (keep_data), as in Patroni.
    EXPECT_FALSE(t.n2().pg.called("move_data_dir_aside"));
    EXPECT_TRUE(t.n2().pg.called("clone(node1)"));
    t.take_async(t.n2());
    // A PostgreSQL that will not stop: the data directory stays where it is.
    TwoNodes u;
    u.n2().pg.refuse_stop(true);
    u.n2().pg.clear_calls();
    u.run(u.n2(), {step::Reinitialize{"node1"}});
    EXPECT_FALSE(u.n2().pg.called("move_data_dir_aside"));
    EXPECT_EQ(u.n2().pg.moves_while_running(), 0);
    EXPECT_FALSE(u.n2().pg.called("clone"));
    auto done = u.n2().agent->worker().take_finished();
    ASSERT_TRUE(done);
    EXPECT_FALSE(done->ok);
  });
  add(Action::restart, "RestartStopsAndStarts", [] {
    TwoNodes t;
    t.n2().pg.clear_calls();
    t.run(t.n2(), {step::Restart{}});
    EXPECT_TRUE(t.n2().pg.called("stop(fast)"));
    EXPECT_TRUE(t.n2().pg.called("start(replica)"));
    EXPECT_TRUE(t.n2().pg.server().running);
  });
  add(Action::restart, "RestartInSynchronousModePublishesNosyncUntilPostgresIsBack", [] {
    // ha.md §6.4: the primary must neither keep nor pick a replica while it restarts. Patroni
    // 4.1 publishes sync_priority 0 beside nosync; 3.3 publishes nosync alone.
    for (const char* compat : {"4.1", "3.3"}) {
      SCOPED_TRACE(std::string("custos.compat ") + compat);
      TwoNodes t(json{{"custos", {{"compat", compat}}}});
      t.c.store.put("config", R"({"ttl":30,"loop_wait":10,"retry_timeout":10,"synchronous_mode":true})");
      t.c.round();
      auto tags = [&] {
        auto v = t.c.store.get("members/node2");
        return v ? json::parse(*v).value("tags", json::object()) : json::object();
      };
      ASSERT_FALSE(tags().value("nosync", false));
      t.run(t.n2(), {step::Restart{}});
      EXPECT_TRUE(tags().value("nosync", false)) << "published before PostgreSQL stops";
      if (std::string(compat) == "4.1") EXPECT_EQ(tags().value("sync_priority", -1), 0);
      else EXPECT_FALSE(tags().contains("sync_priority")) << tags().dump();
      EXPECT_TRUE(t.n2().pg.called("stop(fast)"));
      t.take_async(t.n2());
      t.n2().agent->executor().touch_member();
      EXPECT_FALSE(tags().value("nosync", false)) << "withdrawn once the restart is over";
      EXPECT_FALSE(tags().contains("sync_priority")) << tags().dump();
      EXPECT_TRUE(t.n2().pg.server().running);
    }
  });
  add(Action::stop_postgres, "StopPostgresReportsAStopThatFailed", [] {
    TwoNodes t;
    t.run(t.n2(), {step::StopPostgres{ha::StopKind::immediate}});
    EXPECT_TRUE(t.n2().pg.called("stop(immediate)"));
    EXPECT_EQ(t.local(t.n2()).state, ha::PgState::stopped);
    TwoNodes u;
    u.n2().pg.refuse_stop(true);
    u.run(u.n2(), {step::StopPostgres{ha::StopKind::fast}});
    EXPECT_EQ(u.local(u.n2()).state, ha::PgState::stop_failed);
    EXPECT_TRUE(u.n2().pg.server().running);
  });
  add(Action::cancel_async, "CancelAsyncCancelsOnlyTheRunningTask", [] {
    TwoNodes t;
    auto s = t.n2().pg.server();
    s.running = false;
    s.data_present = false;
    t.n2().pg.set_server(s);
    t.n2().pg.block("clone");
    t.run(t.n2(), {step::Clone{"node1"}});
    ASSERT_TRUE(t.n2().pg.blocked_in("clone"));
    t.run(t.n2(), {step::CancelAsync{"clone"}});
    t.n2().pg.release("clone");
    t.n2().settle();
    auto done = t.n2().agent->worker().take_finished();
    ASSERT_TRUE(done);
    EXPECT_FALSE(done->ok);
    EXPECT_EQ(done->error, "cancelled");
    // The next task gets a token of its own.
    t.run(t.n2(), {step::Clone{"node1"}});
    done = t.n2().agent->worker().take_finished();
    ASSERT_TRUE(done);
    EXPECT_TRUE(done->ok);
  });
  add(Action::set_role, "SetRoleFiresOnRoleChange", [] {
    TwoNodes t;
    t.run(t.n2(), {step::SetRole{ha::Role::standby_leader, true}});
    EXPECT_EQ(t.local(t.n2()).role, ha::Role::standby_leader);
    auto fired = t.n2().hooks.fired();
    EXPECT_NE(std::find(fired.begin(), fired.end(), "on_role_change standby_leader"), fired.end());
  });
  add(Action::set_role, "SetRoleLogsTheChangeInThePresentedWords", [] {
    // The log names the leader's role as the member key does: "primary" under 4.1, "master"
    // under 3.3; no line when the role stays.
    for (const auto& [compat, word] : {std::pair{"4.1", "primary"}, std::pair{"3.3", "master"}}) {
      SCOPED_TRACE(std::string("custos.compat ") + compat);
      TwoNodes t(json{{"custos", {{"compat", compat}}}});
      LogCapture log;
      t.run(t.n2(), {step::SetRole{ha::Role::primary, false}});
      EXPECT_TRUE(log.has(std::string("info: role: replica -> ") + word)) << testing::PrintToString(log.lines());
      t.run(t.n2(), {step::SetRole{ha::Role::primary, false}});
      EXPECT_EQ(log.count_containing("role: "), 1);
    }
  });
  add(Action::set_synchronous_standby_names, "SynchronousStandbyNamesReachPostgresql", [] {
    TwoNodes t;
    t.n1().pg.clear_calls();
    t.run(t.n1(), {step::SetSynchronousStandbyNames{"*"}});
    EXPECT_EQ(t.n1().settings.current()->pg.managed_synchronous_standby_names, std::optional<std::string>("*"));
    EXPECT_EQ(t.n1().pg.settings().effective_conf_parameters()["synchronous_standby_names"], "*");
    EXPECT_TRUE(t.n1().pg.called("write_primary_configuration") || t.n1().pg.called("rewrite_configuration"));
    EXPECT_TRUE(t.n1().pg.called("reload"));
  });
  add(Action::manage_sync_replication, "ManageSyncReplicationEnablesTheSyncKey", [] {
    TwoNodes t;
    t.c.store.put("config", R"({"ttl":30,"loop_wait":10,"retry_timeout":10,"synchronous_mode":true})");
    t.n1().cycle();  // takes the configuration (its own sync step writes /sync too)
    t.c.store.erase("sync");
    t.n1().pg.clear_calls();
    t.run(t.n1(), {step::ManageSyncReplication{}});
    ASSERT_TRUE(t.c.store.get("sync"));
    EXPECT_EQ(json::parse(*t.c.store.get("sync"))["leader"], "node1");
    EXPECT_TRUE(t.n1().pg.called("query("));
  });
  add(Action::update_history, "UpdateHistoryWritesTheTimelineSwitches", [] {
    TwoNodes t;
    auto s = t.n1().pg.server();
    s.timeline = 3;
    t.n1().pg.set_server(s);
    t.n1().cycle();  // the status query sees timeline 3 (its own history step writes it too)
    t.c.store.erase("history");
    t.run(t.n1(), {step::UpdateHistory{}});
    auto v = t.c.store.get("history");
    ASSERT_TRUE(v);
    json h = json::parse(*v);
    ASSERT_EQ(h.size(), 2u);
    EXPECT_EQ(h[1][0], 2);
    EXPECT_EQ(h[1][4], "node1");
  });
  add(Action::ensure_checkpoint_after_promote, "CheckpointAfterPromoteIsThePromoteTasks", [] {
    TwoNodes t;
    t.n1().pg.clear_calls();
    t.run(t.n1(), {step::EnsureCheckpointAfterPromote{}});
    EXPECT_TRUE(t.n1().pg.calls().empty());
  });
  add(Action::sync_replication_slots, "SlotsForTheOtherMembers", [] {
    TwoNodes t;
    t.n1().cycle();
    t.n1().pg.clear_calls();
    t.run(t.n1(), {step::SyncReplicationSlots{}});
    EXPECT_TRUE(t.n1().pg.called("sync_slots"));
    t.n1().pg.clear_calls();
    t.run(t.n1(), {step::SyncReplicationSlots{true}});  // DCS failed: not now
    EXPECT_FALSE(t.n1().pg.called("sync_slots"));
  });
  add(Action::sync_replication_slots, "PermanentLogicalSlotsIgnoreSlotsAndTheCopyToAReplica", [] {
    TwoNodes t;
    t.c.store.put("config", R"({"ttl":30,"loop_wait":10,"retry_timeout":10,
        "slots":{"cdc":{"type":"logical","database":"app","plugin":"test_decoding"},"keep":{"type":"physical"}},
        "ignore_slots":[{"name":"own","type":"logical"},{"plugin":"wal2json"},"not a rule"]})");
    // The primary: creates the logical slot itself, never copies, keeps the replica's slot.
    t.n1().cycle();
    t.run(t.n1(), {step::SyncReplicationSlots{}});
    auto p = t.n1().pg.last_slot_request();
    EXPECT_TRUE(p.primary);
    EXPECT_TRUE(p.drop_unknown);
    ASSERT_TRUE(p.expected.count("cdc"));
    EXPECT_TRUE(p.expected["cdc"].logical);
    EXPECT_EQ(p.expected["cdc"].database, "app");
    EXPECT_EQ(p.expected["cdc"].plugin, "test_decoding");
    EXPECT_TRUE(p.expected.count("node2"));
    EXPECT_FALSE(p.expected["node2"].logical);
    ASSERT_EQ(p.ignore.size(), 2u);
    EXPECT_EQ(p.ignore[0].name, std::optional<std::string>("own"));
    EXPECT_EQ(p.ignore[0].type, "logical");
    EXPECT_FALSE(p.ignore[1].name.has_value());
    EXPECT_EQ(p.ignore[1].plugin, "wal2json");
    // The replica: the slot lacks there, so it is copied from the leader; hot_standby_feedback on.
    t.n2().cycle();
    t.c.store.put("status", R"({"optime":1000,"slots":{"cdc":4096,"keep":2048}})");
    t.n2().pg.set_slots_to_copy({"cdc"});
    t.n2().pg.clear_calls();
    t.run(t.n2(), {step::SyncReplicationSlots{}});
    auto r = t.n2().pg.last_slot_request();
    EXPECT_FALSE(r.primary);
    ASSERT_TRUE(r.expected.count("cdc"));
    EXPECT_EQ(r.expected["cdc"].lsn, 4096);
    EXPECT_EQ(r.expected["keep"].lsn, 2048);
    EXPECT_TRUE(t.n2().pg.called("copy_logical_slots(node1:cdc)"));
    EXPECT_TRUE(t.n2().pg.hot_standby_feedback_enforced());
    // Paused: unknown slots stay.
    t.c.store.put("config", R"({"ttl":30,"loop_wait":10,"retry_timeout":10,"pause":true})");
    t.n2().cycle();
    t.run(t.n2(), {step::SyncReplicationSlots{}});
    EXPECT_FALSE(t.n2().pg.last_slot_request().drop_unknown);
    EXPECT_FALSE(t.n2().pg.hot_standby_feedback_enforced());  // no logical slots any more
  });
  add(Action::trigger_rewind_check, "TriggerRewindCheckArmsTheCheck", [] {
    TwoNodes t;
    t.local(t.n2()).rewind = ha::RewindState::initial;
    t.local(t.n2()).can_rewind = true;
    t.run(t.n2(), {step::TriggerRewindCheck{}});
    EXPECT_EQ(t.local(t.n2()).rewind, ha::RewindState::check);
  });
  add(Action::reset_rewind_state, "ResetRewindState", [] {
    TwoNodes t;
    t.local(t.n2()).rewind = ha::RewindState::failed;
    t.run(t.n2(), {step::ResetRewindState{}});
    EXPECT_EQ(t.local(t.n2()).rewind, ha::RewindState::initial);
  });
  add(Action::reset_recovery_state, "ResetRecoveryState", [] {
    TwoNodes t;
    t.local(t.n2()).recovering = true;
    t.run(t.n2(), {step::ResetRecoveryState{}});
    EXPECT_FALSE(t.local(t.n2()).recovering);
  });
  add(Action::remember_pre_promote_release, "RememberPrePromoteRelease", [] {
    TwoNodes t;
    t.local(t.n2()).pre_promote_failed = true;
    t.run(t.n2(), {step::RememberPrePromoteRelease{}});
    EXPECT_TRUE(t.local(t.n2()).released_lock_after_pre_promote);
    EXPECT_FALSE(t.local(t.n2()).pre_promote_failed);
  });
  add(Action::remove_data_directory, "RemoveDataDirectoryMovesItAside", [] {
    TwoNodes t;
    t.run(t.n2(), {step::StopPostgres{ha::StopKind::fast}, step::RemoveDataDirectory{}});
    EXPECT_TRUE(t.n2().pg.called("move_data_dir_aside(removed."));
    EXPECT_FALSE(t.n2().pg.server().data_present);
  });
  add(Action::rename_data_directory, "RenameDataDirectoryToFailed", [] {
    TwoNodes t;
    t.run(t.n2(), {step::StopPostgres{ha::StopKind::fast}, step::RenameDataDirectory{}});
    EXPECT_TRUE(t.n2().pg.called("move_data_dir_aside(failed)"));
  });
  add(Action::set_is_leader, "SetIsLeader", [] {
    TwoNodes t;
    t.run(t.n1(), {step::SetIsLeader{false}});
    EXPECT_FALSE(t.local(t.n1()).last_lock_write);
    t.run(t.n1(), {step::SetIsLeader{true}});
    EXPECT_TRUE(t.local(t.n1()).last_lock_write);
  });
  add(Action::failsafe_active, "FailsafeActiveIsPublished", [] {
    TwoNodes t;
    t.run(t.n1(), {step::SetFailsafeActive{true}});
    EXPECT_TRUE(t.local(t.n1()).failsafe_active);
  });
  add(Action::sanity_checks, "SanityChecksReadControldataAgain", [] {
    TwoNodes t;
    t.n1().cycle();
    t.n1().pg.clear_calls();
    t.n1().cycle();
    EXPECT_FALSE(t.n1().pg.called("controldata"));  // same postmaster: cached
    t.run(t.n1(), {step::SanityChecks{}});
    t.n1().cycle();
    EXPECT_TRUE(t.n1().pg.called("controldata"));
  });
  add(Action::delete_scheduled_restart, "DeleteScheduledRestart", [] {
    TwoNodes t;
    t.local(t.n1()).scheduled_restart = ha::ScheduledRestart{};
    t.run(t.n1(), {step::DeleteScheduledRestart{}});
    EXPECT_FALSE(t.local(t.n1()).scheduled_restart);
  });
  add(Action::fire_on_start, "FireOnStart", [] {
    TwoNodes t;
    t.local(t.n2()).on_start_fired = false;
    const auto before = t.n2().hooks.fired().size();
    t.run(t.n2(), {step::FireOnStart{}});
    EXPECT_TRUE(t.local(t.n2()).on_start_fired);
    auto fired = t.n2().hooks.fired();
    ASSERT_EQ(fired.size(), before + 1);
    EXPECT_EQ(fired.back(), "on_start replica");
  });
  add(Action::finish_bootstrap, "FinishBootstrap", [] {
    TwoNodes t;
    t.local(t.n1()).bootstrapping = true;
    t.run(t.n1(), {step::FinishBootstrap{}});
    EXPECT_FALSE(t.local(t.n1()).bootstrapping);
  });
  add(Action::sleep, "SleepWaitsOnTheClock", [] {
    TwoNodes t;
    const MonoTime before = t.c.clock.now();
    t.run(t.n1(), {step::Sleep{2}});
    EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(t.c.clock.now() - before).count(), 2000);
  });
  add(Action::log, "LogWritesTheLineAtItsLevel", [] {
    TwoNodes t;
    LogCapture log;
    t.run(t.n1(), {step::Log{"failed to update leader lock", step::LogLevel::error},
                   step::Log{"Cleaning up failover key", step::LogLevel::info},
                   step::Log{"manual failover: I am already the leader, no need to failover", step::LogLevel::warning}});
    EXPECT_TRUE(log.has("error: failed to update leader lock"));
    EXPECT_TRUE(log.has("info: Cleaning up failover key"));
    EXPECT_TRUE(log.has("warning: manual failover: I am already the leader, no need to failover"));
  });
  add(Action::fatal_exit, "FatalExitStopsThePlan", [] {
    TwoNodes t;
    t.n1().pg.clear_calls();
    auto r = t.run(t.n1(), {step::FatalExit{"system ID mismatch"}, step::SyncReplicationSlots{}});
    EXPECT_EQ(t.n1().agent->memory().fatal, std::optional<std::string>("system ID mismatch"));
    EXPECT_FALSE(t.n1().pg.called("sync_slots"));
    (void)r;
  });
  return s;
}

void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

class ExecutorScenario : public ::testing::TestWithParam<Scenario> {};

TEST_P(ExecutorScenario, Runs) { GetParam().run(); }

INSTANTIATE_TEST_SUITE_P(Executor, ExecutorScenario, ::testing::ValuesIn(scenarios()),
                         [](const ::testing::TestParamInfo<Scenario>& info) { return info.param.name; });

TEST(ExecutorCoverage, EveryActionHasAScenario) {
  std::set<Action> covered;
  for (const auto& s : scenarios()) covered.insert(s.action);
  std::vector<std::string> missing;
#define CUSTOS_CHECK_COVERED(name, type) \
  if (!covered.count(Action::name)) missing.push_back(#name);
  CUSTOS_HA_STEPS(CUSTOS_CHECK_COVERED)
#undef CUSTOS_CHECK_COVERED
  EXPECT_TRUE(missing.empty()) << "actions without an executor scenario: " << ::testing::PrintToString(missing);
}

}  // namespace
}  // namespace custos::test

namespace custos::agent {
namespace {

// primary_stop_timeout shortens a primary's stop only in synchronous mode (Patroni 4).
TEST(PrimaryStopTimeout, OnlyInSynchronousModeAndWhenPositive) {
  EffectiveSettings s;
  s.pg.pg_ctl_timeout = 60;
  s.ha.primary_stop_timeout = 5;
  EXPECT_EQ(primary_stop_timeout(s), std::chrono::seconds(60));  // asynchronous: pg_ctl_timeout
  s.ha.synchronous_mode = true;
  EXPECT_EQ(primary_stop_timeout(s), std::chrono::seconds(5));
  s.ha.primary_stop_timeout = 0;
  EXPECT_EQ(primary_stop_timeout(s), std::chrono::seconds(60));
  s.ha.primary_stop_timeout = 0.5;
  EXPECT_EQ(primary_stop_timeout(s), std::chrono::milliseconds(500));
}

}  // namespace
}  // namespace custos::agent
