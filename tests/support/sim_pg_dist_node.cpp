#include "sim_pg_dist_node.h"

#include <algorithm>

namespace custos::testing {

using mpp::PgDistOp;
using mpp::PgDistRow;

Result<int64_t, std::string> SimPgDistNode::apply(std::vector<Row>& rows, const PgDistOp& op, int group, bool frozen,
                                                  int64_t& next_nodeid) {
  auto holder = [&rows](const mpp::NodeAddress& a) {
    return std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return r.row.address == a; });
  };
  switch (op.kind) {
    case PgDistOp::Kind::update: {
      auto it = std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return r.row.nodeid == op.nodeid; });
      if (it == rows.end()) return make_error("node " + std::to_string(op.nodeid) + " not found");
      auto other = holder(op.address);
      if (other != rows.end() && other != it)
        return make_error(std::string("there is already another node with the specified hostname and port"));
      it->row.address = op.address;
      return int64_t{0};
    }
    case PgDistOp::Kind::add: {
      if (frozen) return make_error(std::string("cannot add a node: metadata is not synced"));
      if (holder(op.address) != rows.end()) return make_error(std::string("node already exists"));
      if (op.role == "primary" && std::any_of(rows.begin(), rows.end(), [&](const Row& r) {
            return r.group == group && r.row.role == "primary";
          }))
        return make_error("group " + std::to_string(group) + " already has a primary node");
      const int64_t id = next_nodeid++;
      rows.push_back(Row{group, PgDistRow{id, op.address, op.role}});
      return id;
    }
    case PgDistOp::Kind::remove: {
      if (frozen) return make_error(std::string("cannot remove a node: metadata is not synced"));
      auto it = holder(op.address);
      if (it == rows.end()) return make_error("node at " + op.address.to_string() + " does not exist");
      if (it->row.role == "primary") return make_error(std::string("cannot remove a primary node of a group"));
      rows.erase(it);
      return int64_t{0};
    }
  }
  return make_error(std::string("?"));
}

Result<std::vector<std::pair<int, PgDistRow>>, std::string> SimPgDistNode::read_rows() {
  std::lock_guard l(mu_);
  log_.push_back("read");
  if (fail_next_ > 0) {
    --fail_next_;
    return make_error(std::string("connection lost"));
  }
  std::vector<std::pair<int, PgDistRow>> out;
  for (const auto& r : rows_) out.emplace_back(r.group, r.row);
  return out;
}

Result<int64_t, std::string> SimPgDistNode::run(const PgDistOp& op, int group, int64_t) {
  std::lock_guard l(mu_);
  log_.push_back(op.describe());
  if (fail_next_ > 0) {
    --fail_next_;
    return make_error(std::string("connection lost"));
  }
  const bool was_primary = op.kind == PgDistOp::Kind::update && std::any_of(rows_.begin(), rows_.end(), [&](const Row& r) {
                             return r.row.nodeid == op.nodeid && r.row.role == "primary";
                           });
  std::vector<Row> copy = rows_;
  auto r = apply(copy, op, group, before_transaction_ && primary_changed_, next_nodeid_);
  if (!r) {
    // An error aborts the transaction (every later statement fails until ROLLBACK).
    return r;
  }
  rows_ = std::move(copy);
  if (was_primary && before_transaction_) primary_changed_ = true;
  return r;
}

Status<std::string> SimPgDistNode::execute(std::string_view statement) {
  std::lock_guard l(mu_);
  log_.emplace_back(statement);
  if (fail_next_ > 0) {
    --fail_next_;
    return make_error(std::string("connection lost"));
  }
  if (statement == "BEGIN") {
    before_transaction_ = rows_;
    primary_changed_ = false;
  } else if (statement == "COMMIT") {
    before_transaction_.reset();
  } else if (statement == "ROLLBACK") {
    if (before_transaction_) rows_ = *before_transaction_;
    before_transaction_.reset();
  }
  return Unit{};
}

void SimPgDistNode::close() {
  std::lock_guard l(mu_);
  log_.push_back("close");
  if (before_transaction_) rows_ = *before_transaction_;
  before_transaction_.reset();
}

void SimPgDistNode::add_row(int group, PgDistRow row) {
  std::lock_guard l(mu_);
  next_nodeid_ = std::max(next_nodeid_, row.nodeid + 1);
  rows_.push_back(Row{group, std::move(row)});
}

std::vector<PgDistRow> SimPgDistNode::committed_rows(int group) const {
  std::lock_guard l(mu_);
  std::vector<PgDistRow> out;
  for (const auto& r : before_transaction_ ? *before_transaction_ : rows_)
    if (r.group == group) out.push_back(r.row);
  return out;
}

std::vector<PgDistRow> SimPgDistNode::visible_rows(int group) const {
  std::lock_guard l(mu_);
  std::vector<PgDistRow> out;
  for (const auto& r : rows_)
    if (r.group == group) out.push_back(r.row);
  return out;
}

bool SimPgDistNode::in_transaction() const {
  std::lock_guard l(mu_);
  return before_transaction_.has_value();
}

void SimPgDistNode::fail_next(int n) {
  std::lock_guard l(mu_);
  fail_next_ = n;
}

std::vector<std::string> SimPgDistNode::log() const {
  std::lock_guard l(mu_);
  return log_;
}

}  // namespace custos::testing
