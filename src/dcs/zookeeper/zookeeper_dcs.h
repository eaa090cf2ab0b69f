// The ZooKeeper Dcs backend (dcs.md §7), wire-compatible with Patroni's `zookeeper` module: the
// same znodes (`/<namespace>/<scope>/leader` ...), `leader` and `members/<name>` ephemeral and
// bound to one session whose timeout is `ttl`, versions for compare-and-set, watches for
// wake-ups. Through Debian's C client (zk_session.h), every call bounded by retry_timeout.
//
//   auto dcs = custos::dcs::zookeeper::ZooKeeperDcs::from_config(patroni_config_json);
//
// Deliberate differences from Patroni (docs/compatibility.md): delete_leader deletes the leader
// znode (if it holds our name) instead of restarting the session, so our member key stays; a
// compare-and-set with version 0 is conditional (Patroni treats 0 as "any version").
//
// Every public call computes one deadline (now + retry_timeout) and every step of it shares it.
//
// Thread-safe. Locks (annotated; none held while waiting for ZooKeeper):
//   state_mu_  timing, the released flag and when, what the last read showed of our keys. Leaf.
//   cache_mu_  the cached cluster read. Leaf.
//   event_mu_  woken_; event_cv_ waits on it (watch()), notified by watch events and wakeup().
//              Leaf.
//   listener_mu_  the wake listener; held while it runs (-> LoopWaker's lock -> event_mu_).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/thread_annotations.h"
#include "dcs/dcs.h"
#include "dcs/status_publisher.h"
#include "dcs/zookeeper/zk_session.h"
#include "dcs/zookeeper/zookeeper_settings.h"

namespace custos::dcs::zookeeper {

class ZooKeeperDcs : public Dcs {
 public:
  // From the whole Patroni configuration (its `zookeeper` section). Does not contact ZooKeeper.
  static Result<std::unique_ptr<ZooKeeperDcs>, std::string> from_config(const nlohmann::json& patroni_config);
  explicit ZooKeeperDcs(ZooKeeperSettings settings);
  ~ZooKeeperDcs() override;

  const std::string& member_name() const override { return settings_.name; }
  const std::string& base_path() const override { return base_path_; }

  // From the cache while no watch event came since it was read (every znode read leaves a watch,
  // member values included) and it is younger than ttl; else read from ZooKeeper.
  DcsResult<Cluster> get_cluster() override { return counted(read_cluster(true)); }
  DcsResult<Cluster> get_cluster_fresh() override { return counted(read_cluster(false)); }
  DcsResult<Cluster> get_mpp_coordinator() override;
  DcsStatus attempt_to_acquire_leader() override { return counted(acquire_impl(deadline())); }
  DcsStatus update_leader(const LeaderRefresh& refresh) override { return counted(update_leader_impl(refresh)); }
  DcsStatus delete_leader(std::optional<int64_t> last_lsn) override { return counted(delete_leader_impl(last_lsn)); }
  DcsStatus take_leader() override { return counted(acquire_impl(deadline())); }
  DcsStatus initialize(bool create_new, const std::string& sysid) override;
  DcsStatus cancel_initialization() override;
  DcsStatus touch_member(const nlohmann::json& data) override { return counted(touch_member_impl(data)); }
  DcsResult<Version> set_config_value(const std::string& value, std::optional<Version> version) override {
    return counted(cas_put("config", value, version, deadline()));
  }
  DcsResult<Version> set_failover_value(const std::string& value, std::optional<Version> version) override {
    return counted(cas_put("failover", value, version, deadline()));
  }
  DcsResult<Version> set_sync_state_value(const std::string& value, std::optional<Version> version) override {
    return counted(cas_put("sync", value, version, deadline()));
  }
  // Writes `{}` (as Patroni does on ZooKeeper) instead of deleting.
  DcsStatus delete_sync_state(std::optional<Version> version) override;
  DcsStatus set_history_value(const std::string& value) override;
  DcsStatus write_status(const nlohmann::json& status) override;
  DcsStatus write_failsafe(const nlohmann::json& failsafe) override;
  DcsStatus delete_cluster() override;

  // Asks whether the leader znode exists (leaving a watch that reports its creation, change or
  // deletion) and compares its czxid with `leader_version`: a change since the caller's read
  // ends the call at once. Otherwise waits for a watch event on the keys the HA loop reacts to
  // (leader, config, failover, sync, history, failsafe, status while another member leads, the
  // group's children), wakeup() or the timeout.
  WatchOutcome watch(std::optional<Version> leader_version, std::chrono::milliseconds timeout) override
      EXCLUDES(event_mu_);
  void wakeup() override EXCLUDES(event_mu_);
  void set_wake_listener(std::function<void()> listener) override EXCLUDES(listener_mu_);

