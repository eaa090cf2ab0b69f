// NodeMemory: what the agent remembers about itself between HA cycles, besides the decision's
// own LocalState: the last status query, the cluster views, bookkeeping of the dynamic
// configuration and of pending restarts. Owned by the Agent; read and written only on the HA
// loop thread (REST requests reach it through the loop's mailbox), so it has no lock.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/hooks.h"
#include "dcs/cluster.h"
#include "dcs/shared_cluster.h"
#include "ha/local_state.h"
#include "ha/retained_slots.h"
#include "postgres/controldata.h"
#include "postgres/node_settings.h"
#include "postgres/server_status.h"

namespace custos::agent {

struct NodeMemory {
  ha::LocalState local;
  // (state, role) of the member key last written (a Citus worker reports becoming a running
  // primary to its coordinator).
  std::optional<std::pair<std::string, std::string>> published_state;
  // This cycle's status query (nullopt: not running, or the query failed).
  std::optional<postgres::ServerStatus> status;
  // The cluster the executor works on (reload_cluster replaces it); nullopt: DCS unreachable.
  dcs::SharedCluster view;
  // The last view that had a leader (ha.md §2.1).
  dcs::SharedCluster old_cluster;
  // The DCS `config` version applied / saved to patroni.dynamic.json.
  std::optional<dcs::Version> applied_config_version;
  std::optional<dcs::Version> saved_config_version;
  // Parameters PostgreSQL says need a restart (pending_restart).
  std::vector<std::string> pending_restart_params;
  // A configuration change that arrived while an async task ran: the settings from before it,
  // applied (files rewritten, PostgreSQL reloaded) once the task is over.
  std::optional<postgres::NodeSettings> deferred_pg_settings;
  // Publish `nosync` while a replica in synchronous mode restarts or shuts down (ha.md §6.4), so
  // that the primary neither keeps nor picks it meanwhile.
  bool leaving_sync = false;
  // Lock holder, member_slots_ttl > 0: the member slots kept and when each was last in use.
  ha::RetainedSlots retained_slots;
  // The lease fence's deadline from the last lease this node had (lock write or failsafe
  // confirmation), monotonic seconds: the lease's start + its TTL - kLeaseFenceMargin.
  std::optional<double> lease_fence_deadline;
  // The callback to fire when the start in progress (an async start) is ready (Patroni's
  // __cb_pending), with the role it is fired with.
  std::optional<std::pair<CallbackAction, ha::Role>> pending_start_callback;
  // Run the next cycle at once instead of after loop_wait.
  bool run_next_cycle_now = false;
  // Set by a fatal_exit step: the agent stops after this cycle.
  std::optional<std::string> fatal;

  // This member holds the leader key in the current view.
  bool holds_lock_in_view() const {
    return view && view->leader_name() && *view->leader_name() == local.name;
  }
};

}  // namespace custos::agent
