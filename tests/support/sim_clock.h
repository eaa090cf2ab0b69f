// SimClock: a Clock whose time moves only when a test says so (advance) or when the code under
// test waits (wait_until jumps to the deadline: in a simulation nothing else would wake it).
// Monotonic and wall time move together; wall time starts at a fixed, realistic epoch.
//
// Thread: any (the async worker reads it too).
#pragma once

#include <chrono>
#include <mutex>

#include "common/clock.h"

namespace custos::test {

class SimClock final : public Clock {
 public:
  SimClock();
  MonoTime now() const override;
  WallTime wall_now() const override;
  bool wait_until(CondVar& cv, Mutex& mu, MonoTime deadline) REQUIRES(mu) override;

  void advance(std::chrono::milliseconds d);
  void advance_seconds(double s) { advance(std::chrono::milliseconds(static_cast<int64_t>(s * 1000))); }
  void advance_to(MonoTime t);
  // How often a wait jumped the time (a test can tell the code waited).
  int waits() const;

 private:
  mutable std::mutex mu_;
  MonoClock::duration offset_{};
  const MonoTime start_mono_;
  const WallTime start_wall_;
  int waits_ = 0;
};

}  // namespace custos::test
