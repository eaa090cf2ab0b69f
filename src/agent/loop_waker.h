// LoopWaker: how the HA loop waits between cycles, and how other threads make it run early
// (wake: a REST request, the postmaster's death, an async task that ended, a signal) or stop.
// A wake that arrives while the loop is busy is kept and ends the next wait at once: no wake-up
// is ever lost, and none is delivered twice. While the loop watches the DCS leader key (a
// replica following a leader), a wake interrupts the watch (Dcs::wakeup, sticky by contract).
//
// Thread: wake()/request_stop() from any thread; the waits from the loop thread only.
// Blocking: the waits until their deadline on the agent's Clock, a wake, or the stop.
#pragma once

#include <atomic>
#include <optional>

#include "common/clock.h"
#include "common/thread_annotations.h"
#include "dcs/dcs.h"

namespace custos::agent {

enum class WaitOutcome {
  deadline,        // the time passed
  woken,           // wake() (or a change of the watched leader key)
  stop_requested,  // request_stop()
};

class LoopWaker {
 public:
  LoopWaker(Clock& clock, dcs::Dcs& dcs) : clock_(clock), dcs_(dcs) {}

  void wake() EXCLUDES(mu_);
  void request_stop() EXCLUDES(mu_);
  bool stop_requested() const { return stop_flag_.load(); }

  // Until `deadline`, a wake or the stop. With `leader_version` set (the loop follows a leader)
  // the DCS leader key is watched instead of sleeping: its change counts as a wake.
  WaitOutcome wait_until(MonoTime deadline, std::optional<std::optional<dcs::Version>> leader_version)
      EXCLUDES(mu_);
  // A pause inside a plan (the sleep step): only the stop ends it early.
  WaitOutcome sleep_until(MonoTime deadline) EXCLUDES(mu_);
  // Takes a pending wake without waiting (true if there was one).
  bool take_wake() EXCLUDES(mu_);

 private:
  Clock& clock_;
  dcs::Dcs& dcs_;
  Mutex mu_;
  CondVar cv_;
  bool woken_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  bool watching_ GUARDED_BY(mu_) = false;
  std::atomic<bool> stop_flag_{false};
};

}  // namespace custos::agent
