#include "mpp/citus_coordinator.h"

#include <spdlog/spdlog.h>

#include "dcs/connection_string.h"
#include "dcs/member.h"

namespace custos::mpp {

using namespace std::chrono_literals;

namespace {

std::optional<NodeAddress> address_of(const std::string& conn_url) {
  auto parts = dcs::parse_url(conn_url);
  if (!parts || parts->hostname.empty()) return std::nullopt;
  const int port = parts->port.value_or(0);
  return NodeAddress{parts->hostname, port == 0 ? 5432 : port};  // Patroni: the port or 5432
}

// How long a failed read of pg_dist_node waits before the next attempt.
constexpr auto kReadRetry = 1s;

}  // namespace

std::optional<GroupTopology> group_topology(const dcs::Cluster& group, const std::string& leader_name,
                                            const std::string& leader_conn_url, bool paused) {
  auto primary = address_of(leader_conn_url);
  if (!primary) return std::nullopt;
  GroupTopology t;
  t.primary = *primary;
  t.paused = paused;
  for (const auto& m : group.members()) {
    if (m.name() == leader_name || m.noloadbalance() || !m.is_running()) continue;
    auto url = m.conn_url();
    if (!url) continue;
    if (auto a = address_of(*url)) t.secondaries.insert(*a);
  }
  return t;
}

CitusCoordinator::CitusCoordinator(std::unique_ptr<PgDistNodeSql> sql, Clock& clock)
    : sql_(std::move(sql)), clock_(clock) {
  thread_ = std::thread([this] { run(); });
}

CitusCoordinator::~CitusCoordinator() { shutdown(); }

void CitusCoordinator::shutdown() {
  {
    MutexLock l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  done_cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void CitusCoordinator::sync(const dcs::Cluster& cluster, const std::string& my_name, const std::string& my_conn_url) {
  std::vector<PgDistTask> wanted;
  auto want = [&wanted](int group, std::optional<GroupTopology> target) {
    if (!target) return;
    PgDistTask t;
    t.group = group;
    t.event = CitusEvent::after_promote;
    t.target = std::move(*target);
    wanted.push_back(std::move(t));
  };
  want(0, group_topology(cluster, my_name, my_conn_url, false));
  for (const auto& [group, worker] : cluster.workers()) {
    const auto& leader = worker.leader();
    if (!leader) continue;
    const dcs::Member& member = leader->member;
    if (!member.conn_url() || !member.is_primary() || !member.is_running()) continue;
    want(group, group_topology(worker, member.name(), *member.conn_url(), false));
  }
  const auto now = clock_.now();
  bool queued = false;
  MutexLock l(mu_);
  active_ = true;
  for (auto& t : wanted)
    if (tasks_.offer(std::move(t), now)) queued = true;
  if (queued || !tasks_.cache_valid()) cv_.notify_all();
}

bool CitusCoordinator::handle_event(const dcs::Cluster& cluster, const CitusEventMessage& event,
                                    std::chrono::milliseconds wait) {
  const auto& workers = cluster.workers();
  auto it = workers.find(event.group);
  const dcs::Member* leader = nullptr;
  if (it != workers.end() && it->second.leader() && it->second.leader()->name() == event.leader)
    leader = &it->second.leader()->member;
  if (!leader || !leader->conn_url()) {
    spdlog::info("citus: discarding event {} of group {} from {}: not the group's leader with a conn_url",
                 to_string(event.type), event.group, event.leader);
    return false;
  }
  auto target = group_topology(it->second, event.leader, *leader->conn_url(), event.type == CitusEvent::before_demote);
  if (!target) return false;
  PgDistTask task;
  task.group = event.group;
  task.event = event.type;
  task.target = std::move(*target);
  task.timeout = std::chrono::milliseconds(static_cast<int64_t>(event.timeout * 1000));
  // Patroni: 10 s when the worker sent none (or 0: Citus would cancel conflicting sessions at once).
  task.cooldown_ms = event.cooldown > 0 ? static_cast<int64_t>(event.cooldown * 1000) : 10000;
  const auto deadline = clock_.now() + wait;
  MutexLock l(mu_);
  if (!active_) {
    spdlog::info("citus: discarding event {} of group {}: the maintainer is not running", to_string(event.type),
                 event.group);
    return false;
  }
  spdlog::info("citus: {} from {}", task.describe(), event.leader);
  auto id = tasks_.offer(std::move(task), clock_.now());
  if (!id) return false;
  cv_.notify_all();
  if (event.type != CitusEvent::before_demote) return true;
  while (!stop_ && tasks_.queued(*id))
    if (!clock_.wait_until(done_cv_, mu_, deadline)) break;
  return true;
}

void CitusCoordinator::on_demote() {
  MutexLock l(mu_);
  tasks_.clear();
  ++epoch_;
  retry_read_at_.reset();
  active_ = false;
  close_pending_ = true;
  cv_.notify_all();
  done_cv_.notify_all();
}

void CitusCoordinator::schedule_cache_rebuild() {
  MutexLock l(mu_);
  if (!tasks_.transaction()) tasks_.invalidate();
  cv_.notify_all();
}

std::size_t CitusCoordinator::queued_tasks() const {
  MutexLock l(mu_);
  return tasks_.size();
}

std::optional<PgDistTasks::Transaction> CitusCoordinator::open_transaction() const {
  MutexLock l(mu_);
  return tasks_.transaction();
}

void CitusCoordinator::reset_connection(const std::string& error) {
  spdlog::error("citus: {}", error);
  sql_->close();
  MutexLock l(mu_);
  tasks_.invalidate();
  retry_read_at_.reset();
}

void CitusCoordinator::guarded(const std::function<void()>& work) {
  try {
    work();
  } catch (const std::exception& e) {
    reset_connection(std::string("unexpected error: ") + e.what());
  }
}

void CitusCoordinator::process(const PgDistTask& task) {
  std::vector<PgDistRow> rows;
  std::optional<PgDistTasks::Transaction> open;
  uint64_t epoch = 0;
  {
    MutexLock l(mu_);
    rows = tasks_.rows_of(task.group);
    open = tasks_.transaction();
    epoch = epoch_;
  }
  const bool in_transaction = open && open->group == task.group;
  const GroupPlan plan = plan_group_change(rows, task.target, in_transaction && open->primary_changed);
  const bool opens = task.event != CitusEvent::after_promote;
  // A plan of several statements runs in one transaction; before_* events keep theirs open.
  const bool begin = !in_transaction && (opens || plan.ops.size() > 1);
  const bool commit = !opens && (in_transaction || begin);
  if (begin) {
    if (auto st = sql_->execute("BEGIN"); !st) return reset_connection(st.error());
  }
  for (const auto& op : plan.ops) {
    auto r = sql_->run(op, task.group, task.cooldown_ms);
    if (!r) return reset_connection(r.error());
    spdlog::info("citus: group {}: {}", task.group, op.describe());
    rows = apply_op(std::move(rows), op, r.value());
  }
  if (commit) {
    if (auto st = sql_->execute("COMMIT"); !st) return reset_connection(st.error());
  }
  if (plan.deferred) spdlog::info("citus: group {}: secondaries are registered once the change is committed", task.group);
  MutexLock l(mu_);
  if (epoch != epoch_) return;  // demoted meanwhile: the connection (and its transaction) goes
  if (opens) {
    std::optional<MonoTime> deadline;
    if (task.timeout) deadline = clock_.now() + *task.timeout;
    tasks_.in_transaction(task.group, std::move(rows), plan.primary_changes, deadline);
  } else {
    tasks_.committed(task.group, std::move(rows));
  }
}

void CitusCoordinator::run() {
  mu_.lock();
  while (!stop_) {
    if (close_pending_) {
      close_pending_ = false;
      mu_.unlock();
      sql_->close();  // an open transaction is rolled back by the server
      mu_.lock();
      continue;
    }
    if (!active_) {
      cv_.wait(mu_);
      continue;
    }
    const auto now = clock_.now();
    if (tasks_.rollback_due(now)) {
      spdlog::warn("citus: rolling back the transaction of group {}: its deadline passed", tasks_.transaction()->group);
      mu_.unlock();
      bool rolled_back = false;
      guarded([&] {
        auto st = sql_->execute("ROLLBACK");
        if (!st) reset_connection(st.error());
        rolled_back = st.ok();
      });
      mu_.lock();
      if (rolled_back) tasks_.rolled_back();  // the cache holds what was committed: still right
      continue;
    }
    if (!tasks_.cache_valid() && !tasks_.transaction()) {
      if (retry_read_at_ && now < *retry_read_at_) {
        clock_.wait_until(cv_, mu_, *retry_read_at_);
        continue;
      }
      const uint64_t epoch = epoch_;
      mu_.unlock();
      std::optional<Result<std::vector<std::pair<int, PgDistRow>>, std::string>> rows;
      guarded([&] { rows = sql_->read_rows(); });
      if (rows && !*rows) sql_->close();
      mu_.lock();
      if (epoch != epoch_ || !rows) continue;
      if (*rows) {
        tasks_.load(rows->value());
        retry_read_at_.reset();
      } else {
        spdlog::warn("citus: {}", rows->error());
        retry_read_at_ = clock_.now() + kReadRetry;
      }
      continue;
    }
    if (auto task = tasks_.next()) {
      mu_.unlock();
      guarded([&] { process(*task); });
      mu_.lock();
      tasks_.finish(task->id);
      done_cv_.notify_all();
      continue;
    }
    if (auto idle = tasks_.idle_for(now)) {
      clock_.wait_until(cv_, mu_, now + *idle);
    } else {
      cv_.wait(mu_);
    }
  }
  mu_.unlock();
}

}  // namespace custos::mpp
