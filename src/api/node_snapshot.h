// NodeSnapshot: everything the REST API reports about this node, as the agent last saw it.
// The agent publishes a new snapshot every HA cycle (and whenever its state changes); REST
// handlers read only this in-memory value, so a stuck PostgreSQL or DCS never stalls a load
// balancer's health check (spec/rest-api.md §3-§5).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/presentation.h"
#include "dcs/cluster.h"
#include "postgres/replication_status.h"

namespace custos::api {

// One walsender row of pg_stat_replication (rest-api.md §4 `replication`).
using ReplicationConnection = postgres::ReplicationConnection;

// The outcome of the status query (rest-api.md §4) plus the agent's PostgreSQL state.
struct PgStatus {
  // PostgreSQL state string (ha.md §12): running, starting, stopped, crashed, restarting,
  // stopping, initializing new cluster, creating replica, running custom bootstrap script,
  // restart failed, start failed, ...
  std::string state = "stopped";
  // Internal role as presented: master (3.3) or primary (4.1), replica, standby_leader, demoted,
  // promoted, uninitialized.
  std::string role = "uninitialized";
  // False when PostgreSQL was not queried or the query failed: then only state, role and the
  // in-memory fields of NodeSnapshot are reported.
  bool query_ok = false;
  std::optional<std::string> postmaster_start_time;  // "YYYY-MM-DD HH:MM:SS.ffffff+TZ"
  std::optional<int> server_version;                 // e.g. 150004
  bool in_recovery = false;
  std::optional<int64_t> flush_lsn;     // primary: pg_current_wal_flush_lsn()
  std::optional<int64_t> receive_lsn;   // replica: pg_last_wal_receive_lsn()
  std::optional<int64_t> replay_lsn;    // replica: pg_last_wal_replay_lsn()
  std::optional<int64_t> written_lsn;     // replica: the WAL receiver's written_lsn (PG 13+)
  std::optional<int64_t> latest_end_lsn;  // replica: the WAL receiver's latest_end_lsn
  std::optional<std::string> replayed_timestamp;  // pg_last_xact_replay_timestamp()
  bool replay_paused = false;
  std::optional<int> timeline;
  std::optional<std::string> replication_state;  // "streaming" / "in archive recovery"
  std::vector<ReplicationConnection> replication;
  double sampled_at = 0;  // monotonic seconds of the query
};

struct NodeSnapshot {
  std::string name;
  std::string scope;
  PatroniGeneration presentation = kDefaultPatroniGeneration;  // custos.compat
  std::string patroni_version;  // version we announce (announced_patroni_version)
  PgStatus pg;

  // Times are monotonic seconds (common/clock.h) unless named wall: the handler compares them
  // with its monotonic `now`.
  // Last successful DCS read and when it happened (0 = never); dcs_last_seen is the same moment
  // in seconds since the epoch, as reported to clients.
  // Shared, never changed once published: a REST request copies the pointer, not the cluster.
  std::shared_ptr<const dcs::Cluster> cluster;
  double cluster_loaded_at = 0;
  double dcs_last_seen = 0;
  // Our last successful leader-lock write + ttl (0 = not the leader).
  double leader_lock_valid_until = 0;
  // When the lease fence stops PostgreSQL unless the lease is refreshed first (0 = not armed).
  double fence_deadline = 0;
  // When the next HA cycle is due, for /liveness.
  double next_run = 0;

  // Effective configuration bits the API needs.
  int ttl = 30;
  int loop_wait = 10;
  bool paused = false;
  bool synchronous_mode = false;
  bool quorum_commit = false;  // synchronous_mode: quorum (Patroni 4)
  bool standby_cluster = false;
  bool failsafe_mode = false;
  int64_t maximum_lag_on_failover = 1048576;  // /readiness (4.1) without a valid `lag`
  nlohmann::json tags = nlohmann::json::object();  // effective tags as published

  std::optional<std::string> database_system_identifier;
  bool pending_restart = false;
  nlohmann::json pending_restart_reason = nlohmann::json::object();
  std::optional<nlohmann::json> scheduled_restart;
  bool watchdog_failed = false;
  bool watchdog_running = false;
  bool failsafe_mode_is_active = false;

  // Derived: the cached cluster view is younger than ttl at `now`.
  bool cluster_fresh(double now) const {
    return cluster != nullptr && cluster_loaded_at > 0 && now - cluster_loaded_at < ttl;
  }
  // Derived: we refreshed the leader lock within the last ttl.
  bool is_leader(double now) const { return leader_lock_valid_until > now; }
};

}  // namespace custos::api
