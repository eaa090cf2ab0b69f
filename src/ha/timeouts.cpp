#include "ha/timeouts.h"

#include <algorithm>

namespace custos::ha {

std::optional<double> next_timeout_at(const LocalState& me, const HaSettings& settings, bool holds_lock, double now) {
  if (!holds_lock || settings.pause) return std::nullopt;
  std::optional<double> at;
  auto consider = [&](double t) {
    if (t > now) at = at ? std::min(*at, t) : t;
  };
  // §5: crash recovery that takes longer than primary_start_timeout ends with a demotion.
  if (me.async && me.async->kind == AsyncKind::crash_recovery && me.crash_recovery_started > 0)
    consider(me.crash_recovery_started + settings.primary_start_timeout);
  // §3.15: a primary still starting when its start timeout is over is stopped.
  if (me.process == PgProcess::starting && me.state == PgState::starting)
    consider(me.state_since + me.start_timeout.value_or(settings.primary_start_timeout));
  return at;
}

}  // namespace custos::ha
