// RecentEvents: what the HA loop did lately, for the status page (GET /ui/events): each cycle
// message when it differs from the one before, and every role change with the decided action.
// Keeps the last 50, newest last, with wall-clock times (read by people). Any thread; short lock.
#pragma once

#include <deque>
#include <string>

#include <nlohmann/json.hpp>

#include "common/thread_annotations.h"

namespace custos::agent {

class RecentEvents {
 public:
  static constexpr std::size_t kKept = 50;

  // kind: "decision" or "role"; a decision equal to the last decision recorded is skipped.
  void add(double wall_seconds, const std::string& kind, const std::string& text) EXCLUDES(mu_);
  // [{"time": epoch seconds, "kind": ..., "text": ...}, ...], oldest first.
  nlohmann::json to_json() const EXCLUDES(mu_);

 private:
  struct Event {
    double time;
    std::string kind;
    std::string text;
  };
  mutable Mutex mu_;
  std::deque<Event> events_ GUARDED_BY(mu_);
  std::string last_decision_ GUARDED_BY(mu_);
};

}  // namespace custos::agent
