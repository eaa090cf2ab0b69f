// The writer of the `history` key (dcs.md §2.7, ha.md §3.11a), beside its reader
// (timeline_history.h): what a primary on `timeline` writes, given the current key and the
// switches of its own pg_wal/<TL>.history file. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dcs/timeline_history.h"

namespace custos::dcs {

// One switch of the local history file: timeline `parent` ended at `lsn` for `reason`.
struct HistorySwitch {
  int64_t parent = 0;
  int64_t lsn = 0;
  std::string reason;
};

// nullopt: the key is already right (or there is nothing to write). Timeline 1: "[]". Otherwise
// one [tl, lsn, reason] line per switch, each keeping the timestamp/new leader the current key
// has for the same timeline and LSN, and the last line stamped with `timestamp` and `my_name`;
// with max_lines > 0 (max_timelines_history) only the newest max_lines lines are written.
std::optional<std::string> next_history_value(const std::optional<TimelineHistory>& current, int64_t timeline,
                                              const std::vector<HistorySwitch>& switches,
                                              const std::string& timestamp, const std::string& my_name,
                                              int64_t max_lines = 0);

}  // namespace custos::dcs
