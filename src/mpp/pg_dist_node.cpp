#include "mpp/pg_dist_node.h"

#include <algorithm>
#include <map>

namespace custos::mpp {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The address of a primary row without the pause suffix.
NodeAddress unpaused(NodeAddress a) {
  if (ends_with(a.host, kDemotedSuffix)) a.host.resize(a.host.size() - std::char_traits<char>::length(kDemotedSuffix));
  return a;
}

PgDistOp update_op(int64_t nodeid, NodeAddress to) {
  return PgDistOp{PgDistOp::Kind::update, nodeid, std::move(to), ""};
}
PgDistOp add_op(NodeAddress a, const std::string& role) { return PgDistOp{PgDistOp::Kind::add, 0, std::move(a), role}; }
PgDistOp remove_op(NodeAddress a) { return PgDistOp{PgDistOp::Kind::remove, 0, std::move(a), ""}; }

// A group without a primary row: rows that are in the way go, then the primary and the
// secondaries are added (nothing was changed in a transaction: the metadata is in sync).
GroupPlan plan_first_primary(const std::vector<PgDistRow>& rows, const GroupTopology& target) {
  GroupPlan plan;
  if (target.paused) return plan;
  std::set<NodeAddress> held;
  for (const auto& r : rows) {
    if (r.address != target.primary && target.secondaries.count(r.address)) {
      held.insert(r.address);
      continue;
    }
    plan.ops.push_back(remove_op(r.address));
  }
  plan.ops.push_back(add_op(target.primary, "primary"));
  for (const auto& s : target.secondaries)
    if (s != target.primary && !held.count(s)) plan.ops.push_back(add_op(s, "secondary"));
  plan.primary_changes = true;
  return plan;
}

}  // namespace

NodeAddress GroupTopology::primary_row_address() const {
  NodeAddress a = primary;
  if (paused) a.host += kDemotedSuffix;
  return a;
}

std::string PgDistOp::describe() const {
  switch (kind) {
    case Kind::update:
      return "citus_update_node(" + std::to_string(nodeid) + ", '" + address.host + "', " + std::to_string(address.port) + ")";
    case Kind::add:
      return "citus_add_node('" + address.host + "', " + std::to_string(address.port) + ", '" + role + "')";
    case Kind::remove:
      return "citus_remove_node('" + address.host + "', " + std::to_string(address.port) + ")";
  }
  return "?";
}

