// FailsafeState: what failsafe mode (ha.md §7) remembers between the REST API and the HA loop,
// as Patroni's Failsafe object: on a replica, the primary that last called `POST /failsafe`
// (its name, URLs and slot positions) and when; on the primary, when the members last
// confirmed that it may go on without the DCS. Either moment makes failsafe "active" for ttl
// seconds (`failsafe_mode_is_active` of GET /patroni and the metrics); on a replica the
// remembered primary is put into an unlocked view for that long, so it does not race.
//
// Thread: any (REST threads record, the loop reads and resets). Lock: one leaf mutex. Times are
// monotonic seconds (common/clock.h).
#pragma once

#include <optional>

#include "common/thread_annotations.h"
#include "ha/local_state.h"

namespace custos::agent {

class FailsafeState {
 public:
  using Leader = ha::LocalState::FailsafeLeader;
  // A `POST /failsafe` was accepted (leader.received_at = when).
  void update(Leader leader);
  // The primary: confirmed by every member at `since`; nullopt = not active (forgets any leader).
  void set_active(std::optional<double> since);
  // The remembered primary while it is younger than ttl.
  std::optional<Leader> leader(double now, double ttl) const;
  bool is_active(double now, double ttl) const;

 private:
  mutable Mutex mu_;
  double last_update_ GUARDED_BY(mu_) = 0;
  bool ever_ GUARDED_BY(mu_) = false;
  std::optional<Leader> leader_ GUARDED_BY(mu_);
};

}  // namespace custos::agent
