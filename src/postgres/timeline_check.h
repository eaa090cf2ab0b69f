// The diverged-timeline check (ha.md §4): whether this node's WAL has gone past the point where
// the leader's timeline forked off, so that it must be rewound (or reinitialized) before it can
// follow. The timeline history file format (pg_wal/<TL>.history: "<parent TL>\t<switch LSN>\t
// <reason>" lines) and the verdict are pure; LocalPostgres does the I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace custos::postgres {

enum class DivergeVerdict { need_rewind, not_needed, unknown };
const char* to_string(DivergeVerdict verdict);

// One line of a timeline history file: timeline `parent` ended at `switch_lsn`.
struct TimelineSwitch {
  int64_t parent = 0;
  int64_t switch_lsn = 0;
  std::string reason;
  bool operator==(const TimelineSwitch&) const = default;
};

// Parses a history file; lines that are not "<int> <LSN> [reason]" (comments, blanks) are
// skipped, so is a line whose LSN does not parse.
std::vector<TimelineSwitch> parse_timeline_history(std::string_view text);

// "00000003.history".
std::string history_file_name(int64_t timeline);

// Where this node stands: its timeline and position, and whether it is (or was, when stopped)
// a replica; a former primary's position is its shutdown checkpoint.
struct LocalTimeline {
  int64_t timeline = 0;
  int64_t lsn = 0;
  bool in_recovery = true;
};

// The verdict given the leader's current timeline and its history (needed only when the
// leader's timeline is newer). Unknown when either timeline is unknown (<= 0).
DivergeVerdict diverge_verdict(const LocalTimeline& local, int64_t leader_timeline,
                               const std::vector<TimelineSwitch>& leader_history);

}  // namespace custos::postgres
