#include "ha/retained_slots.h"

namespace custos::ha {

void RetainedSlots::seed(const std::vector<std::string>& names, double now) {
  last_seen_.clear();
  for (const auto& n : names) last_seen_[n] = now;
}

std::vector<std::string> RetainedSlots::update(const std::set<std::string>& seen, double now, double ttl,
                                               std::vector<std::string>* expired) {
  for (const auto& n : seen) last_seen_[n] = now;
  std::vector<std::string> kept;
  for (auto it = last_seen_.begin(); it != last_seen_.end();) {
    if (it->second + ttl <= now) {
      if (expired) expired->push_back(it->first);
      it = last_seen_.erase(it);
    } else {
      kept.push_back(it->first);
      ++it;
    }
  }
  return kept;  // std::map order: sorted
}

}  // namespace custos::ha
