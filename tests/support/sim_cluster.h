// SimCluster: agents of one cluster in one test process, each with a FakePostgresNode, sharing
// an InMemoryStore on one SimClock; the members' GET /patroni answers are computed from the
// other nodes' fake servers. A test drives the real Agent loop cycle by cycle (SimNode::cycle,
// SimCluster::round), advancing the simulated time between cycles, so hundreds of cycles run in
// milliseconds and every run is the same.
//
// Thread: the test's thread (plus each agent's async worker, which cycle() waits for).
#pragma once

#include <functional>
#include <mutex>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/agent.h"
#include "agent/citus_worker_events.h"
#include "agent/hooks.h"
#include "agent/member_queries.h"
#include "agent/settings_store.h"
#include "agent/watchdog.h"
#include "fake_postgres_node.h"
#include "in_memory_dcs.h"
#include "sim_clock.h"

namespace custos::test {

// Member statuses from a function (the cluster's fake servers, or a test's table).
class FakeMemberQueries final : public agent::MemberQueries {
 public:
  using Source = std::function<ha::MemberStatus(const std::string& name)>;
  // Delivers a POST /failsafe body to the named member; what it answered.
  using FailsafeSink = std::function<agent::FailsafeAnswer(const std::string& name, const std::string& body)>;
  void set_source(Source source) { source_ = std::move(source); }
  void set_failsafe_sink(FailsafeSink sink) { failsafe_sink_ = std::move(sink); }
  ha::MemberStatuses query(const std::map<std::string, std::string>& api_urls) override;
  std::vector<agent::FailsafeAnswer> post_failsafe(const std::map<std::string, std::string>& api_urls,
                                                   const std::string& body) override;
  bool post_citus_event(const std::string& api_url, const std::string& body,
                        std::chrono::milliseconds timeout) override {
    std::lock_guard l(citus_mu_);
    citus_events_.push_back({api_url, body, timeout});
    return true;
  }
  int queries() const { return queries_; }
  int failsafe_posts() const { return failsafe_posts_; }
  struct CitusPost {
    std::string api_url;
    std::string body;
    std::chrono::milliseconds timeout;
  };
  // The POST /citus calls so far (the async task posts from its own thread).
  std::vector<CitusPost> citus_events() const {
    std::lock_guard l(citus_mu_);
    return citus_events_;
  }

 private:
  mutable std::mutex citus_mu_;
  std::vector<CitusPost> citus_events_;
  Source source_;
  FailsafeSink failsafe_sink_;
  int queries_ = 0;
  int failsafe_posts_ = 0;
};

// A watchdog that records what was asked of it. Activation arms it when `can_activate`; as the
// real one, activate() fails only when `required` and nothing could be armed.
class RecordingWatchdog final : public agent::Watchdog {
 public:
  bool activate() override {
    calls.push_back("activate");
    running = can_activate;
    return can_activate || !required;
  }
  void keepalive() override { calls.push_back("keepalive"); }
  void disable() override {
    calls.push_back("disable");
    running = false;
  }
  bool is_running() const override { return running; }
  bool is_healthy() const override { return true; }
  void reload_config(const watchdog::WatchdogConfig& config) override {
    required = config.mode == watchdog::Mode::required;
    timeout = config.timeout();
  }
  bool can_activate = false;
  int timeout = 0;
  bool required = false;
  bool running = false;
  std::vector<std::string> calls;
};

// Callbacks as fired, for assertions.
class RecordingHooks final : public agent::Hooks {
 public:
  void fire(agent::CallbackAction action, ha::Role role) override;
  Status<std::string> pre_promote(const CancelToken& cancel) override;
  void before_stop() override;
  std::vector<std::string> fired() const;
  void fail_pre_promote(bool fail) { fail_pre_promote_ = fail; }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> fired_;
  bool fail_pre_promote_ = false;
};

// The local configuration of a simulated node (Patroni YAML as JSON); `overrides` are merged in.
nlohmann::json sim_node_config(const std::string& name, const nlohmann::json& overrides = nlohmann::json::object());

class SimNode {
 public:
  SimNode(InMemoryStore& store, SimClock& clock, const std::string& name,
          const nlohmann::json& overrides = nlohmann::json::object());
  ~SimNode();

  // One HA cycle under the failure policy, then waits until the async worker has nothing
  // running any more (or is blocked in a FakePostgresNode gate). False when the agent would exit.
  bool cycle();
  // Waits for the async worker (bounded, real time).
  void settle();
  // The GET /patroni view of this node, as another member's query sees it.
  ha::MemberStatus status() const;
  bool holds_lock() const;
  bool is_primary() const;

  const std::string name;
  // Its REST API answers other members (POST /failsafe); false: cut off from them.
  bool api_reachable = true;
  SimClock& clock;
  FakePostgresNode pg;
  InMemoryDcs dcs;
  FakeMemberQueries members;
  RecordingWatchdog watchdog;
  RecordingHooks hooks;
  agent::SettingsStore settings;
  // A Citus worker (`citus.group` > 0 in the overrides): its events to the coordinator.
  std::unique_ptr<agent::CitusWorkerEvents> citus_events;
  std::unique_ptr<agent::Agent> agent;
};

class SimCluster {
 public:
  explicit SimCluster(int nodes = 0, const nlohmann::json& overrides = nlohmann::json::object());
  SimNode& add(const std::string& name, const nlohmann::json& overrides = nlohmann::json::object());
  SimNode& node(const std::string& name);
  // One cycle of every node, in order, then the clock moves by `advance_s`.
  void round(double advance_s = 1.0);
  // Rounds until `pred` holds (at most `max_rounds`); whether it did.
  bool rounds_until(const std::function<bool()>& pred, int max_rounds, double advance_s = 1.0);
  // The name in the leader key, if any.
  std::optional<std::string> leader();

  SimClock clock;
  InMemoryStore store{clock};
  std::vector<std::unique_ptr<SimNode>> nodes;
};

}  // namespace custos::test
