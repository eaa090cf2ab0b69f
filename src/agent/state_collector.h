// StateCollector: what this node knows about itself at the start of an HA cycle (ha.md §2.1):
// data directory, postmaster, pg_controldata, one status query, the PostgreSQL state; and the
// diverged-timeline check (I/O the decision needs answered before it runs, ha.md §4). Writes
// into NodeMemory (local state and this cycle's status).
//
// Thread: HA loop only. Blocking: the status query (retry_timeout / 2), pg_controldata (only
// when the postmaster changed), the timeline check (a connection to the leader, ~8 s at most).
#pragma once

#include <optional>

#include <sys/types.h>

#include "agent/node_memory.h"
#include "agent/settings_store.h"
#include "postgres/postgres_node.h"

namespace custos::agent {

class StateCollector {
 public:
  explicit StateCollector(postgres::PostgresNode& pg) : pg_(pg) {}

  // Fills memory.local (process, data directory, sysid, control state, WAL positions, role
  // hints, state) and memory.status. `now` is monotonic seconds. While an async task owns
  // PostgreSQL the previous facts are kept.
  void collect(NodeMemory& memory, const EffectiveSettings& settings, double now,
               const std::optional<ha::AsyncTask>& running_task);
  // When memory.local.rewind == check and the leader can be asked: need / not_needed. A running
  // replica behind the leader member's published timeline gets a check armed first (a leader that
  // switched timelines under the same name). Blocking: a replication connection when it checks.
  void check_timeline(NodeMemory& memory, const EffectiveSettings& settings, const dcs::Cluster& cluster);
  // pg_controldata is read again next time (leaving pause: sysid and version may have changed).
  void forget_controldata();

 private:
  postgres::PostgresNode& pg_;
  // pg_controldata's last output and the postmaster it was read under: while the same
  // postmaster runs, what the decision reads from it cannot change.
  std::optional<postgres::ControlData> controldata_;
  std::optional<pid_t> controldata_pid_;
};

}  // namespace custos::agent
