#include "postgres/timeline_check.h"

#include <cstdio>
#include <sstream>

#include "postgres/lsn.h"

namespace custos::postgres {

const char* to_string(DivergeVerdict verdict) {
  switch (verdict) {
    case DivergeVerdict::need_rewind: return "rewind needed";
    case DivergeVerdict::not_needed: return "no rewind needed";
    case DivergeVerdict::unknown: return "unknown";
  }
  return "unknown";
}

std::vector<TimelineSwitch> parse_timeline_history(std::string_view text) {
  std::vector<TimelineSwitch> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    int64_t parent = 0;
    std::string lsn_text;
    if (!(ls >> parent >> lsn_text)) continue;
    auto lsn = parse_lsn(lsn_text);
    if (!lsn) continue;
    std::string reason;
    std::getline(ls, reason);
    while (!reason.empty() && (reason.front() == ' ' || reason.front() == '\t')) reason.erase(reason.begin());
    while (!reason.empty() && (reason.back() == '\r' || reason.back() == ' ')) reason.pop_back();
    out.push_back(TimelineSwitch{parent, *lsn, reason});
  }
  return out;
}

std::string history_file_name(int64_t timeline) {
  char name[32];
  std::snprintf(name, sizeof name, "%08llX.history", static_cast<unsigned long long>(timeline));
  return name;
}

DivergeVerdict diverge_verdict(const LocalTimeline& local, int64_t leader_timeline,
                               const std::vector<TimelineSwitch>& leader_history) {
  if (local.timeline <= 0 || leader_timeline <= 0) return DivergeVerdict::unknown;
  if (local.timeline > leader_timeline) return DivergeVerdict::need_rewind;
  if (local.timeline == leader_timeline) return DivergeVerdict::not_needed;
  for (const TimelineSwitch& s : leader_history) {
    if (s.parent != local.timeline) continue;
    // A replica replayed up to its LSN; a former primary's shutdown checkpoint record ends past
    // the switch point when it wrote WAL the new timeline does not have.
    const bool need = local.in_recovery ? local.lsn > s.switch_lsn : local.lsn >= s.switch_lsn;
    return need ? DivergeVerdict::need_rewind : DivergeVerdict::not_needed;
  }
  // Our timeline is not an ancestor of the leader's.
  return DivergeVerdict::need_rewind;
}

}  // namespace custos::postgres
