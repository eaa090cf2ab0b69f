#include "dcs/member_value.h"

#include "common/json_truth.h"

namespace custos::dcs {

using nlohmann::json;

json published_tags(const json& configured) {
  json out = json::object();
  if (!configured.is_object()) return out;
  for (auto it = configured.begin(); it != configured.end(); ++it) {
    const std::string& k = it.key();
    const bool predefined_boolean =
        k == "nofailover" || k == "clonefrom" || k == "noloadbalance" || k == "nosync" || k == "nostream";
    if (!predefined_boolean || python_truthy(it.value()) ||
        (k == "nofailover" && configured.contains("failover_priority")) ||
        (k == "nosync" && configured.contains("sync_priority"))) {
      out[k] = it.value();
    }
  }
  return out;
}

json member_value_json(const MemberValue& info) {
  json m = json::object();
  m["conn_url"] = info.conn_url;
  m["api_url"] = info.api_url;
  if (info.proxy_url) m["proxy_url"] = *info.proxy_url;
  m["state"] = info.state;
  m["role"] = info.role;
  m["version"] = info.version;
  if (info.checkpoint_after_promote_pending) m["checkpoint_after_promote"] = false;
  json tags = published_tags(info.tags);
  if (!tags.empty()) m["tags"] = tags;
  if (info.pending_restart) {
    m["pending_restart"] = true;
    if (info.pending_restart_reason.is_object() && !info.pending_restart_reason.empty())
      m["pending_restart_reason"] = info.pending_restart_reason;
  }
  if (info.xlog_location) m["xlog_location"] = *info.xlog_location;
  if (info.timeline) m["timeline"] = *info.timeline;
  if (info.replication_state) m["replication_state"] = *info.replication_state;
  if (info.receive_lsn) m["receive_lsn"] = *info.receive_lsn;
  if (info.replay_lsn) m["replay_lsn"] = *info.replay_lsn;
  if (info.scheduled_restart) m["scheduled_restart"] = *info.scheduled_restart;
  if (info.paused) m["pause"] = true;
  return m;
}

}  // namespace custos::dcs
