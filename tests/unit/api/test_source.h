// A NodeStateSource for tests: a plain struct whose snapshot, live status and cluster are set
// by the test (optionally with a delay for the blocking calls).
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "api/node_state_source.h"
#include "dcs/cluster.h"

namespace custos::api::test {

struct TestSource : NodeStateSource {
  NodeSnapshot snap;
  std::optional<PgStatus> live;
  std::optional<dcs::Cluster> fresh;
  std::string own;  // own_metrics()
  nlohmann::json events = nlohmann::json::array();  // recent_events()
  std::chrono::milliseconds live_delay{0};
  std::chrono::milliseconds cluster_delay{0};
  std::atomic<int> live_calls{0};
  std::atomic<int> wakes{0};
  mutable std::mutex mu;

  NodeSnapshot snapshot() const override {
    std::lock_guard lock(mu);
    return snap;
  }
  std::optional<PgStatus> live_pg_status(std::chrono::milliseconds) override {
    ++live_calls;
    if (live_delay.count()) std::this_thread::sleep_for(live_delay);
    std::lock_guard lock(mu);
    return live;
  }
  std::string own_metrics() const override { return own; }
  nlohmann::json recent_events() const override { return events; }
  dcs::DcsResult<dcs::Cluster> fresh_cluster() override {
    if (cluster_delay.count()) std::this_thread::sleep_for(cluster_delay);
    std::lock_guard lock(mu);
    if (fresh) return *fresh;
    return dcs::dcs_error(dcs::DcsErrorKind::kUnreachable, "no cluster in this test");
  }
  void wake_ha_loop() override { ++wakes; }
};

inline dcs::RawNode node(std::string key, std::string value, dcs::Version version = 1) {
  dcs::RawNode n;
  n.key = std::move(key);
  n.value = std::move(value);
  n.version = version;
  n.modify_version = version;
  return n;
}

}  // namespace custos::api::test
