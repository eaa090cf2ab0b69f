// AgentMetrics: what the HA loop records about itself for GET /metrics (custos's own families,
// common/metrics_registry.h): HA cycle duration, the last decision and the leader-race verdict
// (why this replica does or does not promote), role transitions by the decision that made them
// (also kept in RecentEvents for the status page), and leader lock refreshes. A null registry
// records nothing (tests). HA loop thread only.
#pragma once

#include <string>
#include <string_view>

#include "agent/recent_events.h"
#include "common/clock.h"
#include "common/metrics_registry.h"
#include "ha/decision.h"
#include "ha/local_state.h"

namespace custos::agent {

class AgentMetrics {
 public:
  // `events` (may be null) also receives every role change, for the status page.
  AgentMetrics(MetricsRegistry* registry, RecentEvents* events, const Clock& clock);

  void cycle_finished(double seconds);
  // The decision a cycle executed: its headline action and, when there was a leader race,
  // whether this node could promote and the reason's code.
  void decided(const ha::Decision& decision);
  void role_changed(ha::Role from, ha::Role to);
  void lock_refreshed(bool ok);

 private:
  MetricsRegistry* registry_;
  RecentEvents* events_;
  const Clock& clock_;
  std::string last_action_ = "none";
};

}  // namespace custos::agent
