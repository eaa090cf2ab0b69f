// SlotSyncSchedule: whether the HA cycle's slot reconciliation (LocalPostgres::sync_slots) must
// read pg_replication_slots again. Patroni reads the slots only when something scheduled it (a
// role change, a restart, a failed statement); custos reads them when anything the
// reconciliation depends on changed, and besides at the first cycle kRecheck or more after the
// last read, so that a slot made or dropped by hand is still handled within about kRecheck +
// loop_wait, while an idle cycle (the same request, the same postmaster, nothing done last time)
// no longer sends a query every loop_wait. With loop_wait >= kRecheck every cycle reads them.
//
// Pure bookkeeping: no I/O, the caller passes the time. Thread: not synchronized; the owner
// (LocalPostgres) calls it under its slots lock.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>

#include "postgres/slots.h"

namespace custos::postgres {

class SlotSyncSchedule {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  static constexpr std::chrono::seconds kRecheck{15};

  // True when `request` must be reconciled now: it is not routine, or no reconciliation found
  // everything in order yet, or the request or the postmaster changed since, or kRecheck passed.
  bool due(const SlotSyncRequest& request, std::optional<pid_t> postmaster, TimePoint now) const;
  // A reconciliation of `request` ran at `now`; `settled` when it found nothing to create, drop,
  // advance or copy and no statement failed.
  void record(const SlotSyncRequest& request, std::optional<pid_t> postmaster, TimePoint now, bool settled);

 private:
  struct Settled {
    SlotSyncRequest request;
    std::optional<pid_t> postmaster;
    TimePoint at;
  };
  std::optional<Settled> settled_;
};

}  // namespace custos::postgres
