#include "dcs/history_value.h"

#include <nlohmann/json.hpp>

namespace custos::dcs {

using nlohmann::json;

std::optional<std::string> next_history_value(const std::optional<TimelineHistory>& current, int64_t timeline,
                                              const std::vector<HistorySwitch>& switches,
                                              const std::string& timestamp, const std::string& my_name,
                                              int64_t max_lines) {
  if (timeline <= 0) return std::nullopt;
  if (timeline == 1) {
    if (current && current->value == "[]") return std::nullopt;
    return std::string("[]");
  }
  if (current) {
    const json& lines = current->lines();
    if (lines.is_array() && !lines.empty() && lines.back().is_array() && lines.back().size() == 5 &&
        lines.back()[0].is_number_integer() && lines.back()[0].get<int64_t>() == timeline - 1)
      return std::nullopt;
  }
  if (switches.empty()) return std::nullopt;
  json out = json::array();
  const std::vector<HistoryLine> known = current ? current->parsed_lines() : std::vector<HistoryLine>{};
  for (const HistorySwitch& s : switches) {
    json entry = json::array({s.parent, s.lsn, s.reason});
    for (const HistoryLine& l : known)
      if (l.timeline == s.parent && l.lsn == s.lsn && l.timestamp) {
        entry.push_back(*l.timestamp);
        if (l.new_leader) entry.push_back(*l.new_leader);
        break;
      }
    out.push_back(std::move(entry));
  }
  json& last = out.back();
  while (last.size() > 3) last.erase(last.size() - 1);
  last.push_back(timestamp);
  last.push_back(my_name);
  // max_timelines_history: only the newest lines are kept.
  if (max_lines > 0 && out.size() > static_cast<std::size_t>(max_lines))
    out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(out.size() - static_cast<std::size_t>(max_lines)));
  return out.dump();
}

}  // namespace custos::dcs
