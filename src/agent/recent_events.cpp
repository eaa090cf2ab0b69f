#include "agent/recent_events.h"

namespace custos::agent {

void RecentEvents::add(double wall_seconds, const std::string& kind, const std::string& text) {
  MutexLock lk(mu_);
  if (kind == "decision") {
    if (text == last_decision_) return;
    last_decision_ = text;
  }
  events_.push_back(Event{wall_seconds, kind, text});
  while (events_.size() > kKept) events_.pop_front();
}

nlohmann::json RecentEvents::to_json() const {
  MutexLock lk(mu_);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : events_) out.push_back({{"time", e.time}, {"kind", e.kind}, {"text", e.text}});
  return out;
}

}  // namespace custos::agent
