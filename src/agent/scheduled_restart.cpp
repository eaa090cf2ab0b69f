#include "agent/scheduled_restart.h"

#include "common/time_format.h"

namespace custos::agent {

std::string postgres_version_text(int v) {
  if (v >= 100000) return std::to_string(v / 10000) + "." + std::to_string(v % 10000);
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

nlohmann::json scheduled_restart_value(const ha::ScheduledRestart& r) {
  nlohmann::json j = nlohmann::json::object();
  j["schedule"] = iso8601_utc(r.schedule);
  if (r.postmaster_start_time) j["postmaster_start_time"] = *r.postmaster_start_time;
  if (r.role) j["role"] = *r.role;
  if (r.postgres_version) j["postgres_version"] = postgres_version_text(*r.postgres_version);
  if (r.restart_pending) j["restart_pending"] = true;
  return j;
}

}  // namespace custos::agent
