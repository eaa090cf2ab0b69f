// The `failover` key (dcs.md §2.5): a switchover/failover request {leader?, member?,
// scheduled_at?}, also in the legacy text form "leader:candidate".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "dcs/raw_node.h"

namespace custos::dcs {

using SysMicros = std::chrono::sys_time<std::chrono::microseconds>;

// Parses an ISO 8601 timestamp WITH a time zone: "YYYY-MM-DD[T| ]HH:MM[:SS[.frac]]" followed
// by "Z", "+HH", "+HHMM" or "+HH:MM" (also "-"). nullopt for anything else, including a missing
// time zone (Patroni writes them with one).
std::optional<SysMicros> parse_iso8601(std::string_view text);

class Failover {
 public:
  // Parses the key value. Never fails: `{}`, `null`, "", non-objects give an empty Failover
  // (no leader, no candidate). Text that is not JSON is the legacy form "leader:candidate"
  // (parts trimmed). Non-string or empty `leader`/`member` count as absent.
  static Failover from_node(Version version, std::string_view value);

  Version version = 0;
  std::optional<std::string> leader;     // switchover source
  std::optional<std::string> candidate;  // JSON key `member`
  // Parsed `scheduled_at`. When `scheduled_at` is truthy but cannot be parsed (bad date, no
  // time zone, not a string), scheduled_at is nullopt and scheduled_at_invalid is true: callers
  // must not treat such a request as "immediate" (Patroni raises while loading it).
  std::optional<SysMicros> scheduled_at;
  bool scheduled_at_invalid = false;

  // No leader and no candidate: "no failover" (a cleaned-up `{}` key).
  bool is_empty() const noexcept { return !leader && !candidate; }

  bool operator==(const Failover&) const = default;
};

}  // namespace custos::dcs
