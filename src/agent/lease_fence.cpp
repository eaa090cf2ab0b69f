#include "agent/lease_fence.h"

#include <algorithm>

#include "common/thread_pool.h"

namespace custos::agent {

LeaseFence::LeaseFence(Clock& clock, Action action) : clock_(clock), action_(std::move(action)) {
  thread_ = std::thread([this] {
    set_current_thread_name("lease-fence");
    run();
  });
}

LeaseFence::~LeaseFence() { stop(); }

void LeaseFence::stop() {
  {
    MutexLock lk(mu_);
    stop_ = true;
    deadline_.reset();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LeaseFence::arm(MonoTime deadline) {
  {
    MutexLock lk(mu_);
    if (stop_ || deadline_ == deadline) return;
    if (last_fired_ && deadline <= *last_fired_) return;
    deadline_ = deadline;
  }
  cv_.notify_all();
}

void LeaseFence::disarm() {
  {
    MutexLock lk(mu_);
    if (!deadline_) return;
    deadline_.reset();
  }
  cv_.notify_all();
}

std::optional<MonoTime> LeaseFence::deadline() const {
  MutexLock lk(mu_);
  return deadline_;
}

int LeaseFence::fired() const {
  MutexLock lk(mu_);
  return fired_;
}

void LeaseFence::run() {
  while (true) {
    {
      MutexLock lk(mu_);
      while (true) {
        if (stop_) return;
        if (!deadline_) {
          cv_.wait(mu_);
          continue;
        }
        const auto left = *deadline_ - clock_.now();
        if (left > MonoClock::duration::zero()) {
          // Real time, bounded by what the Clock says is left; an arm/disarm wakes it earlier.
          cv_.wait_for(mu_, std::min<MonoClock::duration>(left, std::chrono::seconds(60)));
          continue;
        }
        last_fired_ = deadline_;
        deadline_.reset();
        ++fired_;
        break;
      }
    }
    action_();  // without the lock: arm/disarm answer meanwhile
  }
}

}  // namespace custos::agent
