// Sleeping on a Clock: the pause of a polling loop that must run on the simulated clock in
// tests (a SimClock jumps to the end at once) and on the monotonic clock in the agent.
// Thread: any; blocks the calling thread until `until` (nothing wakes it earlier: a caller
// that must notice an event checks it between short sleeps).
#pragma once

#include "common/clock.h"
#include "common/thread_annotations.h"

namespace custos {

inline void sleep_on(Clock& clock, MonoTime until) {
  Mutex mu;
  CondVar never_notified;
  MutexLock lock(mu);
  while (clock.now() < until) clock.wait_until(never_notified, mu, until);
}

}  // namespace custos
