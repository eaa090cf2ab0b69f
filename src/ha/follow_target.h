// Which node this node replicates from (ha.md §3.12 "node to follow"): nothing with nostream;
// the standby_cluster remote for the standby leader (or an unlocked, unpaused standby cluster);
// the `replicatefrom` member (fallback: leader); else the leader; never itself.
// Exported so that the agent can recompute the target on a re-read cluster view (follow steps
// with Step::flag2 set, see decision.h).
#pragma once

#include <optional>
#include <string>

#include "dcs/cluster.h"
#include "ha/local_state.h"
#include "ha/settings.h"

namespace custos::ha {

struct FollowTarget {
  // Member name; for the remote member of a standby cluster the standby_cluster host.
  std::string name;
  // The standby_cluster remote (host/port of the settings).
  bool remote = false;
  // The target has a conn_url (always true for the remote).
  bool has_conn_url = false;
};

// `holds_lock`: this node holds the leader lock (after acquiring it this cycle, the view may not
// show it yet).
std::optional<FollowTarget> node_to_follow(const dcs::Cluster& cluster, const LocalState& local,
                                           const HaSettings& settings, bool holds_lock);

}  // namespace custos::ha
