// The etcd v3 Dcs backend (dcs.md §5 "Key operations"), wire-compatible with Patroni's etcd3.
//
//   auto dcs = custos::dcs::etcd3::Etcd3Dcs::from_config(patroni_config_json);
//   if (!dcs) { /* dcs.error(): what is wrong in the configuration */ }
//   (*dcs)->touch_member(...); auto cluster = (*dcs)->get_cluster();
//
// One lease per agent (TTL = ttl) binds `leader` and `members/<name>`. Every call returns within
// retry_timeout. Thread-safe. In daemon mode a background watcher keeps a cache of the cluster
// prefix: get_cluster() reads it while the stream is up (else one prefix range, serializable),
// and watch() compares the caller's leader version with it and wakes when the leader key (or
// config, or status while not leader) changes. ctl mode: no lease, no watcher, linearizable
// reads. Every kMalformedReply returned by a call is counted in stats().
//
// Locks (annotated, checked by scripts/check-thread-safety.sh):
//   lease_op_mu_  serializes the grant/keepalive of ensure_lease() (no field). Not a leaf: it is
//                 held across the etcd calls of the keepalive or grant (bounded by the caller's
//                 deadline, retry_timeout) and while taking lease_mu_, so that two threads never
//                 grant two leases.
//   lease_mu_     lease_, last_lease_refresh_, lease_ttl_, timing_. A leaf.
//   view_mu_      view_. A leaf except in read_cluster(), which takes lease_mu_ (lease_id()) while
//                 holding it to compare the leader key's lease with ours.
//   parse_mu_     parsed_. A leaf.
//   event_mu_     woken_, do_not_watch_; event_cv_ waits on it. A leaf except in watch(), which
//                 reads Watcher::state() (the watcher's mu_) while holding it; the watcher never
//                 calls back (signal_change) with its own lock held, so the order is one-way.
// None of them is held while waiting on etcd except lease_op_mu_ as said; the etcd client and
// the watcher have their own locks (client.h, watcher.h).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/thread_annotations.h"
#include "dcs/dcs.h"
#include "dcs/etcd3/client.h"
#include "dcs/status_publisher.h"
#include "dcs/etcd_common/etcd_settings.h"

namespace custos::dcs::etcd3 {

class Watcher;

class Etcd3Dcs : public Dcs {
 public:
  // Builds the backend from the whole Patroni configuration (see EtcdSettings). Does not
  // contact etcd: the lease is granted by the first call that needs it.
  static Result<std::unique_ptr<Etcd3Dcs>, std::string> from_config(const nlohmann::json& patroni_config);

  explicit Etcd3Dcs(EtcdSettings settings);
  ~Etcd3Dcs() override;

  const std::string& member_name() const override { return settings_.name; }
  const std::string& base_path() const override { return base_path_; }

  // The Dcs calls: each one runs its *_impl below and counts a kMalformedReply it returns.
  DcsResult<Cluster> get_cluster() override { return counted(read_cluster(true)); }
  DcsResult<Cluster> get_cluster_fresh() override { return counted(read_cluster(false)); }
  DcsResult<Cluster> get_mpp_coordinator() override { return counted(read_coordinator()); }
  DcsStatus attempt_to_acquire_leader() override { return counted(attempt_to_acquire_leader_impl()); }
  DcsStatus update_leader(const LeaderRefresh& refresh) override { return counted(update_leader_impl(refresh)); }
  DcsStatus delete_leader(std::optional<int64_t> last_lsn) override { return counted(delete_leader_impl(last_lsn)); }
  DcsStatus take_leader() override { return counted(take_leader_impl()); }
  DcsStatus initialize(bool create_new, const std::string& sysid) override {
    return counted(initialize_impl(create_new, sysid));
  }
  DcsStatus cancel_initialization() override { return counted(cancel_initialization_impl()); }
  DcsStatus touch_member(const nlohmann::json& data) override { return counted(touch_member_impl(data)); }
  DcsResult<Version> set_config_value(const std::string& value, std::optional<Version> version) override;
  DcsResult<Version> set_failover_value(const std::string& value, std::optional<Version> version) override;
  DcsResult<Version> set_sync_state_value(const std::string& value, std::optional<Version> version) override;
  DcsStatus delete_sync_state(std::optional<Version> version) override { return counted(delete_sync_state_impl(version)); }
  DcsStatus set_history_value(const std::string& value) override;
  DcsStatus write_status(const nlohmann::json& status) override { return counted(write_status_impl(status)); }
  DcsStatus write_failsafe(const nlohmann::json& failsafe) override { return counted(write_failsafe_impl(failsafe)); }
  DcsStatus delete_cluster() override { return counted(delete_cluster_impl()); }
  // Compares `leader_version` with the watch cache (see Dcs::watch). Without an established
  // stream (ctl mode, etcd unreachable, not yet connected) it is a timed wait that ends on
  // wakeup(), or early once the stream is back and shows a change; it never polls etcd.
  WatchOutcome watch(std::optional<Version> leader_version, std::chrono::milliseconds timeout) override
      EXCLUDES(event_mu_);
  void wakeup() override EXCLUDES(event_mu_);
  void set_timing(const DcsTiming& timing) override EXCLUDES(lease_mu_, event_mu_);
  DcsTiming timing() const override EXCLUDES(lease_mu_);
  std::optional<LeaseInfo> lease_info() const override EXCLUDES(lease_mu_);
  DcsStats stats() const override;
  void set_wake_listener(std::function<void()> listener) override EXCLUDES(listener_mu_);

