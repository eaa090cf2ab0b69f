#include "ha/schedule.h"

#include <algorithm>

namespace custos::ha {

ScheduleCheck check_schedule(double scheduled_at, double now, double loop_wait) {
  const double delta = scheduled_at - now;
  if (delta > loop_wait) return {ScheduleVerdict::wait, 0};
  // Patroni: delta < -int(loop_wait * 1.5)
  if (delta < -static_cast<double>(static_cast<long long>(loop_wait * 1.5)))
    return {ScheduleVerdict::stale, 0};
  return {ScheduleVerdict::run, std::max(delta, 0.0)};
}

}  // namespace custos::ha
