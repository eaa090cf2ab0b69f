#include "agent/lease_fence.h"

#include "common/thread_pool.h"

namespace custos::agent {

LeaseFence::LeaseFence(Action action) : action_(std::move(action)) {
  thread_ = std::thread([this] {
    set_current_thread_name("lease-fence");
    run();
  });
}

LeaseFence::~LeaseFence() {
  {
    MutexLock lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void LeaseFence::arm(MonoTime deadline) {
  {
    MutexLock lk(mu_);
    if (deadline_ == deadline) return;
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
        } else if (MonoClock::now() < *deadline_) {
          cv_.wait_until(mu_, *deadline_);
        } else {
          deadline_.reset();
          ++fired_;
          break;
        }
      }
    }
    action_();  // without the lock: arm/disarm answer meanwhile
  }
}

}  // namespace custos::agent
