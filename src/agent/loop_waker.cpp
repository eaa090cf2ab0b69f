#include "agent/loop_waker.h"

#include <spdlog/spdlog.h>

namespace custos::agent {

void LoopWaker::wake() {
  bool interrupt_watch = false;
  {
    MutexLock lk(mu_);
    woken_ = true;
    interrupt_watch = watching_;
  }
  cv_.notify_all();
  // A watch that has not started yet returns at once: Dcs::wakeup is sticky.
  if (interrupt_watch) dcs_.wakeup();
}

void LoopWaker::request_stop() {
  bool interrupt_watch = false;
  {
    MutexLock lk(mu_);
    stop_ = true;
    interrupt_watch = watching_;
  }
  stop_flag_.store(true);
  cv_.notify_all();
  if (interrupt_watch) dcs_.wakeup();
}

bool LoopWaker::take_wake() {
  MutexLock lk(mu_);
  const bool was = woken_;
  woken_ = false;
  return was;
}

WaitOutcome LoopWaker::wait_until(MonoTime deadline, std::optional<std::optional<dcs::Version>> leader_version) {
  {
    MutexLock lk(mu_);
    if (stop_) return WaitOutcome::stop_requested;
    if (woken_) {
      woken_ = false;
      return WaitOutcome::woken;
    }
    if (!leader_version) {
      while (!woken_ && !stop_) {
        if (!clock_.wait_until(cv_, mu_, deadline)) break;
      }
      if (stop_) return WaitOutcome::stop_requested;
      if (woken_) {
        woken_ = false;
        return WaitOutcome::woken;
      }
      return WaitOutcome::deadline;
    }
    watching_ = true;
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.now());
  const dcs::WatchOutcome out = dcs_.watch(*leader_version, std::max(left, std::chrono::milliseconds(0)));
  MutexLock lk(mu_);
  watching_ = false;
  if (stop_) return WaitOutcome::stop_requested;
  const bool woken = woken_;
  woken_ = false;
  if (out == dcs::WatchOutcome::kChanged) {
    spdlog::debug("leader key changed: running a cycle now");
    return WaitOutcome::woken;
  }
  return woken || out == dcs::WatchOutcome::kWokenUp ? WaitOutcome::woken : WaitOutcome::deadline;
}

WaitOutcome LoopWaker::sleep_until(MonoTime deadline) {
  MutexLock lk(mu_);
  while (!stop_) {
    if (!clock_.wait_until(cv_, mu_, deadline)) break;
  }
  return stop_ ? WaitOutcome::stop_requested : WaitOutcome::deadline;
}

}  // namespace custos::agent
