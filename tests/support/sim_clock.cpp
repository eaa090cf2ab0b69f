#include "sim_clock.h"

namespace custos::test {

SimClock::SimClock()
    : start_mono_(MonoTime(std::chrono::hours(1000))),
      start_wall_(WallTime(std::chrono::seconds(1'760'000'000))) {}

MonoTime SimClock::now() const {
  std::lock_guard lk(mu_);
  return start_mono_ + offset_;
}

WallTime SimClock::wall_now() const {
  std::lock_guard lk(mu_);
  return start_wall_ + std::chrono::duration_cast<WallTime::duration>(offset_);
}

bool SimClock::wait_until(CondVar&, Mutex&, MonoTime deadline) {
  {
    std::lock_guard lk(mu_);
    ++waits_;
  }
  advance_to(deadline);
  return false;
}

void SimClock::advance(std::chrono::milliseconds d) {
  std::lock_guard lk(mu_);
  if (d.count() > 0) offset_ += d;
}

void SimClock::advance_to(MonoTime t) {
  std::lock_guard lk(mu_);
  if (t > start_mono_ + offset_) offset_ = t - start_mono_;
}

int SimClock::waits() const {
  std::lock_guard lk(mu_);
  return waits_;
}

}  // namespace custos::test
