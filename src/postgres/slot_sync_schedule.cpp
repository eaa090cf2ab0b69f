#include "postgres/slot_sync_schedule.h"

namespace custos::postgres {

bool SlotSyncSchedule::due(const SlotSyncRequest& request, std::optional<pid_t> postmaster, TimePoint now) const {
  if (!request.routine || !settled_ || !postmaster) return true;
  return settled_->postmaster != postmaster || !(settled_->request == request) || now - settled_->at >= kRecheck ||
         now < settled_->at;
}

void SlotSyncSchedule::record(const SlotSyncRequest& request, std::optional<pid_t> postmaster, TimePoint now,
                              bool settled) {
  if (settled && postmaster)
    settled_ = Settled{request, postmaster, now};
  else
    settled_.reset();
}

}  // namespace custos::postgres
