// The rows of Citus's pg_dist_node for one group, the topology the DCS says the group should
// have, and the plan of statements that turns one into the other (spec/citus.md §5, §8).
//
// Citus's rules the plan keeps (checked on Citus 13):
//   - (nodename, nodeport) is unique across all rows: a row may take an address only once no
//     other row holds it, so a swap goes through a temporary "<host>-demoted" name;
//   - the primary row keeps its nodeid (updated in place, never removed and re-added);
//   - adding or removing a row needs the metadata synchronised to every primary, which is not
//     the case inside a transaction that changed a primary row: such a transaction only updates
//     rows, and the secondaries left over are added or removed by a later plan.
//   - citus_update_node always works; updating a row to its current address is a no-op.
//
// Addresses of the primary row: "<host>" (clients reach it) or "<host>-demoted" (writes through
// the coordinator wait: the row changed and its shard placements are locked until the open
// transaction ends; a planned switchover, spec/citus.md §6).
//
// Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace custos::mpp {

struct NodeAddress {
  std::string host;
  int port = 5432;
  auto operator<=>(const NodeAddress&) const = default;
  std::string to_string() const { return host + ":" + std::to_string(port); }
  friend std::ostream& operator<<(std::ostream& os, const NodeAddress& a) { return os << a.to_string(); }
};

// The suffix a paused primary row carries.
inline constexpr const char* kDemotedSuffix = "-demoted";

// One row of pg_dist_node (the columns the maintainer reads).
struct PgDistRow {
  int64_t nodeid = 0;
  NodeAddress address;
  std::string role;  // noderole: "primary", "secondary" (or "unavailable")
  bool operator==(const PgDistRow&) const = default;
};

// What the DCS says a group should look like.
struct GroupTopology {
  NodeAddress primary;
  // The primary row carries "<host>-demoted": writes wait (a worker is about to demote).
  bool paused = false;
  // The group's other running members with a conn_url and without the noloadbalance tag.
  std::set<NodeAddress> secondaries;
  bool operator==(const GroupTopology&) const = default;
  // The primary row's address: host with the -demoted suffix when paused.
  NodeAddress primary_row_address() const;
};

// One statement of a plan.
struct PgDistOp {
  enum class Kind {
    update,  // citus_update_node(nodeid, host, port, true, cooldown)
    add,     // citus_add_node(host, port, group, role, 'default') -> new nodeid
    remove,  // citus_remove_node(host, port)
  };
  Kind kind = Kind::update;
  int64_t nodeid = 0;  // update
  NodeAddress address;
  std::string role;  // add: "primary" or "secondary"
  bool operator==(const PgDistOp&) const = default;
  std::string describe() const;
};

struct GroupPlan {
  std::vector<PgDistOp> ops;
  // The primary row changes address (a failover, switchover, pause or resume): no row may be
  // added or removed in the same transaction.
  bool primary_changes = false;
  // Secondaries the plan could not add or remove now (a transaction changed the primary): a
  // later plan does it.
  bool deferred = false;
};

// The statements that turn `rows` (the group as it is, inside the open transaction when there
// is one) into `target`. `primary_changed_in_transaction`: the open transaction already changed
// this group's primary row (rows may then not be added or removed).
// A group without a primary row gets its primary added, unless the target is paused (there is
// nothing to pause: Patroni skips it too).
GroupPlan plan_group_change(const std::vector<PgDistRow>& rows, const GroupTopology& target,
                            bool primary_changed_in_transaction);

// `rows` after `op` ran (`new_nodeid` is what citus_add_node returned). Used to keep the cache
// and the open transaction's view current without reading pg_dist_node again.
std::vector<PgDistRow> apply_op(std::vector<PgDistRow> rows, const PgDistOp& op, int64_t new_nodeid);

}  // namespace custos::mpp
