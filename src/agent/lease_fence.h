// LeaseFence: the lock holder's last line of defence, independent of the HA loop (issue 12,
// "self-fencing on a monotonic deadline"). After every successful lock write (and every
// failsafe confirmation) the executor arms it with the last moment this node's lease is
// certainly still valid: when the lease was last refreshed (the start of that request; the DCS
// backend says when, see Dcs::lease_info) + the TTL it runs with - kLeaseFenceMargin. If that
// moment comes before the fence is armed again with a later deadline or disarmed, its own thread
// runs the fence action (PostgreSQL stopped immediately), even when the loop is stuck in a slow
// DCS call, a hung PostgreSQL statement or anything else. Deadlines are on the agent's Clock
// (monotonic): wall-clock jumps change nothing. A deadline that already fired is never armed
// again (a stale re-arm must not stop a PostgreSQL started since).
//
// Thread: one thread ("lease-fence") made by the constructor, joined by stop() or the
// destructor; arm / disarm / deadline from any thread. Lock: one leaf mutex, never held while
// the action runs. The action must not call back into the fence. The thread waits in real time
// (at most until the deadline as the Clock counts it) and looks again at every arm/disarm, so a
// simulated clock that jumps is noticed at the next arm.
#pragma once

#include <functional>
#include <optional>
#include <thread>

#include "common/clock.h"
#include "common/thread_annotations.h"

namespace custos::agent {

// How long before the end of the lease PostgreSQL is stopped: the time an immediate shutdown
// takes, with room to spare.
inline constexpr double kLeaseFenceMargin = 2.0;

class LeaseFence {
 public:
  using Action = std::function<void()>;
  LeaseFence(Clock& clock, Action action);
  ~LeaseFence();
  LeaseFence(const LeaseFence&) = delete;
  LeaseFence& operator=(const LeaseFence&) = delete;

  // PostgreSQL must stop accepting writes at `deadline` (on the Clock) unless armed again or
  // disarmed before. A deadline already past fires at once; one at or before a deadline that
  // already fired is ignored.
  void arm(MonoTime deadline);
  void disarm();
  // Ends the thread (an action in progress finishes first); arm() does nothing afterwards.
  void stop();
  std::optional<MonoTime> deadline() const;
  // How often the action ran.
  int fired() const;

 private:
  void run();

  Clock& clock_;
  const Action action_;
  mutable Mutex mu_;
  CondVar cv_;
  std::optional<MonoTime> deadline_ GUARDED_BY(mu_);
  std::optional<MonoTime> last_fired_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  int fired_ GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace custos::agent
