// The Dcs interface: every operation the HA cycle, the REST API and custosctl need from a
// distributed configuration store (etcd3, later ZooKeeper, ...). Backends live in subfolders.
//
// Rules every backend keeps:
// - Every call returns within retry_timeout (it retries internally until then), never throws
//   for store trouble, and reports failure as a DcsError from the closed set in dcs_error.h.
// - Only kLockOwnedByOther means "another member holds the leader lock". A timeout, a refused
//   connection or a garbled reply while refreshing the lock is kUnreachable/kMalformedReply:
//   the HA cycle decides what to do with an unknown lock state, the backend never guesses.
// - Values written by others are never trusted: get_cluster() parses them defensively. A key
//   whose parsing fails unexpectedly (the parser threw) fails the whole read with
//   kMalformedReply naming the key, never a cluster without that key.
// - Thread-safe: any thread may call anything; watch() is meant for one thread (the HA loop).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcs/cluster.h"
#include "dcs/dcs_error.h"
#include "dcs/raw_node.h"

namespace custos::dcs {

// Timing knobs that the dynamic configuration may change at any time.
struct DcsTiming {
  int ttl = 30;            // seconds a leader lock / member key lives without refresh
  int loop_wait = 10;      // seconds between HA cycles
  int retry_timeout = 10;  // seconds a DCS call may take, retries included
  bool operator==(const DcsTiming&) const = default;
};

// What the lock holder publishes along with a lock refresh.
struct LeaderRefresh {
  std::optional<int64_t> last_lsn;              // written to `status` when set
  std::map<std::string, int64_t> slots;         // permanent slots for `status`
  std::optional<nlohmann::json> failsafe;       // written to `failsafe` when set
  std::vector<std::string> retain_slots;        // `status` retain_slots (member_slots_ttl), sorted
};

// The lease (etcd) or session (ZooKeeper) our leader key is bound to, as last refreshed.
struct LeaseInfo {
  std::chrono::steady_clock::time_point refreshed_at;  // when that grant/keepalive request started
  int ttl = 0;                                          // seconds it runs from then
};

// Counters of a backend since it was built, for logs and monitoring.
struct DcsStats {
  // Calls that returned kMalformedReply to their caller (garbled or refused replies, values
  // that could not be parsed). Errors a backend retried or dropped internally do not count.
  uint64_t malformed_replies = 0;
};

// How a watch ended.
enum class WatchOutcome {
  kChanged,   // the leader key (or another key the HA loop cares about) changed
  kTimeout,   // nothing happened within the timeout
  kWokenUp,   // wakeup() was called (REST request, postmaster death, shutdown)
};

class Dcs {
 public:
  virtual ~Dcs() = default;

  // Name of this member and the cluster base path "/<namespace>/<scope>/" (one trailing '/').
  virtual const std::string& member_name() const = 0;
  virtual const std::string& base_path() const = 0;

  // Reads the whole cluster with one prefix read. For a Citus coordinator, all groups.
  // May be served from a watch cache that trails other members' writes by the stream's delay
  // (milliseconds); our own writes are always in it.
  virtual DcsResult<Cluster> get_cluster() = 0;
  // A read straight from the DCS, bypassing any cache: for compare-and-set writes made on an
  // operator's request (PATCH /config, DELETE /switchover), which must start from the latest
  // version.
  virtual DcsResult<Cluster> get_cluster_fresh() { return get_cluster(); }
  // A Citus worker's view of its coordinator: the keys of group 0 (leader, members) read as one
  // cluster (spec/citus.md §6: where a worker sends its events).
  virtual DcsResult<Cluster> get_mpp_coordinator() {
    return dcs_error(DcsErrorKind::kMalformedReply, "this store does not read Citus groups");
  }

