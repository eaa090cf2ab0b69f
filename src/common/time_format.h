// Timestamps as Patroni writes them for others to read (wall time only): ISO 8601 with the
// local UTC offset ("2024-05-01T12:00:00+02:00", the /history key) or in UTC
// ("2024-05-01T10:00:00+00:00", scheduled restarts; with ".ffffff" when the time has
// microseconds, as Python's isoformat()). Pure apart from the local time zone.
#pragma once

#include <string>

namespace custos {

std::string iso8601_local(double epoch_seconds);
std::string iso8601_utc(double epoch_seconds);

}  // namespace custos
