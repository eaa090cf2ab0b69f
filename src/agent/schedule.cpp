#include "agent/schedule.h"

namespace custos::agent {

NextRun next_run(double previous, double loop_wait, double now) {
  NextRun r;
  r.at = previous + loop_wait;
  if (r.at <= now) {
    r.overran = r.at < now;
    // Re-anchor on now: a long stall must not cause a burst of catch-up cycles.
    r.at = now;
  }
  return r;
}

}  // namespace custos::agent
