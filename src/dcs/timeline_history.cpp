#include "dcs/timeline_history.h"

#include <limits>

#include "dcs/json_util.h"

namespace custos::dcs {

TimelineHistory TimelineHistory::from_node(Version version, std::string_view value) {
  TimelineHistory h;
  h.version = version;
  h.value = sanitize_utf8(value);
  auto parsed = parse_json(value);
  if (parsed && parsed->is_array()) h.lines_ = std::move(*parsed);
  return h;
}

std::vector<HistoryLine> TimelineHistory::parsed_lines() const {
  std::vector<HistoryLine> out;
  for (const auto& line : lines_) {
    if (!line.is_array() || line.size() < 3 || line.size() > 5) continue;
    auto tl = python_int(line[0]);
    auto lsn = python_int(line[1]);
    if (!tl || !lsn || !line[2].is_string()) continue;
    HistoryLine l;
    l.timeline = *tl;
    l.lsn = *lsn;
    l.reason = line[2].get<std::string>();
    if (line.size() > 3) {
      if (!line[3].is_string()) continue;
      l.timestamp = line[3].get<std::string>();
    }
    if (line.size() > 4) {
      if (!line[4].is_string()) continue;
      l.new_leader = line[4].get<std::string>();
    }
    out.push_back(std::move(l));
  }
  return out;
}

int TimelineHistory::timeline() const {
  if (lines_.empty()) return value == "[]" ? 1 : 0;
  const nlohmann::json& last = lines_.back();
  std::optional<int64_t> tl;
  if (last.is_array()) {
    if (!last.empty()) tl = python_int(last[0]);
  } else if (last.is_string()) {
    // Python indexes the string: its first character.
    const std::string& s = last.get_ref<const std::string&>();
    if (!s.empty() && s[0] >= '0' && s[0] <= '9') tl = s[0] - '0';
  }
  if (!tl || *tl >= std::numeric_limits<int>::max() || *tl < std::numeric_limits<int>::min()) {
    return 0;
  }
  return static_cast<int>(*tl + 1);
}

}  // namespace custos::dcs
