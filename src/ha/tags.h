// The configured tags of this node (config.md §2.10) as the HA decision needs them: the
// nofailover / failover_priority rules of Patroni's Tags class plus the routing tags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace custos::ha {

struct Tags {
  // As configured; nullopt = not set.
  std::optional<bool> nofailover;
  std::optional<int64_t> failover_priority;
  std::optional<std::string> replicatefrom;
  bool clonefrom = false;
  bool nosync = false;  // nosync if set, else sync_priority <= 0 (Patroni 4.1)
  std::optional<int64_t> sync_priority;
  bool nostream = false;

  // nofailover if set, else failover_priority <= 0 (config.md §2.10: nofailover wins).
  bool is_nofailover() const;
  // 0 when nofailover is true, else failover_priority (default 1).
  int64_t priority() const;
};

}  // namespace custos::ha
