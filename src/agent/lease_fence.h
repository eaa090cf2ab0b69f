// LeaseFence: the lock holder's last line of defence, independent of the HA loop (issue 12,
// "self-fencing on a monotonic deadline"). After every successful lock write (and every
// failsafe confirmation) the executor arms it with the last moment this node's lease is
// certainly still valid: the monotonic time the write was started + ttl - kLeaseFenceMargin. If
// that moment comes before the fence is armed again with a later deadline or disarmed, its own
// thread runs the fence action (PostgreSQL stopped immediately), even when the loop is stuck in
// a slow DCS call, a hung PostgreSQL statement or anything else. Wall-clock jumps change
// nothing: deadlines are on the steady clock.
//
// Thread: one thread ("lease-fence") made by the constructor, joined by the destructor; arm /
// disarm / deadline from any thread. Lock: one leaf mutex, never held while the action runs.
// The action must not call back into the fence.
#pragma once

#include <functional>
#include <optional>
#include <thread>

#include "common/clock.h"
#include "common/thread_annotations.h"

namespace custos::agent {

// How long before the end of the lease PostgreSQL is stopped: the time an immediate shutdown
// takes, with room to spare. The lease in the DCS starts when the DCS handles the write, later
// than the moment the fence counts from, so another node can take the lock only after it.
inline constexpr double kLeaseFenceMargin = 2.0;

class LeaseFence {
 public:
  using Action = std::function<void()>;
  explicit LeaseFence(Action action);
  ~LeaseFence();
  LeaseFence(const LeaseFence&) = delete;
  LeaseFence& operator=(const LeaseFence&) = delete;

  // PostgreSQL must stop accepting writes at `deadline` (steady clock) unless armed again or
  // disarmed before. A deadline already past fires at once.
  void arm(MonoTime deadline);
  void disarm();
  std::optional<MonoTime> deadline() const;
  // How often the action ran.
  int fired() const;

 private:
  void run();

  const Action action_;
  mutable Mutex mu_;
  CondVar cv_;
  std::optional<MonoTime> deadline_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  int fired_ GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace custos::agent
