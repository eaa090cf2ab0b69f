// The value this node writes to its `members/<name>` key (dcs.md §2.2), the counterpart of
// Member (dcs/member.h) which reads the other members' keys. Pure: unit-tested field by field
// against Patroni's layout.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace custos::dcs {

struct MemberValue {
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
  // Patroni 4.1 replicas: received (max of receive and the WAL receiver's written LSN) and
  // replayed positions. Left out by the 3.3 presentation.
  std::optional<int64_t> receive_lsn;
  std::optional<int64_t> replay_lsn;
  bool pending_restart = false;
  nlohmann::json pending_restart_reason = nlohmann::json::object();
  bool checkpoint_after_promote_pending = false;  // lock holder, post-promote CHECKPOINT not done
  bool paused = false;
  std::optional<nlohmann::json> scheduled_restart;
};

// Tags as Patroni publishes them (its _filter_tags): every tag with its configured value as is
// (a quoted "false" stays "false"), except that clonefrom, nofailover, noloadbalance, nosync and
// nostream are left out when Python-falsy, unless nofailover comes with failover_priority or
// nosync with sync_priority. Empty object when none or not an object.
nlohmann::json published_tags(const nlohmann::json& configured);

// The compact JSON object of the member key.
nlohmann::json member_value_json(const MemberValue& value);

}  // namespace custos::dcs