  // ---- etcd3 specifics ----
  // Grants the lease now if we hold none (keepalive otherwise), within retry_timeout.
  DcsStatus refresh_lease(bool force = false) { return counted(refresh_lease_impl(force)); }
  // Our current lease ID (decimal), if any.
  std::optional<std::string> lease_id() const EXCLUDES(lease_mu_);
  // Revokes our lease: etcd deletes every key bound to it (leader, member) at once.
  DcsStatus revoke_lease() { return counted(revoke_lease_impl()); }
  // Reads linearizably (custosctl) instead of serializably.
  void set_linearizable_reads(bool on) { linearizable_reads_ = on; }
  // True once the background watch stream is established (always false in ctl mode).
  bool wait_watch_ready(std::chrono::milliseconds timeout) const;
  const EtcdSettings& settings() const { return settings_; }
  Etcd3Client& client() { return *client_; }

 private:
  std::string key(const std::string& relative) const { return settings_.client_path() + relative; }
  Deadline deadline() const { return client_->deadline_from_now(); }
  // How old the lease may be before ensure_lease() sends a keepalive:
  //   now     the lock holder's refresh, every cycle (the leader key lives ttl from each one);
  //   cycle   a key that must live about ttl from now (the leader key being taken): loop_wait;
  //   member  the member key of a node without the lock: ttl - loop_wait - retry_timeout (at
  //           least loop_wait), the oldest age from which the next cycle, even one slowed by a
  //           full retry_timeout, still refreshes it in time. An idle replica thus sends one
  //           keepalive every ~ttl/2 instead of every cycle. (The lock holder's member touch
  //           uses `cycle`: its lease also carries the leader key.)
  enum class LeaseUse { now, cycle, member };
  // The lease to bind keys to, kept alive as `use` needs; a lease etcd no longer knows is
  // replaced by a new grant.
  EtcdResult<std::string> ensure_lease(LeaseUse use, Deadline deadline) EXCLUDES(lease_op_mu_, lease_mu_);
  void drop_lease(const std::string& id) EXCLUDES(lease_mu_);
  DcsResult<Version> cas_put(const std::string& relative, const std::string& value, std::optional<Version> version)
      EXCLUDES(view_mu_);
  DcsStatus plain_put(const std::string& relative, const std::string& value) EXCLUDES(view_mu_);
  DcsResult<Cluster> read_cluster(bool use_cache) EXCLUDES(view_mu_, lease_mu_);
  DcsResult<Cluster> read_coordinator();
  void note_write(const std::string& absolute_key, std::optional<std::string> value, int64_t revision,
                  const std::string& lease = {}) EXCLUDES(view_mu_);
  void signal_change() EXCLUDES(event_mu_);

