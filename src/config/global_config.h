// GlobalConfig: typed, lenient reads of the dynamic configuration (DCS `config`) keys that are
// not part of the effective local configuration (config.md §3): pause, synchronous mode,
// lag limits, start/stop timeouts (with the legacy master_* names), failsafe, slots...
// Invalid values fall back to the default, as in Patroni.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace custos::config {

using json = nlohmann::json;

class GlobalConfig {
 public:
  GlobalConfig() = default;
  // A non-object (garbage in the DCS) counts as an empty configuration.
  explicit GlobalConfig(json dynamic);

  const json& raw() const { return config_; }

  // The named key parsed as a lenient boolean; false when absent/invalid.
  bool check_mode(const std::string& key) const;
  // The named key parsed as an integer; `fallback` when absent or invalid.
  int64_t get_int(const std::string& key, int64_t fallback) const;

  bool is_paused() const { return check_mode("pause"); }
  bool is_standby_cluster() const;  // standby_cluster has a truthy host, port or restore_command
  // synchronous_mode (true, or "quorum") and not a standby cluster.
  bool is_synchronous_mode() const;
  // synchronous_mode is the string "quorum" in any case (Patroni 4 quorum commit); a standby
  // cluster is not checked here (is_synchronous_mode() is).
  bool is_quorum_commit_mode() const;
  bool is_synchronous_mode_strict() const { return check_mode("synchronous_mode_strict"); }
  bool is_failsafe_mode() const { return check_mode("failsafe_mode"); }
  bool check_timeline() const { return check_mode("check_timeline"); }
  int64_t synchronous_node_count() const;  // >= 1
  int64_t maximum_lag_on_failover() const { return get_int("maximum_lag_on_failover", 1048576); }
  int64_t maximum_lag_on_syncnode() const { return get_int("maximum_lag_on_syncnode", -1); }
  int64_t max_timelines_history() const { return get_int("max_timelines_history", 0); }
  // Patroni 4 member_slots_ttl in seconds (a number, or text with a time unit: "30min"); 0 when
  // absent or invalid (Patroni 3.3's behaviour; Patroni 4's default is 1800, see
  // docs/compatibility.md).
  int64_t member_slots_ttl() const;
  // primary_* wins when present, else the legacy master_* name, else the default.
  int64_t primary_start_timeout() const;
  int64_t primary_stop_timeout() const;
  bool use_slots() const;  // postgresql.use_slots: default true when missing, null or unparsable false
  const json& standby_cluster() const;  // {} when unset
  // slots: permanent_replication_slots, then permanent_slots, then slots (first truthy wins).
  json permanent_slots() const;
  json ignore_slots_matchers() const;  // list, [] when unset

 private:
  json config_ = json::object();
};

}  // namespace custos::config
