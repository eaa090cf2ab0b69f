// Clock: where the agent reads time. Monotonic time (`now()`) measures every lease, TTL,
// timeout and deadline; wall time (`wall_now()`) is only for timestamps others read (DCS values,
// logs, the REST API) and for schedules written as wall-clock times (scheduled switchover or
// restart). SystemClock is the real one; tests use a simulated clock (tests/support/sim_clock.h).
//
// Thread: any. Blocking: only wait_until, up to its deadline.
#pragma once

#include <chrono>

#include "common/thread_annotations.h"

namespace custos {

using MonoClock = std::chrono::steady_clock;
using MonoTime = MonoClock::time_point;
using WallTime = std::chrono::system_clock::time_point;

// Seconds of a monotonic time point (the HA decision works in seconds).
inline double mono_seconds(MonoTime t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }
// Seconds since the Unix epoch.
inline double epoch_seconds(WallTime t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }
// Monotonic seconds back to a time point.
inline MonoTime mono_time(double seconds) {
  return MonoTime(std::chrono::duration_cast<MonoClock::duration>(std::chrono::duration<double>(seconds)));
}

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime now() const = 0;
  virtual WallTime wall_now() const = 0;
  // Waits on `cv` (whose mutex `mu` the caller holds) until notified or `deadline` on this
  // clock; false when the deadline passed. A simulated clock advances to the deadline instead of
  // blocking when nothing else can notify.
  virtual bool wait_until(CondVar& cv, Mutex& mu, MonoTime deadline) REQUIRES(mu) = 0;

  double now_seconds() const { return mono_seconds(now()); }
  double wall_seconds() const { return epoch_seconds(wall_now()); }
};

class SystemClock final : public Clock {
 public:
  MonoTime now() const override { return MonoClock::now(); }
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
  bool wait_until(CondVar& cv, Mutex& mu, MonoTime deadline) REQUIRES(mu) override {
    return cv.wait_until(mu, deadline);
  }
};

}  // namespace custos
