// The `history` key (dcs.md §2.7): the JSON array of timeline switches [tl, lsn, reason,
// timestamp?, new_leader?], kept as parsed JSON since other writers are not trusted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcs/raw_node.h"

namespace custos::dcs {

// One well-formed history line.
struct HistoryLine {
  int64_t timeline = 0;
  int64_t lsn = 0;
  std::string reason;
  std::optional<std::string> timestamp;
  std::optional<std::string> new_leader;
  bool operator==(const HistoryLine&) const = default;
};

class TimelineHistory {
 public:
  // Never fails: a value that is not a JSON array gives no lines.
  static TimelineHistory from_node(Version version, std::string_view value);

  Version version = 0;
  // The raw value (needed: exactly "[]" means timeline 1).
  std::string value;

  // The parsed array (elements of any type), [] when not an array.
  const nlohmann::json& lines() const noexcept { return lines_; }
  // The lines that are arrays of [int-like, int-like, string, (string, (string))]; others skipped.
  std::vector<HistoryLine> parsed_lines() const;

  // Cluster timeline (dcs.md §2.7): lines non-empty -> int(last[0]) + 1 (Python int(): ints,
  // floats truncated, bools, decimal strings; for a string `last`, its first character), 0 if
  // that fails or overflows; no lines and value exactly "[]" -> 1; else 0.
  int timeline() const;

  bool operator==(const TimelineHistory&) const = default;

 private:
  nlohmann::json lines_ = nlohmann::json::array();
};

}  // namespace custos::dcs
