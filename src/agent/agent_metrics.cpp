#include "agent/agent_metrics.h"

#include "agent/state_mapping.h"
#include "ha/health.h"

namespace custos::agent {

namespace {
constexpr const char* kCycle = "custos_ha_cycle_duration_seconds";
constexpr const char* kDecision = "custos_last_decision";
constexpr const char* kRace = "custos_leader_race_verdict";
constexpr const char* kTransitions = "custos_role_transitions_total";
constexpr const char* kRefreshes = "custos_leader_lock_refreshes_total";

// Our own families name the primary "primary" whatever the presentation.
std::string role_label(ha::Role role) { return role_text(role, PatroniGeneration::v4_1); }
}  // namespace

AgentMetrics::AgentMetrics(MetricsRegistry* registry, RecentEvents* events, const Clock& clock)
    : registry_(registry), events_(events), clock_(clock) {
  if (!registry_) return;
  registry_->declare(kCycle, MetricsRegistry::Type::kHistogram,
                     "Time one HA cycle took (read the DCS, gather the local state, decide, act).",
                     {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
  registry_->declare(kDecision, MetricsRegistry::Type::kGauge,
                     "The action the last HA cycle decided (one series, value 1; label action).");
  registry_->declare(kRace, MetricsRegistry::Type::kGauge,
                     "The last leader race this node took part in: value 1 if it could promote, 0 if not; label "
                     "reason says why (healthiest, primary_alive, member_ahead, lagging, nofailover, ...).");
  registry_->declare(kTransitions, MetricsRegistry::Type::kCounter,
                     "Role changes of this node, by old and new role and the action that made them.");
  registry_->declare(kRefreshes, MetricsRegistry::Type::kCounter,
                     "Leader lock refreshes by this node, by result (ok, failed).");
}

void AgentMetrics::cycle_finished(double seconds) {
  if (registry_) registry_->observe(kCycle, {}, seconds);
}

void AgentMetrics::decided(const ha::Decision& decision) {
  if (!registry_) return;
  last_action_ = std::string(ha::to_string(decision.action));
  registry_->replace(kDecision, {{"action", last_action_}}, 1);
  if (decision.race_verdict) {
    registry_->replace(kRace, {{"reason", std::string(ha::race_reason_code(decision.race_verdict->second))}},
                   decision.race_verdict->first ? 1 : 0);
  }
}

void AgentMetrics::role_changed(ha::Role from, ha::Role to) {
  if (events_)
    events_->add(clock_.wall_seconds(), "role", role_label(from) + " -> " + role_label(to) + " (" + last_action_ + ")");
  if (registry_)
    registry_->add(kTransitions, {{"from", role_label(from)}, {"to", role_label(to)},
                                  {"action", last_action_}});
}

void AgentMetrics::lock_refreshed(bool ok) {
  if (registry_) registry_->add(kRefreshes, {{"result", ok ? "ok" : "failed"}});
}

}  // namespace custos::agent
