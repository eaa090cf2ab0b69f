// The whole cluster as read from the DCS in one prefix read (dcs.md §1-3): an immutable value
// built from RawNodes by Cluster::from_nodes (or from_citus_nodes for a Citus coordinator,
// whose workers() holds one Cluster per worker group). Every value is parsed defensively:
// garbage gives empty/invalid parts, never an exception. Should a parser throw all the same
// (memory exhaustion, a bug), the key is reported (KeyParseFailure), never silently dropped.
// Also the cluster-level helpers of Patroni's Cluster (clone member, replication slot planning,
// timeline, min_version...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcs/cluster_config.h"
#include "dcs/failover.h"
#include "dcs/leader.h"
#include "dcs/member.h"
#include "dcs/raw_node.h"
#include "dcs/cluster_status.h"
#include "dcs/sync_state.h"
#include "dcs/timeline_history.h"

namespace custos::dcs {

// PostgreSQL version (server_version_num) from which permanent slots are copied to replicas
// (pg_replication_slot_advance exists).
inline constexpr int kSlotAdvanceAvailableVersion = 110000;

// Replication slot plan: slot name -> attributes object, e.g. {"type": "physical"} or
// {"type": "logical", "database": "db", "plugin": "pgoutput", "lsn": 123}.
using SlotMap = std::map<std::string, nlohmann::json>;

// A key whose parsing threw (see Cluster::from_nodes).
struct KeyParseFailure {
  std::string key;     // relative to the cluster base, as in RawNode::key ("leader", "1/members/a")
  std::string reason;  // what the exception said
  bool operator==(const KeyParseFailure&) const = default;
};

class Cluster {
 public:
  // An empty cluster (no keys).
  Cluster() = default;
  Cluster(std::optional<std::string> initialize, std::optional<ClusterConfig> config,
          std::optional<Leader> leader, ClusterStatus status, std::vector<Member> members,
          std::optional<Failover> failover, SyncState sync,
          std::optional<TimelineHistory> history, std::optional<nlohmann::json> failsafe);

  static Cluster empty() { return Cluster{}; }

  // Builds the cluster from the keys under the cluster base (keys relative to it: "leader",
  // "members/<name>", "config", "initialize", "failover", "sync", "history", "status",
  // "optime/leader", "failsafe"). Unknown keys, "members/" keys with an empty name or with a
  // further '/', are ignored; for a duplicated key the last node wins. No value content makes
  // it throw. If parsing a key throws anyway (memory exhaustion, a bug), that is never
  // swallowed: with `failures` the key is left out of the result and one entry per such key
  // is appended (the caller must then not use the result as the cluster's state: a left-out
  // `leader` would look like a free lock); without `failures` the exception propagates.
  static Cluster from_nodes(const RawNodes& nodes, std::vector<KeyParseFailure>* failures = nullptr);

  // Nodes of a Citus cluster, keys prefixed "<group>/" (group matching ^(0|[1-9][0-9]*)$ and
  // fitting an int; other keys ignored). Returns the Cluster of `my_group` (empty if absent);
  // when my_group == 0 its workers() holds the Cluster of every other group present.
  // `failures` as for from_nodes, keys with their "<group>/" prefix.
  static Cluster from_citus_nodes(const RawNodes& nodes, int my_group,
                                  std::vector<KeyParseFailure>* failures = nullptr);

  // Returns a copy with the given worker groups.
  Cluster with_workers(std::map<int, Cluster> workers) const;

  // ---- the keys ----
  // `initialize` value when the key exists ("" while bootstrapping).
  std::optional<std::string> initialize() const { return initialize_; }
  const std::optional<ClusterConfig>& config() const noexcept { return config_; }
  const std::optional<Leader>& leader() const noexcept { return leader_; }
  // `status`, else legacy `optime/leader`, else ClusterStatus::empty().
  const ClusterStatus& status() const noexcept { return status_; }
  // Sorted by key (member name).
  const std::vector<Member>& members() const noexcept { return members_; }
  // Present whenever the `failover` key exists (see Failover::is_empty()).
  const std::optional<Failover>& failover() const noexcept { return failover_; }
  // SyncState::empty() (version nullopt) when the key is absent.
  const SyncState& sync() const noexcept { return sync_; }
  const std::optional<TimelineHistory>& history() const noexcept { return history_; }
  // The `failsafe` value when it is a JSON object, else nullopt.
  const std::optional<nlohmann::json>& failsafe() const noexcept { return failsafe_; }
  // failsafe() entries whose value is a string (member name -> api_url).
  std::map<std::string, std::string> failsafe_members() const;
  // Citus worker groups (coordinator only); empty otherwise.
  const std::map<int, Cluster>& workers() const noexcept;

