// What another member answered to `GET /patroni` just before the decision (ha.md §3.6/§3.7):
// the agent fetches every known member with an api_url (old and current cluster views and
// /failsafe entries); a member absent from the list counts as unreachable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace custos::ha {

struct MemberStatus {
  std::string name;
  // The request succeeded (2 s timeout).
  bool reachable = false;
  // Primary: flush LSN; replica: max(received, replayed) (`xlog` of the response).
  int64_t wal_position = 0;
  std::optional<int64_t> timeline;
  // false = the member runs as a primary (`role` master/primary in the response).
  bool in_recovery = true;
  bool nofailover = false;
  int64_t failover_priority = 1;
  bool watchdog_failed = false;

  // Why the member may not be a failover target: "not reachable", "not allowed to promote",
  // "not watchdog capable"; nullopt when it may.
  std::optional<std::string> failover_limitation() const {
    if (!reachable) return std::string("not reachable");
    if (nofailover) return std::string("not allowed to promote");
    if (watchdog_failed) return std::string("not watchdog capable");
    return std::nullopt;
  }
};

using MemberStatuses = std::vector<MemberStatus>;

}  // namespace custos::ha
