// The value of our `members/<name>` key (dcs.md §2.2), built from what the agent knows at the
// end of a cycle. Pure: unit-tested field by field against Patroni's layout.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace custos::agent {

struct MemberInfo {
  std::string conn_url;
  std::string api_url;
  std::optional<std::string> proxy_url;
  std::string state;  // PostgreSQL state string (ha.md §12)
  std::string role;   // internal role as written: master, replica, ...
  std::string version;
  nlohmann::json tags = nlohmann::json::object();  // configured tags (as in the YAML)
  // Present while PG runs/starts and no async action other than promote runs.
  std::optional<int64_t> xlog_location;
  std::optional<int64_t> timeline;
  std::optional<std::string> replication_state;  // replicas only
  bool pending_restart = false;
  nlohmann::json pending_restart_reason = nlohmann::json::object();
  bool checkpoint_after_promote_pending = false;  // lock holder, post-promote CHECKPOINT not done
  bool paused = false;
  std::optional<nlohmann::json> scheduled_restart;
};

// Tags as published: predefined boolean tags only when true (nofailover also when
// failover_priority is given), other tags as configured. Empty object when none.
nlohmann::json published_tags(const nlohmann::json& configured);

nlohmann::json build_member_json(const MemberInfo& info);

}  // namespace custos::agent