  // ---- derived ----
  // Leader name when there is a leader with a non-empty name.
  std::optional<std::string> leader_name() const;
  bool is_unlocked() const { return !leader_name().has_value(); }
  // No key at all was present.
  bool is_empty() const noexcept;
  // See TimelineHistory::timeline(); 0 without history.
  int timeline() const;
  int64_t last_lsn() const noexcept { return status_.last_lsn; }
  const std::optional<std::map<std::string, int64_t>>& slots() const noexcept {
    return status_.slots;
  }
  // Lowest parsed Patroni version among members; nullopt if none parses.
  std::optional<PatroniVersion> min_version() const;
  // `postgresql.use_slots` of a valid config, default true.
  bool use_slots() const;

  bool has_member(std::string_view name) const;
  // The member with that name; else (fallback_to_leader) the leader's member; else nullopt.
  std::optional<Member> get_member(std::string_view name, bool fallback_to_leader = true) const;
  // A random running member with a truthy clonefrom tag and a conn_url, other than
  // `exclude_name` and the leader; else the leader's member; else nullopt. `pick(n)` must return
  // an index < n (default: a random one).
  std::optional<Member> get_clone_member(std::string_view exclude_name) const;
  std::optional<Member> get_clone_member(std::string_view exclude_name,
                                         const std::function<size_t(size_t)>& pick) const;

  // ---- replication slots (Patroni's Cluster slot helpers) ----
  // Configured permanent slots (null/falsy value -> {} i.e. physical) with their known LSN:
  // max(status slot LSN, LSN of the member whose slot name it is (physical only)) in "lsn";
  // values that are not objects are kept as they are.
  SlotMap permanent_slots() const;
  // Slots this node must have: member slots (see dcs.md / Patroni _get_members_slots) merged
  // with valid permanent slots. `problems`, when given, receives one message per ignored slot
  // (invalid name, bad value, conflict, logical slot disabled before PG 11, shared member slot
  // names).
  // member_slots_ttl > 0 (Patroni 4, PostgreSQL 11+): every node that may lead keeps a physical
  // slot for every other member (a nofailover node only for those cascading from it), a
  // replica's moved to the position /status publishes for it, plus the slots /status
  // `retain_slots` still names (members that left less than member_slots_ttl ago; not moved).
  SlotMap get_replication_slots(std::string_view my_name, std::string_view role, bool nofailover,
                                int major_version, bool is_standby_cluster = false,
                                std::vector<std::string>* problems = nullptr, int64_t member_slots_ttl = 0) const;
  // Keeps only the slots of `slots` that are permanent (physical, or logical and not named
  // like a member slot); nothing before PostgreSQL 11 (major_version < 110000). With
  // member_slots_ttl > 0 (PostgreSQL 11+) every slot is kept: the replicas move their member
  // slots to these positions too.
  std::map<std::string, int64_t> filter_permanent_slots(const std::map<std::string, int64_t>& slots,
                                                        bool is_standby_cluster, int major_version,
                                                        int64_t member_slots_ttl = 0) const;
  bool has_permanent_slots(std::string_view my_name, bool is_standby_cluster = false,
                           bool nofailover = false,
                           int major_version = kSlotAdvanceAvailableVersion) const;
  bool has_permanent_logical_slots(std::string_view my_name, bool nofailover) const;
  // True if this node, or a member cascading from it (recursively, cycles cut), has permanent
  // logical slots.
  bool should_enforce_hot_standby_feedback(std::string_view my_name, bool nofailover) const;
  // Slot name used on the primary for our physical replication: with `replicatefrom` naming an
  // existing member that is not the leader, the slot that member uses (recursively, following
  // its own replicatefrom; cycles cut); else slot_name_from_member_name(my_name).
  std::string get_my_slot_name_on_primary(std::string_view my_name,
                                          std::optional<std::string_view> replicatefrom) const;

  bool operator==(const Cluster& other) const;

 private:
  // leader_name() without a copy; empty when unlocked.
  std::string_view leader_name_view() const noexcept;
  SlotMap members_slots(std::string_view my_name, std::string_view role, std::vector<std::string>* problems,
                        bool nofailover = false, int major_version = 0, int64_t member_slots_ttl = 0) const;
  SlotMap configured_permanent_slots(bool is_standby_cluster, std::string_view role,
                                     bool nofailover, int major_version) const;
  std::vector<std::string> merge_permanent_slots(SlotMap& slots, const SlotMap& permanent,
                                                 std::string_view my_name, int major_version,
                                                 std::vector<std::string>* problems) const;

  std::optional<std::string> initialize_;
  std::optional<ClusterConfig> config_;
  std::optional<Leader> leader_;
  ClusterStatus status_;
  std::vector<Member> members_;
  std::optional<Failover> failover_;
  SyncState sync_;
  std::optional<TimelineHistory> history_;
  std::optional<nlohmann::json> failsafe_;
  // Shared, immutable; null = no workers.
  std::shared_ptr<const std::map<int, Cluster>> workers_;
};

}  // namespace custos::dcs
