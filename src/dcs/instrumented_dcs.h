// InstrumentedDcs: a Dcs that forwards every call to another one and records, in a
// MetricsRegistry, how long each request took (custos_dcs_request_duration_seconds, by
// operation) and how it failed (custos_dcs_request_errors_total, by operation and error kind).
// watch() and wakeup() are forwarded unmeasured (a watch waits on purpose). Same contract as
// the wrapped Dcs (thread-safe, bounded by its retry_timeout); `inner` and `metrics` outlive it.
#pragma once

#include "common/metrics_registry.h"
#include "dcs/dcs.h"

namespace custos::dcs {

class InstrumentedDcs final : public Dcs {
 public:
  InstrumentedDcs(Dcs& inner, MetricsRegistry& metrics);

  const std::string& member_name() const override { return inner_.member_name(); }
  const std::string& base_path() const override { return inner_.base_path(); }
  DcsResult<Cluster> get_cluster() override;
  DcsResult<Cluster> get_cluster_fresh() override;
  DcsResult<Cluster> get_mpp_coordinator() override;
  DcsStatus attempt_to_acquire_leader() override;
  DcsStatus update_leader(const LeaderRefresh& refresh) override;
  DcsStatus delete_leader(std::optional<int64_t> last_lsn) override;
  DcsStatus take_leader() override;
  DcsStatus initialize(bool create_new, const std::string& sysid) override;
  DcsStatus cancel_initialization() override;
  DcsStatus touch_member(const nlohmann::json& data) override;
  DcsResult<Version> set_config_value(const std::string& value, std::optional<Version> version) override;
  DcsResult<Version> set_failover_value(const std::string& value, std::optional<Version> version) override;
  DcsResult<Version> set_sync_state_value(const std::string& value, std::optional<Version> version) override;
  DcsStatus delete_sync_state(std::optional<Version> version) override;
  DcsStatus set_history_value(const std::string& value) override;
  DcsStatus write_status(const nlohmann::json& status) override;
  DcsStatus write_failsafe(const nlohmann::json& failsafe) override;
  DcsStatus delete_cluster() override;
  WatchOutcome watch(std::optional<Version> leader_version, std::chrono::milliseconds timeout) override {
    return inner_.watch(leader_version, timeout);
  }
  void wakeup() override { inner_.wakeup(); }
  void set_wake_listener(std::function<void()> listener) override { inner_.set_wake_listener(std::move(listener)); }
  std::optional<LeaseInfo> lease_info() const override { return inner_.lease_info(); }
  void set_timing(const DcsTiming& timing) override { inner_.set_timing(timing); }
  DcsTiming timing() const override { return inner_.timing(); }
  DcsStats stats() const override { return inner_.stats(); }

 private:
  template <class Call>
  auto measured(const char* operation, Call&& call);

  Dcs& inner_;
  MetricsRegistry& metrics_;
};

}  // namespace custos::dcs
