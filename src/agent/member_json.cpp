#include "agent/member_json.h"

namespace custos::agent {

using nlohmann::json;

namespace {

bool truthy(const json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_string()) return !v.get<std::string>().empty();
  if (v.is_null()) return false;
  return !v.empty();
}

}  // namespace

json published_tags(const json& configured) {
  json out = json::object();
  if (!configured.is_object()) return out;
  for (auto it = configured.begin(); it != configured.end(); ++it) {
    const std::string& k = it.key();
    if (k == "nofailover" || k == "clonefrom" || k == "noloadbalance" || k == "nosync" ||
        k == "nostream") {
      if (truthy(it.value())) out[k] = true;
    } else {
      out[k] = it.value();
    }
  }
  if (configured.contains("failover_priority") && !out.contains("nofailover"))
    out["nofailover"] = configured.contains("nofailover") ? truthy(configured["nofailover"]) : false;
  return out;
}

json build_member_json(const MemberInfo& info) {
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
  if (info.scheduled_restart) m["scheduled_restart"] = *info.scheduled_restart;
  if (info.paused) m["pause"] = true;
  return m;
}

}  // namespace custos::agent
