#include "config/global_config.h"

#include <algorithm>

#include "common/json_truth.h"
#include "config/values.h"

namespace custos::config {

GlobalConfig::GlobalConfig(json dynamic) : config_(dynamic.is_object() ? std::move(dynamic) : json::object()) {}

bool GlobalConfig::check_mode(const std::string& key) const {
  auto it = config_.find(key);
  if (it == config_.end()) return false;
  return patroni_parse_bool(*it).value_or(false);
}

int64_t GlobalConfig::get_int(const std::string& key, int64_t fallback) const {
  auto it = config_.find(key);
  if (it == config_.end()) return fallback;
  return parse_int(*it).value_or(fallback);
}

bool GlobalConfig::is_standby_cluster() const {
  const json& sc = standby_cluster();
  for (const char* k : {"host", "port", "restore_command"})
    if (sc.contains(k) && python_truthy(sc[k])) return true;
  return false;
}

bool GlobalConfig::is_quorum_commit_mode() const {
  auto it = config_.find("synchronous_mode");
  return it != config_.end() && it->is_string() && to_lower(it->get<std::string>()) == "quorum";
}

bool GlobalConfig::is_synchronous_mode() const {
  return (check_mode("synchronous_mode") || is_quorum_commit_mode()) && !is_standby_cluster();
}

int64_t GlobalConfig::member_slots_ttl() const {
  auto it = config_.find("member_slots_ttl");
  if (it == config_.end()) return 0;
  return std::max<int64_t>(0, parse_int(*it, "s").value_or(0));
}

int64_t GlobalConfig::synchronous_node_count() const {
  int64_t v = get_int("synchronous_node_count", 1);
  return v < 1 ? 1 : v;
}

int64_t GlobalConfig::primary_start_timeout() const {
  if (config_.contains("primary_start_timeout")) return get_int("primary_start_timeout", 300);
  return get_int("master_start_timeout", 300);
}

int64_t GlobalConfig::primary_stop_timeout() const {
  if (config_.contains("primary_stop_timeout")) return get_int("primary_stop_timeout", 0);
  return get_int("master_stop_timeout", 0);
}

bool GlobalConfig::use_slots() const {
  auto it = config_.find("postgresql");
  if (it == config_.end() || !it->is_object() || !it->contains("use_slots")) return true;
  return patroni_parse_bool((*it)["use_slots"]).value_or(false);  // null or unparsable: false
}

const json& GlobalConfig::standby_cluster() const {
  static const json kEmpty = json::object();
  auto it = config_.find("standby_cluster");
  if (it == config_.end() || !it->is_object()) return kEmpty;
  return *it;
}

json GlobalConfig::permanent_slots() const {
  for (const char* k : {"permanent_replication_slots", "permanent_slots", "slots"}) {
    auto it = config_.find(k);
    if (it != config_.end() && python_truthy(*it)) return it->is_object() ? *it : json::object();
  }
  return json::object();
}

json GlobalConfig::ignore_slots_matchers() const {
  auto it = config_.find("ignore_slots");
  if (it != config_.end() && it->is_array()) return *it;
  return json::array();
}

}  // namespace custos::config
