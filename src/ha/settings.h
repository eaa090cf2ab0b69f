// The effective settings the HA decision depends on (config.md §3 dynamic keys plus a few local
// facts), as a plain value filled by the config module; defaults are Patroni's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace custos::ha {

// `standby_cluster` of the dynamic configuration (config.md §3), reduced to what decisions use.
struct StandbyClusterSettings {
  // host or port or restore_command truthy (config.md §3).
  bool active = false;
  std::string host;
  std::optional<int> port;
  // Some standby_cluster.create_replica_methods entry works without a leader (no_leader).
  bool replica_method_without_leader = false;
};

struct HaSettings {
  double ttl = 30;
  double loop_wait = 10;
  double retry_timeout = 10;
  int64_t maximum_lag_on_failover = 1048576;
  int64_t maximum_lag_on_syncnode = -1;
  double primary_start_timeout = 300;
  double primary_stop_timeout = 0;
  // Patroni 4 member_slots_ttl in seconds (0: off, Patroni 3.3's member slots).
  int64_t member_slots_ttl = 0;
  // synchronous_mode true or "quorum" (not checking the standby cluster: is_synchronous_mode()).
  bool synchronous_mode = false;
  // synchronous_mode is "quorum" (Patroni 4 quorum commit); synchronous_mode is then true too.
  bool quorum_commit = false;
  bool synchronous_mode_strict = false;
  int synchronous_node_count = 1;
  bool check_timeline = false;
  bool failsafe_mode = false;
  // `pause` of the dynamic configuration (maintenance mode).
  bool pause = false;
  bool use_pg_rewind = false;
  bool remove_data_directory_on_rewind_failure = false;
  bool remove_data_directory_on_diverged_timelines = false;
  // The local configuration has a `bootstrap` section.
  bool has_bootstrap_section = true;
  // Some postgresql.create_replica_methods entry works without a leader (no_leader/no_master;
  // never basebackup). In a standby cluster standby_cluster.replica_method_without_leader is used.
  bool replica_method_without_leader = false;
  // watchdog.mode is automatic or required (activation is then attempted when becoming or
  // staying primary, ha.md §11).
  bool watchdog_enabled = false;
  StandbyClusterSettings standby_cluster;

  bool is_standby_cluster() const { return standby_cluster.active; }
  // synchronous_mode is ignored in a standby cluster (config.md §3).
  bool is_synchronous_mode() const { return synchronous_mode && !standby_cluster.active; }
  bool is_synchronous_mode_strict() const { return is_synchronous_mode() && synchronous_mode_strict; }
  bool is_quorum_commit_mode() const { return is_synchronous_mode() && quorum_commit; }
  // Commits that need a synchronous standby: 1 in strict mode, else 0 (Patroni min_synchronous_nodes).
  int min_synchronous_nodes() const { return is_synchronous_mode_strict() ? 1 : 0; }
};

}  // namespace custos::ha
