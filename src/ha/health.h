// Leader-race eligibility (ha.md §3.5-§3.8): "am I the healthiest node", manual failover without
// a leader, and "is a failover possible" for the lock holder. Pure functions over the cluster
// view, the local state, the settings and the other members' fresh statuses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dcs/cluster.h"
#include "ha/decision.h"
#include "ha/local_state.h"
#include "ha/member_status.h"
#include "ha/settings.h"

namespace custos::ha {

struct HealthContext {
  const dcs::Cluster& cluster;
  // Patroni old_cluster (the last view with a leader); may be null.
  const dcs::Cluster* old_cluster = nullptr;
  const LocalState& local;
  const HaSettings& settings;
  const MemberStatuses& statuses;
  double now = 0;
};

struct HealthVerdict {
  bool healthy = false;
  // Why not (or why yes), for logs and tests.
  std::string reason;
  // Side steps decided on the way (§3.8: the primary clears a stale failover key in pause).
  std::vector<Step> steps;
  // The line Patroni logs for this verdict in its own words ("Wal position of n2 is ahead of my
  // wal position"); empty when Patroni logs none. `warning`: logged as WARNING, else INFO.
  std::string log_line;
  bool warning = false;
};

// Fresh status of `name`; an unreachable placeholder when absent from the list.
MemberStatus status_of(const MemberStatuses& statuses, const std::string& name);

// `/status` optime minus `wal_position` exceeds maximum_lag_on_failover.
bool is_lagging(const dcs::Cluster& cluster, const HaSettings& settings, int64_t wal_position);

// Sync mode enabled (not in a standby cluster) and `/sync` not empty.
bool sync_mode_is_active(const dcs::Cluster& cluster, const HaSettings& settings);
// Quorum commit enabled (or a /sync written in quorum mode, quorum > 0, under synchronous
// mode) and `/sync` not empty.
bool quorum_commit_mode_is_active(const dcs::Cluster& cluster, const HaSettings& settings);

// §3.7. cluster_lsn > 0: candidates must have wal_position >= cluster_lsn instead of the lag
// rule; exclude_failover_candidate: the failover key's candidate is excluded. notes (when
// given) receives, in Patroni's words, why each queried candidate does not qualify ('Member X
// is not reachable', 'Member X exceeds maximum replication lag', ...).
bool is_failover_possible(const HealthContext& ctx, int64_t cluster_lsn = 0,
                          bool exclude_failover_candidate = false,
                          std::vector<std::string>* notes = nullptr);

// §3.6 over the named members (self, nofailover members and members without api_url skipped).
HealthVerdict is_healthiest_among(const HealthContext& ctx, const std::vector<dcs::Member>& members,
                                  bool check_lag);

// §3.8; nullopt = "undecided" (a stale key was cleared: the clear_failover_key step is appended
// to `steps`).
std::optional<bool> manual_failover_no_leader(const HealthContext& ctx, std::vector<Step>& steps,
                                              std::string& reason);

// §3.5.
HealthVerdict is_healthiest_node(const HealthContext& ctx);

// A short, fixed code for a verdict's reason (member names and numbers left out), for a metric
// label that stays small: "healthiest", "primary_alive", "member_ahead", "member_preferred",
// "lagging", "quorum_not_reached", "timeline_behind", "timeline_unknown", "paused",
// "nofailover", "not_synchronous", "watchdog_unusable", "not_in_failsafe",
// "pre_promote_backoff", "running_primary", "manual_failover", else "other".
std::string_view race_reason_code(std::string_view reason) noexcept;

}  // namespace custos::ha
