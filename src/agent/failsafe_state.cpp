#include "agent/failsafe_state.h"

namespace custos::agent {

void FailsafeState::update(Leader leader) {
  MutexLock lk(mu_);
  last_update_ = leader.received_at;
  ever_ = true;
  leader_ = std::move(leader);
}

void FailsafeState::set_active(std::optional<double> since) {
  MutexLock lk(mu_);
  if (since) {
    last_update_ = *since;
    ever_ = true;
    return;
  }
  ever_ = false;
  last_update_ = 0;
  leader_.reset();
}

std::optional<FailsafeState::Leader> FailsafeState::leader(double now, double ttl) const {
  MutexLock lk(mu_);
  if (!leader_ || !(leader_->received_at + ttl > now)) return std::nullopt;
  return leader_;
}

bool FailsafeState::is_active(double now, double ttl) const {
  MutexLock lk(mu_);
  return ever_ && last_update_ + ttl > now;
}

}  // namespace custos::agent
