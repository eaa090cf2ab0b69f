#include "agent/citus_worker_events.h"

#include <spdlog/spdlog.h>

namespace custos::agent {

bool CitusWorkerEvents::notify(mpp::CitusEvent event, const std::string& my_name, int ttl, int retry_timeout) {
  auto coordinator = dcs_.get_mpp_coordinator();
  if (!coordinator) {
    spdlog::warn("citus: cannot read the coordinator from the DCS for {}: {}", mpp::to_string(event),
                 coordinator.error().describe());
    return false;
  }
  const auto& leader = coordinator->leader();
  if (!leader || !leader->conn_url() || !leader->member.api_url()) {
    spdlog::info("citus: no coordinator leader to tell about {}", mpp::to_string(event));
    return false;
  }
  mpp::CitusEventMessage m;
  m.type = event;
  m.group = group_;
  m.leader = my_name;
  m.timeout = ttl;
  m.cooldown = retry_timeout;
  const auto timeout = event == mpp::CitusEvent::before_demote ? std::chrono::milliseconds(ttl * 1000)
                                                                : std::chrono::milliseconds(2000);
  spdlog::info("citus: {} sent to the coordinator {}", mpp::to_string(event), leader->name());
  return members_.post_citus_event(*leader->member.api_url(), m.to_json().dump(), timeout);
}

}  // namespace custos::agent
