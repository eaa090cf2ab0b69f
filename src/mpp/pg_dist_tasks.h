// PgDistTasks: the bookkeeping of the coordinator's pg_dist_node maintainer (spec/citus.md §5):
// the queue of wanted changes (one per group), the cache of pg_dist_node, and the transaction a
// planned worker switchover keeps open. No I/O and no clock of its own: the maintainer thread
// (citus_coordinator.h) asks it what to do next, runs the SQL, and reports back.
//
// Patroni's rules, kept here:
//   - one queued task per group; a different newer one replaces it, an equal one is dropped;
//   - a reconciliation task (no timeout: from the HA cycle) never replaces a worker's REST task
//     and is refused for a group whose REST transaction is still before its deadline (the DCS
//     may not show the switchover yet);
//   - tasks already matching pg_dist_node are dropped, except for the group whose transaction
//     is open (its after_promote commits it);
//   - picking: while a transaction is open only a task of its group; else the coordinator's
//     own group (0) first; else the oldest;
//   - an open transaction is rolled back once its deadline passed and another group waits.
//
// Not thread-safe: its owner holds its lock around every call.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "mpp/citus_event.h"
#include "mpp/pg_dist_node.h"

namespace custos::mpp {

struct PgDistTask {
  int group = 0;
  CitusEvent event = CitusEvent::after_promote;
  GroupTopology target;
  // Set for a worker's REST event: how long the transaction it opens may stay open.
  std::optional<std::chrono::milliseconds> timeout;
  // citus_update_node's lock_cooldown (ms): sessions holding conflicting locks longer are
  // cancelled.
  int64_t cooldown_ms = 10000;
  uint64_t id = 0;  // set by offer()

  bool from_rest() const { return timeout.has_value(); }
  // Same event and topology (Patroni's task equality).
  bool same_change(const PgDistTask& other) const { return event == other.event && target == other.target; }
  std::string describe() const;
};

class PgDistTasks {
 public:
  // Queues `task` (replacing the group's queued one when different). The id it got, or nullopt
  // when refused or not needed.
  std::optional<uint64_t> offer(PgDistTask task, MonoTime now);

  // The next task to run (it stays queued until finish()), after dropping tasks that match
  // pg_dist_node already. nullopt when nothing is to be done now (or the cache must be read).
  std::optional<PgDistTask> next();
  // The task `id` ran (or failed): it leaves the queue unless a newer one replaced it.
  void finish(uint64_t id);
  // True while `id` is queued (waiting or running).
  bool queued(uint64_t id) const;

  // pg_dist_node as known: nullopt until load() (and after invalidate()).
  bool cache_valid() const { return cache_.has_value(); }
  void load(const std::vector<std::pair<int, PgDistRow>>& rows);
  // The connection failed or was reset: the open transaction is gone and the cache is reread.
  void invalidate();
  // The coordinator stopped being the primary: everything forgotten.
  void clear();

  // The rows of `group` as the next statement sees them (the open transaction's view).
  std::vector<PgDistRow> rows_of(int group) const;
  // The open transaction, if any.
  struct Transaction {
    int group = 0;
    std::vector<PgDistRow> rows;  // the group inside the transaction
    bool primary_changed = false;
    std::optional<MonoTime> deadline;
  };
  const std::optional<Transaction>& transaction() const { return transaction_; }

  // Results of the maintainer's statements:
  // `rows` of `group` were committed (autocommit statements or COMMIT).
  void committed(int group, std::vector<PgDistRow> rows);
  // A transaction is open (or continues) for `group` with these rows.
  void in_transaction(int group, std::vector<PgDistRow> rows, bool primary_changed, std::optional<MonoTime> deadline);
  // The open transaction was rolled back.
  void rolled_back();

  // The open transaction's deadline passed while another group waits.
  bool rollback_due(MonoTime now) const;
  // How long the maintainer may sleep before something is due (nullopt: until woken).
  std::optional<std::chrono::milliseconds> idle_for(MonoTime now) const;

  std::size_t size() const { return tasks_.size(); }

 private:
  std::optional<std::size_t> index_of_group(int group) const;
  // The task needs no statement (and does not end an open transaction).
  bool already_done(const PgDistTask& task) const;

  std::vector<PgDistTask> tasks_;
  std::optional<std::map<int, std::vector<PgDistRow>>> cache_;
  std::optional<Transaction> transaction_;
  uint64_t next_id_ = 1;
};

}  // namespace custos::mpp
