#include "mpp/pg_dist_tasks.h"

#include <algorithm>

namespace custos::mpp {

std::string PgDistTask::describe() const {
  std::string s = std::string(to_string(event)) + " group " + std::to_string(group) + ": primary " +
                  target.primary_row_address().to_string();
  if (!target.secondaries.empty()) {
    s += ", secondaries";
    for (const auto& a : target.secondaries) s += " " + a.to_string();
  }
  return s;
}

std::optional<std::size_t> PgDistTasks::index_of_group(int group) const {
  for (std::size_t i = 0; i < tasks_.size(); ++i)
    if (tasks_[i].group == group) return i;
  return std::nullopt;
}

std::vector<PgDistRow> PgDistTasks::rows_of(int group) const {
  if (transaction_ && transaction_->group == group) return transaction_->rows;
  if (cache_) {
    if (auto it = cache_->find(group); it != cache_->end()) return it->second;
  }
  return {};
}

bool PgDistTasks::already_done(const PgDistTask& task) const {
  if (!cache_) return false;
  if (transaction_ && transaction_->group == task.group) return false;
  return plan_group_change(rows_of(task.group), task.target, false).ops.empty();
}

std::optional<uint64_t> PgDistTasks::offer(PgDistTask task, MonoTime now) {
  const auto i = index_of_group(task.group);
  if (!task.from_rest()) {
    if (i && tasks_[*i].from_rest()) return std::nullopt;
    if (transaction_ && transaction_->group == task.group && transaction_->deadline && *transaction_->deadline > now)
      return std::nullopt;
  }
  if (i) {
    if (tasks_[*i].same_change(task)) return std::nullopt;
    task.id = next_id_++;
    tasks_[*i] = std::move(task);
    return tasks_[*i].id;
  }
  if (already_done(task)) return std::nullopt;
  task.id = next_id_++;
  tasks_.push_back(std::move(task));
  return tasks_.back().id;
}

std::optional<PgDistTask> PgDistTasks::next() {
  if (!cache_ && !transaction_) return std::nullopt;
  if (transaction_) {
    if (auto i = index_of_group(transaction_->group)) return tasks_[*i];
    return std::nullopt;
  }
  for (;;) {
    auto i = index_of_group(0);
    if (!i && !tasks_.empty()) i = 0;
    if (!i) return std::nullopt;
    if (!already_done(tasks_[*i])) return tasks_[*i];
    tasks_.erase(tasks_.begin() + static_cast<std::ptrdiff_t>(*i));
  }
}

void PgDistTasks::finish(uint64_t id) {
  std::erase_if(tasks_, [id](const PgDistTask& t) { return t.id == id; });
}

bool PgDistTasks::queued(uint64_t id) const {
  return std::any_of(tasks_.begin(), tasks_.end(), [id](const PgDistTask& t) { return t.id == id; });
}

void PgDistTasks::load(const std::vector<std::pair<int, PgDistRow>>& rows) {
  std::map<int, std::vector<PgDistRow>> by_group;
  for (const auto& [group, row] : rows) by_group[group].push_back(row);
  cache_ = std::move(by_group);
}

void PgDistTasks::invalidate() {
  cache_.reset();
  transaction_.reset();
}

void PgDistTasks::clear() {
  invalidate();
  tasks_.clear();
}

void PgDistTasks::committed(int group, std::vector<PgDistRow> rows) {
  if (transaction_ && transaction_->group == group) transaction_.reset();
  if (cache_) (*cache_)[group] = std::move(rows);
}

void PgDistTasks::in_transaction(int group, std::vector<PgDistRow> rows, bool primary_changed,
                                 std::optional<MonoTime> deadline) {
  if (transaction_ && transaction_->group == group) {
    primary_changed = primary_changed || transaction_->primary_changed;
    if (!deadline) deadline = transaction_->deadline;
  }
  transaction_ = Transaction{group, std::move(rows), primary_changed, deadline};
}

void PgDistTasks::rolled_back() { transaction_.reset(); }

bool PgDistTasks::rollback_due(MonoTime now) const {
  if (!transaction_ || !transaction_->deadline || *transaction_->deadline > now) return false;
  return std::any_of(tasks_.begin(), tasks_.end(), [this](const PgDistTask& t) { return t.group != transaction_->group; });
}

std::optional<std::chrono::milliseconds> PgDistTasks::idle_for(MonoTime now) const {
  using std::chrono::milliseconds;
  if (transaction_) {
    if (index_of_group(transaction_->group)) return milliseconds(0);
    const bool others = !tasks_.empty();
    if (!others || !transaction_->deadline) return std::nullopt;
    return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(*transaction_->deadline - now) + milliseconds(1));
  }
  if (!cache_ || !tasks_.empty()) return milliseconds(0);
  return std::nullopt;
}

}  // namespace custos::mpp
