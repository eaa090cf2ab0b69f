// The etcd v2 Dcs backend (dcs.md §6), wire-compatible with Patroni's `etcd` module: an `etcd:`
// section means etcd's v2 API (etcd started with --enable-v2), the keys and values Patroni
// writes there. TTL keys instead of a lease: `leader` and `members/<name>` are written with
// ttl=<ttl> every cycle; the lock is taken with prevExist=false and refreshed with
// prevValue=<name>; CAS writes use prevIndex=<modifiedIndex>. The HA loop's watch is a long
// poll on the leader key (wait=true&waitIndex) that wakeup() cancels.
//
//   auto dcs = custos::dcs::etcd2::Etcd2Dcs::from_config(patroni_config_json);
//
// Every call returns within retry_timeout; thread-safe. ctl mode reads with quorum=true.
//
// Locks (annotated, checked by scripts/check-thread-safety.sh), all leaves, none held during a
// request:
//   state_mu_  what we know of our own keys (leader released, last refresh) and the timing.
//   event_mu_  woken_, watching_; taken by wakeup() to cancel the long poll in progress.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/thread_annotations.h"
#include "dcs/dcs.h"
#include "dcs/etcd/etcd2_client.h"
#include "dcs/etcd_common/etcd_settings.h"
#include "dcs/status_publisher.h"
#include "net/http_client.h"

namespace custos::dcs::etcd2 {

class Etcd2Dcs : public Dcs {
 public:
  // From the whole Patroni configuration (its `etcd` section). Does not contact etcd.
  static Result<std::unique_ptr<Etcd2Dcs>, std::string> from_config(const nlohmann::json& patroni_config);
  explicit Etcd2Dcs(etcd_common::EtcdSettings settings);
  ~Etcd2Dcs() override;

  const std::string& member_name() const override { return settings_.name; }
  const std::string& base_path() const override { return base_path_; }

  DcsResult<Cluster> get_cluster() override { return counted(read_cluster()); }
  DcsResult<Cluster> get_cluster_fresh() override { return counted(read_cluster()); }
  DcsResult<Cluster> get_mpp_coordinator() override { return counted(read_coordinator()); }
  DcsStatus attempt_to_acquire_leader() override { return counted(acquire_impl(deadline())); }
  DcsStatus update_leader(const LeaderRefresh& refresh) override { return counted(update_leader_impl(refresh)); }
  DcsStatus delete_leader(std::optional<int64_t> last_lsn) override { return counted(delete_leader_impl(last_lsn)); }
  DcsStatus take_leader() override { return counted(take_leader_impl()); }
  DcsStatus initialize(bool create_new, const std::string& sysid) override {
    return counted(initialize_impl(create_new, sysid));
  }
  DcsStatus cancel_initialization() override { return counted(remove("initialize", {})); }
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
  DcsStatus delete_sync_state(std::optional<Version> version) override;
  DcsStatus set_history_value(const std::string& value) override { return counted(put_until(deadline())("history", value)); }
  DcsStatus write_status(const nlohmann::json& status) override;
  DcsStatus write_failsafe(const nlohmann::json& failsafe) override;
  DcsStatus delete_cluster() override { return counted(delete_cluster_impl()); }

  // A long poll on the leader key from the caller's version (the etcd index after its read, as
  // Patroni computes it), so that a change since that read ends it at once. Without a leader
  // version it first reads the leader key. etcd unreachable: a timed wait that wakeup() ends.
  WatchOutcome watch(std::optional<Version> leader_version, std::chrono::milliseconds timeout) override
      EXCLUDES(event_mu_);
  void wakeup() override EXCLUDES(event_mu_);

  std::optional<LeaseInfo> lease_info() const override EXCLUDES(state_mu_);
  void set_timing(const DcsTiming& timing) override EXCLUDES(state_mu_);
  DcsTiming timing() const override EXCLUDES(state_mu_);
  DcsStats stats() const override;

  const etcd_common::EtcdSettings& settings() const { return settings_; }

 private:
  std::string key(const std::string& relative) const { return settings_.client_path() + relative; }
  Deadline deadline() const { return client_->deadline_from_now(); }
  int ttl() const EXCLUDES(state_mu_);

  DcsResult<Cluster> read_cluster();
  DcsResult<Cluster> read_coordinator();
  DcsResult<Cluster> read_prefix(const std::string& prefix, bool citus_coordinator, RawNodes* nodes_out);
  bool released() const EXCLUDES(state_mu_);
  StatusPublisher::Put put_until(Deadline d);
  Etcd2Result<Etcd2Reply> write_leader(const std::pair<std::string, std::string>& condition, Deadline d)
      EXCLUDES(state_mu_);
  DcsStatus acquire_impl(Deadline d) EXCLUDES(state_mu_);
  DcsStatus update_leader_impl(const LeaderRefresh& refresh) EXCLUDES(state_mu_);
  DcsStatus delete_leader_impl(std::optional<int64_t> last_lsn) EXCLUDES(state_mu_);
  DcsStatus take_leader_impl() EXCLUDES(state_mu_);
  DcsStatus initialize_impl(bool create_new, const std::string& sysid);
  DcsStatus touch_member_impl(const nlohmann::json& data);
  DcsResult<Version> cas_put(const std::string& relative, const std::string& value, std::optional<Version> version,
                             Deadline d);
  DcsStatus remove(const std::string& relative, const Params& params);
  DcsStatus delete_cluster_impl();
  // Notes a successful write of the leader key that started at `started`.
  void leader_written(Clock::time_point started) EXCLUDES(state_mu_);

  template <class R>
  R counted(R result) {
    if (!result && result.error().is(DcsErrorKind::kMalformedReply))
      malformed_replies_.fetch_add(1, std::memory_order_relaxed);
    return result;
  }

  const etcd_common::EtcdSettings settings_;
  const std::string base_path_;
  std::unique_ptr<Etcd2Client> client_;
  StatusPublisher status_;

  mutable Mutex state_mu_;
  DcsTiming timing_ GUARDED_BY(state_mu_);
  // We deleted the leader key ourselves (or found it gone when releasing) and have not written
  // it since: update_leader must not re-create it (the HA cycle calling it may have read the key
  // before the delete). Only a read that started after the release ends it.
  bool leader_released_ GUARDED_BY(state_mu_) = false;
  Clock::time_point released_at_ GUARDED_BY(state_mu_) = {};
  // When our last successful write of the leader key started, and the ttl it was written with.
  std::optional<LeaseInfo> lease_ GUARDED_BY(state_mu_);

  mutable Mutex event_mu_;
  CondVar event_cv_;
  bool woken_ GUARDED_BY(event_mu_) = false;     // sticky until a watch() reports it
  bool watching_ GUARDED_BY(event_mu_) = false;  // a long poll runs with canceller_
  net::StreamCanceller canceller_;

  std::atomic<uint64_t> malformed_replies_{0};
};

}  // namespace custos::dcs::etcd2
