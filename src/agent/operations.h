// AgentOperations: the REST write endpoints (rest-api.md §6) as this agent carries them out,
// behind api::Operations. Requests are parsed by api/write_requests; what touches the HA loop's
// own state (restart, reinitialize, scheduled restart) runs on the loop thread through
// Agent::run_in_loop, so the loop never races a REST thread. Switchover/failover and /config are
// DCS writes made from the REST thread, followed by waking the loop. The configuration is read
// from the SettingsStore snapshot, never from the loop's copy.
//
// Thread: REST worker threads. Blocking: see api/operations.h.
#pragma once

#include <optional>
#include <string>

#include "agent/agent.h"
#include "api/operations.h"
#include "api/write_requests.h"

namespace custos::agent {

class AgentOperations final : public api::Operations {
 public:
  AgentOperations(Agent& agent, AgentServices services, SettingsStore& settings)
      : agent_(agent), services_(services), settings_(settings) {}

  api::Response switchover(const api::Request& request, bool failover_endpoint) override;
  api::Response cancel_scheduled_switchover() override;
  api::Response restart(const api::Request& request) override;
  api::Response cancel_scheduled_restart() override;
  api::Response reinitialize(const api::Request& request) override;
  api::Response reload() override;
  api::Response update_config(const api::Request& request, bool patch) override;
  api::Response failsafe(const api::Request& request) override;
  api::Response citus(const api::Request& request) override;

 private:
  std::optional<std::string> switchover_infeasible(const dcs::Cluster& cluster, const api::SwitchoverRequest& r);
  api::Response wait_for_switchover(const std::optional<std::string>& old_leader, const api::SwitchoverRequest& r);

  Agent& agent_;
  AgentServices services_;
  SettingsStore& settings_;
};

}  // namespace custos::agent
