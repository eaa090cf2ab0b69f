// CitusCoordinator: the coordinator's pg_dist_node maintainer (spec/citus.md §5, §6, §8). On
// the coordinator's leader running as primary, it keeps one primary row per Citus group
// pointing at that group's leader, and the group's other running members registered as
// secondaries (Patroni 4), from two sources:
//   - sync(): every HA cycle, the DCS view of every group (reconciliation);
//   - handle_event(): a worker's POST /citus around its switchover (before_demote opens a
//     transaction that parks the old primary's row on "<host>-demoted", so that writes through
//     the coordinator wait instead of failing; after_promote commits it; the transaction is
//     rolled back once its deadline passed and another group needs the maintainer).
// The SQL runs on the maintainer's own thread, made at construction (start-up) and idle until
// the first sync(); PgDistTasks holds the rules.
//
// Thread: sync()/on_demote()/schedule_cache_rebuild() from the HA loop, handle_event() from
// REST threads; all calls take mu_ briefly (a leaf lock: no other lock is taken under it, no
// SQL runs under it). handle_event blocks for before_demote until the task ran, at most `wait`.
// An exception in the maintainer's work (unexpected) is logged and the connection reset: it never
// ends the thread, let alone the agent.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/thread_annotations.h"
#include "dcs/cluster.h"
#include "mpp/citus_event.h"
#include "mpp/pg_dist_node_sql.h"
#include "mpp/pg_dist_tasks.h"

namespace custos::mpp {

// The topology the DCS gives a group whose leader is `leader_name` at `leader_conn_url`: the
// other members that run, have a conn_url and no noloadbalance tag are its secondaries.
// nullopt when the leader's conn_url has no host.
std::optional<GroupTopology> group_topology(const dcs::Cluster& group, const std::string& leader_name,
                                            const std::string& leader_conn_url, bool paused);

class CitusCoordinator {
 public:
  CitusCoordinator(std::unique_ptr<PgDistNodeSql> sql, Clock& clock);
  ~CitusCoordinator();
  CitusCoordinator(const CitusCoordinator&) = delete;
  CitusCoordinator& operator=(const CitusCoordinator&) = delete;

  // The coordinator's leader runs as primary: queue the DCS view of every group (the
  // coordinator itself from `my_name`/`my_conn_url`, the workers from their leader keys).
  void sync(const dcs::Cluster& cluster, const std::string& my_name, const std::string& my_conn_url) EXCLUDES(mu_);
  // A worker's event, checked against `cluster` (a fresh read): dropped unless the group exists
  // and its leader is `event.leader` with a conn_url, or before the first sync(). True when it
  // was queued (and, for before_demote, ran or `wait` passed).
  bool handle_event(const dcs::Cluster& cluster, const CitusEventMessage& event, std::chrono::milliseconds wait)
      EXCLUDES(mu_);
  // This node stopped being the coordinator's primary: queue, cache and transaction forgotten
  // (the connection is closed by the maintainer thread), nothing is done until the next sync().
  void on_demote() EXCLUDES(mu_);
  // pg_dist_node is read again before the next task (after a promotion).
  void schedule_cache_rebuild() EXCLUDES(mu_);
  // The agent stops: waiting handle_event() calls return at once, the thread ends (before the
  // REST server joins its threads).
  void shutdown() EXCLUDES(mu_);

  // For tests: the bookkeeping as it stands.
  std::size_t queued_tasks() const EXCLUDES(mu_);
  std::optional<PgDistTasks::Transaction> open_transaction() const EXCLUDES(mu_);

 private:
  void run() EXCLUDES(mu_);
  // One task's statements (mu_ not held); updates tasks_ with the outcome.
  void process(const PgDistTask& task) EXCLUDES(mu_);
  // After an SQL error: connection closed, transaction gone, cache reread.
  void reset_connection(const std::string& error) EXCLUDES(mu_);
  // Runs `work` (mu_ not held); an exception resets the connection instead of ending the thread.
  void guarded(const std::function<void()>& work) EXCLUDES(mu_);

  std::unique_ptr<PgDistNodeSql> sql_;  // the maintainer thread only
  Clock& clock_;
  mutable Mutex mu_;
  CondVar cv_;       // wakes the maintainer
  CondVar done_cv_;  // a task finished (handle_event waits for before_demote)
  PgDistTasks tasks_ GUARDED_BY(mu_);
  bool active_ GUARDED_BY(mu_) = false;         // sync() was called since the last on_demote()
  bool close_pending_ GUARDED_BY(mu_) = false;  // on_demote(): close the connection
  bool stop_ GUARDED_BY(mu_) = false;
  // Bumped by on_demote(): the outcome of statements that were running then is dropped.
  uint64_t epoch_ GUARDED_BY(mu_) = 0;
  std::optional<MonoTime> retry_read_at_ GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace custos::mpp