  // Creates `leader` = our name bound to our TTL, only if absent.
  // kLockOwnedByOther when the key exists (whoever holds it).
  virtual DcsStatus attempt_to_acquire_leader() = 0;
  // Refreshes our lock (TTL) if, and only if, it is still ours, then writes status/failsafe. A
  // key that expired is taken again if nobody else took it (Patroni's rule), unless this member
  // released it (delete_leader) since a read that showed it held. kLockOwnedByOther when the key
  // holds another name, or is gone and may not or cannot be taken again.
  virtual DcsStatus update_leader(const LeaderRefresh& refresh) = 0;
  // Deletes `leader` only if it holds our name; writes status.optime first when given.
  virtual DcsStatus delete_leader(std::optional<int64_t> last_lsn) = 0;
  // Unconditionally writes `leader` = our name bound to our TTL (after bootstrap).
  virtual DcsStatus take_leader() = 0;

  // `initialize`: create_new → create-if-absent (kCasConflict if present); else overwrite.
  virtual DcsStatus initialize(bool create_new, const std::string& sysid) = 0;
  virtual DcsStatus cancel_initialization() = 0;

  // Writes `members/<our name>` bound to our TTL.
  virtual DcsStatus touch_member(const nlohmann::json& data) = 0;

  // Compare-and-set writes: with a version, only if the key still has it (kCasConflict
  // otherwise); without, unconditional. Each returns the key's new version.
  virtual DcsResult<Version> set_config_value(const std::string& value,
                                              std::optional<Version> version) = 0;
  virtual DcsResult<Version> set_failover_value(const std::string& value,
                                                std::optional<Version> version) = 0;
  virtual DcsResult<Version> set_sync_state_value(const std::string& value,
                                                  std::optional<Version> version) = 0;
  virtual DcsStatus delete_sync_state(std::optional<Version> version) = 0;

  // Unconditional writes.
  virtual DcsStatus set_history_value(const std::string& value) = 0;
  virtual DcsStatus write_status(const nlohmann::json& status) = 0;
  virtual DcsStatus write_failsafe(const nlohmann::json& failsafe) = 0;

  // Deletes every key under the base path (custosctl remove).
  virtual DcsStatus delete_cluster() = 0;

  // Waits until the leader key differs from `leader_version` (nullopt: no leader seen), the
  // timeout passes, or wakeup() is called. Blocks the calling thread (the HA loop).
  // - kChanged at once when the leader key already differs on entry (changed or disappeared
  //   since the caller's get_cluster()): such a change is never slept through.
  // - Otherwise kChanged when, during the wait, the leader key changes or another key the HA
  //   loop reacts to changes (backend-specific; etcd3: config, and status/optime while another
  //   member holds the lock). Changes of those other keys before the call do not count.
  // - kWokenUp for wakeup() (see there), kTimeout otherwise (a backend may add a little to the
  //   timeout of a non-leader, as Patroni does, so that members' loops drift apart).
  // A lock holder passing its own version is thus woken only by wakeup(), the timeout, or a
  // change of those other keys (etcd3: config).
  virtual WatchOutcome watch(std::optional<Version> leader_version,
                             std::chrono::milliseconds timeout) = 0;
  // Ends a watch() in progress, from any thread. Sticky: a wakeup() that arrives while no
  // watch() is in progress makes the next watch() return kWokenUp at once (the HA loop relies
  // on this never to lose a wake-up between deciding to watch and entering watch()). Several
  // wakeups before one watch() are reported once.
  virtual void wakeup() = 0;

  // `listener` (or nothing) is called, from a backend thread and without blocking, when the HA
  // loop should run its next cycle early even if it is not watching: another member's key
  // appeared (a member joined or came back: the lock holder creates its replication slot at
  // once, so that its WAL receiver does not wait wal_retrieve_retry_interval for it). Backends
  // without a watch never call it.
  virtual void set_wake_listener(std::function<void()> listener) { (void)listener; }

  // The lease of our leader key as this backend last granted or refreshed it (a refresh may
  // skip the keepalive of a lease refreshed a moment ago, and a TTL change takes effect with the
  // next grant): the lease fence counts from it. nullopt when the backend cannot say; the
  // caller then counts from the start of its own call with its own ttl.
  virtual std::optional<LeaseInfo> lease_info() const { return std::nullopt; }

  // Applies new timing (dynamic configuration change).
  virtual void set_timing(const DcsTiming& timing) = 0;
  virtual DcsTiming timing() const = 0;

  // The counters so far. Cheap (no I/O, no waiting), from any thread.
  virtual DcsStats stats() const = 0;
};

}  // namespace custos::dcs