GroupPlan plan_group_change(const std::vector<PgDistRow>& rows, const GroupTopology& target,
                            bool primary_changed_in_transaction) {
  const auto primary_row = std::find_if(rows.begin(), rows.end(), [](const PgDistRow& r) { return r.role == "primary"; });
  if (primary_row == rows.end()) return plan_first_primary(rows, target);

  GroupPlan plan;
  const NodeAddress primary_target = target.primary_row_address();
  const NodeAddress old_primary = unpaused(primary_row->address);
  plan.primary_changes = primary_row->address != primary_target;
  // Inside a transaction that changed a primary row, rows can only be updated.
  const bool frozen = plan.primary_changes || primary_changed_in_transaction;

  std::set<NodeAddress> wanted_secondaries = target.secondaries;
  wanted_secondaries.erase(target.primary);

  // Where each row should end up (index into rows); rows absent from the map stay.
  std::map<std::size_t, NodeAddress> want;
  std::vector<std::size_t> unplaced_rows;  // secondary rows whose address is not wanted
  std::optional<std::size_t> blocker;      // the secondary row holding the new primary's address
  std::set<NodeAddress> placed;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    if (&r == &*primary_row) continue;
    if (r.address == target.primary || r.address == primary_target) {
      blocker = i;
    } else if (wanted_secondaries.count(r.address)) {
      placed.insert(r.address);
    } else {
      unplaced_rows.push_back(i);
    }
  }
  std::vector<NodeAddress> to_add;
  for (const auto& s : wanted_secondaries)
    if (!placed.count(s)) to_add.push_back(s);
  auto take = [&to_add](const NodeAddress& preferred) {
    auto it = std::find(to_add.begin(), to_add.end(), preferred);
    if (it == to_add.end()) it = to_add.begin();
    NodeAddress a = *it;
    to_add.erase(it);
    return a;
  };

  std::vector<PgDistOp> removes;
  if (blocker) {
    // The new primary was registered as a secondary: its row takes the old primary (a swap), a
    // new secondary, or, when neither is wanted, the old primary's address for now (no row may
    // be removed in this transaction; a later plan removes it).
    if (!to_add.empty()) {
      want[*blocker] = take(old_primary);
    } else if (old_primary != target.primary) {
      want[*blocker] = old_primary;
      plan.deferred = true;
    } else if (!frozen) {
      removes.push_back(remove_op(rows[*blocker].address));
    } else {
      plan.deferred = true;
    }
  }
  // Rows of members that are gone are reused for new secondaries, else removed (when allowed).
  for (std::size_t i : unplaced_rows) {
    if (!to_add.empty()) {
      want[i] = take(to_add.front());
    } else if (!frozen) {
      removes.push_back(remove_op(rows[i].address));
    } else {
      plan.deferred = true;
    }
  }
  const auto primary_index = static_cast<std::size_t>(primary_row - rows.begin());
  if (plan.primary_changes) want[primary_index] = primary_target;

  // Updates in an order where no row ever takes an address another row still holds; a cycle
  // (the primary and a secondary swapping) goes through "<old primary>-demoted".
  std::vector<NodeAddress> current;
  for (const auto& r : rows) current.push_back(r.address);
  for (const auto& op : removes)
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (current[i] == op.address) current[i] = NodeAddress{"", -1};  // gone
  auto held_by_other = [&current](const NodeAddress& a, std::size_t except) {
    for (std::size_t i = 0; i < current.size(); ++i)
      if (i != except && current[i] == a) return true;
    return false;
  };
  std::vector<PgDistOp> updates;
  for (std::size_t guard = 0; guard <= 2 * rows.size() + 2; ++guard) {
    std::optional<std::size_t> ready;
    bool pending = false;
    for (const auto& [i, to] : want) {
      if (current[i] == to) continue;
      pending = true;
      if (!held_by_other(to, i)) {
        ready = i;
        break;
      }
    }
    if (!pending) break;
    if (ready) {
      updates.push_back(update_op(rows[*ready].nodeid, want[*ready]));
      current[*ready] = want[*ready];
      continue;
    }
    NodeAddress parking = old_primary;
    parking.host += kDemotedSuffix;
    if (current[primary_index] == parking || held_by_other(parking, primary_index)) {
      plan.deferred = true;  // cannot happen with unique addresses; left for a later plan
      break;
    }
    updates.push_back(update_op(primary_row->nodeid, parking));
    current[primary_index] = parking;
  }

  plan.ops = std::move(removes);
  plan.ops.insert(plan.ops.end(), updates.begin(), updates.end());
  if (!to_add.empty()) {
    if (frozen) {
      plan.deferred = true;
    } else {
      for (auto& a : to_add) plan.ops.push_back(add_op(std::move(a), "secondary"));
    }
  }
  return plan;
}

std::vector<PgDistRow> apply_op(std::vector<PgDistRow> rows, const PgDistOp& op, int64_t new_nodeid) {
  switch (op.kind) {
    case PgDistOp::Kind::update:
      for (auto& r : rows)
        if (r.nodeid == op.nodeid) r.address = op.address;
      break;
    case PgDistOp::Kind::add:
      rows.push_back(PgDistRow{new_nodeid, op.address, op.role});
      break;
    case PgDistOp::Kind::remove:
      std::erase_if(rows, [&](const PgDistRow& r) { return r.address == op.address; });
      break;
  }
  return rows;
}

}  // namespace custos::mpp