  // The work of the public calls of the same name, uncounted (internal calls use these, so that
  // an error they log and drop is not counted as returned).
  DcsStatus attempt_to_acquire_leader_impl() EXCLUDES(lease_op_mu_, lease_mu_, view_mu_);
  DcsStatus update_leader_impl(const LeaderRefresh& refresh) EXCLUDES(lease_op_mu_, lease_mu_, view_mu_);
  DcsStatus delete_leader_impl(std::optional<int64_t> last_lsn) EXCLUDES(view_mu_);
  DcsStatus take_leader_impl() EXCLUDES(lease_op_mu_, lease_mu_, view_mu_);
  DcsStatus initialize_impl(bool create_new, const std::string& sysid) EXCLUDES(view_mu_);
  DcsStatus cancel_initialization_impl() EXCLUDES(view_mu_);
  DcsStatus touch_member_impl(const nlohmann::json& data) EXCLUDES(lease_op_mu_, lease_mu_, view_mu_);
  DcsStatus delete_sync_state_impl(std::optional<Version> version) EXCLUDES(view_mu_);
  DcsStatus write_status_impl(const nlohmann::json& status) EXCLUDES(view_mu_);
  DcsStatus write_failsafe_impl(const nlohmann::json& failsafe) EXCLUDES(view_mu_);
  DcsStatus delete_cluster_impl() EXCLUDES(view_mu_);
  DcsStatus refresh_lease_impl(bool force) EXCLUDES(lease_op_mu_, lease_mu_);
  DcsStatus revoke_lease_impl() EXCLUDES(lease_mu_);

  // Counts `result` in stats() when it is a kMalformedReply; returns it unchanged.
  template <class R>
  R counted(R result) {
    if (!result && result.error().is(DcsErrorKind::kMalformedReply))
      malformed_replies_.fetch_add(1, std::memory_order_relaxed);
    return result;
  }

  const EtcdSettings settings_;
  const std::string base_path_;
  std::unique_ptr<Etcd3Client> client_;
  std::atomic<bool> linearizable_reads_;

  // Lease: lease_op_mu_ serializes grant/keepalive; lease_mu_ guards the fields.
  Mutex lease_op_mu_;
  mutable Mutex lease_mu_;
  std::optional<std::string> lease_ GUARDED_BY(lease_mu_);
  Clock::time_point last_lease_refresh_ GUARDED_BY(lease_mu_) = {};
  int lease_ttl_ GUARDED_BY(lease_mu_) = 0;  // the TTL lease_ was granted with
  DcsTiming timing_ GUARDED_BY(lease_mu_);

  // What we know of our keys from the last read and our own writes.
  struct View {
    std::optional<std::string> leader_value;
    std::string leader_lease;
    // We deleted the leader key ourselves (delete_leader) and have not written it since (no
    // read has shown it held either): update_leader must not re-create it, because the HA cycle
    // that calls it may have read the key before the delete (graceful demote in the background).
    bool leader_released = false;
    std::optional<std::string> member_value;
    std::string member_lease;
  };
  mutable Mutex view_mu_;
  View view_ GUARDED_BY(view_mu_);
  // status/failsafe/optime writes, skipped when unchanged.
  StatusPublisher status_;

  // The cluster last parsed from the watch cache, kept while the cache's content version stays
  // the same: an idle cycle reuses it instead of copying and parsing every key again.
  struct ParsedRead {
    uint64_t version = 0;
    RawNodes nodes;
    Cluster cluster;
  };
  mutable Mutex parse_mu_;
  std::shared_ptr<const ParsedRead> parsed_ GUARDED_BY(parse_mu_);

  // watch()/wakeup(). What changed is the watcher's business (Watcher::state()); event_cv_ is
  // notified whenever its state moves on, and by wakeup().
  mutable Mutex event_mu_;
  CondVar event_cv_;
  // Sticky: set by wakeup(), consumed by the watch() that reports it.
  bool woken_ GUARDED_BY(event_mu_) = false;
  // The TTL changed: the next watch() returns at once.
  bool do_not_watch_ GUARDED_BY(event_mu_) = false;

  std::atomic<uint64_t> malformed_replies_{0};

  // set_wake_listener(): called by the watcher thread when a member joined.
  Mutex listener_mu_;
  std::function<void()> wake_listener_ GUARDED_BY(listener_mu_);

  std::unique_ptr<Watcher> watcher_;
};

}  // namespace custos::dcs::etcd3