  // The session: alive at least its negotiated timeout after the start of the last call that
  // got a reply.
  std::optional<LeaseInfo> lease_info() const override;
  void set_timing(const DcsTiming& timing) override EXCLUDES(state_mu_);
  DcsTiming timing() const override EXCLUDES(state_mu_);
  DcsStats stats() const override;

  const ZooKeeperSettings& settings() const { return settings_; }
  int64_t session_id() const { return session_->session_id(); }

 private:
  std::string path(const std::string& relative) const;
  Deadline deadline() const EXCLUDES(state_mu_);
  bool holds_lock_in_view() const EXCLUDES(state_mu_);
  bool released() const EXCLUDES(state_mu_);

  // The keys of one group under `dir` ("/service/demo/" or "/service/demo/1/"), relative to
  // `prefix`; watches left when `watch`.
  ZkResult<RawNodes> read_group(const std::string& dir, const std::string& prefix, bool watch, Deadline deadline);
  DcsResult<Cluster> read_cluster(bool use_cache) EXCLUDES(cache_mu_, state_mu_);
  DcsStatus acquire_impl(Deadline d) EXCLUDES(state_mu_);
  DcsStatus update_leader_impl(const LeaderRefresh& refresh) EXCLUDES(state_mu_);
  DcsStatus delete_leader_impl(std::optional<int64_t> last_lsn) EXCLUDES(state_mu_);
  DcsStatus touch_member_impl(const nlohmann::json& data) EXCLUDES(state_mu_);
  DcsResult<Version> cas_put(const std::string& relative, const std::string& value, std::optional<Version> version,
                             Deadline d);
  StatusPublisher::Put put_until(Deadline d);
  // A write of ours went through: the cached read no longer shows everything (not every key we
  // write is watched: status while we lead, initialize).
  void wrote() { cache_epoch_.fetch_add(1); }
  void on_event(const ZkEvent& event) EXCLUDES(event_mu_, listener_mu_);
  void signal_change() EXCLUDES(event_mu_);

  template <class R>
  R counted(R result) {
    if (!result && result.error().is(DcsErrorKind::kMalformedReply))
      malformed_replies_.fetch_add(1, std::memory_order_relaxed);
    return result;
  }

  const ZooKeeperSettings settings_;
  const std::string base_path_;
  StatusPublisher status_;

  mutable Mutex state_mu_;
  DcsTiming timing_ GUARDED_BY(state_mu_);
  // We deleted the leader znode ourselves (or found it gone when releasing) and have not written
  // it since: update_leader must not re-create it (the HA cycle calling it may have read the key
  // before the delete). Only a read that started after the release ends it.
  bool leader_released_ GUARDED_BY(state_mu_) = false;
  Clock::time_point released_at_ GUARDED_BY(state_mu_) = {};
  // The leader znode's holder in the last read (to know whether status changes are news).
  std::optional<std::string> leader_in_view_ GUARDED_BY(state_mu_);
  // Our member znode as last read or written: its value and owner session.
  struct OwnMember {
    std::string value;
    int64_t owner = 0;
  };
  std::optional<OwnMember> member_ GUARDED_BY(state_mu_);

  // The last cluster read with watches, valid while cache_epoch_ has not moved since and it is
  // younger than ttl (a safety net: a watch lost in some way we did not foresee heals).
  struct CachedRead {
    Cluster cluster;
    uint64_t epoch = 0;  // cache_epoch_ when the read began
    int64_t session = 0;
    Clock::time_point at;
  };
  Mutex cache_mu_;
  std::optional<CachedRead> cache_ GUARDED_BY(cache_mu_);
  // Moves on every watch or session event and every write of ours: what the cache was read at.
  std::atomic<uint64_t> cache_epoch_{0};

  mutable Mutex event_mu_;
  CondVar event_cv_;
  bool woken_ GUARDED_BY(event_mu_) = false;
  std::atomic<uint64_t> ha_wakeups_{0};  // watch events the HA loop reacts to, so far

  Mutex listener_mu_;
  std::function<void()> wake_listener_ GUARDED_BY(listener_mu_);

  std::atomic<uint64_t> malformed_replies_{0};
  // Last: its watcher calls on_event, which uses the members above.
  std::unique_ptr<ZkSession> session_;
};

}  // namespace custos::dcs::zookeeper
