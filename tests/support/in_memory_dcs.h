// An in-memory DCS for executor and loop tests: InMemoryStore holds the keys of one cluster
// (value, version, TTL on the test's Clock, owner) and InMemoryDcs is one member's view of it,
// implementing the whole dcs::Dcs contract (leader lock CAS, TTL-bound member keys, CAS writes,
// sticky wakeup, watch honouring the leader version). Keys expire when their TTL passes on the
// clock, so a SimClock makes leases run out exactly when a test advances time.
//
// Faults: a test installs a function consulted by every operation; it may return an error (the
// operation then fails with it) or throw (the operation throws: an unexpected failure).
//
// Thread: any (one mutex).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/thread_annotations.h"
#include "dcs/dcs.h"

namespace custos::test {

class InMemoryStore {
 public:
  explicit InMemoryStore(Clock& clock) : clock_(clock) {}

  // (member, operation) -> an error to return, or nullopt to go on; may throw.
  using Fault = std::function<std::optional<dcs::DcsError>(const std::string& member, const std::string& op)>;
  void set_fault(Fault fault) EXCLUDES(mu_);

  // The raw value of a key (relative to the cluster), nullopt when absent or expired.
  std::optional<std::string> get(const std::string& key) EXCLUDES(mu_);
  // Writes a key as another writer would (no TTL).
  void put(const std::string& key, const std::string& value) EXCLUDES(mu_);
  void erase(const std::string& key) EXCLUDES(mu_);
  // Every operation performed so far, as "member:op".
  std::vector<std::string> log() const EXCLUDES(mu_);
  Clock& clock() { return clock_; }

 private:
  friend class InMemoryDcs;
  struct Entry {
    std::string value;
    dcs::Version version = 0;
    std::optional<MonoTime> expires;
    std::string owner;  // member that bound it to its TTL
  };
  // Removes expired keys; returns whether the leader key expired.
  bool purge() REQUIRES(mu_);
  dcs::Version put_locked(const std::string& key, const std::string& value, std::optional<int> ttl,
                          const std::string& owner) REQUIRES(mu_);
  std::optional<dcs::DcsError> check(const std::string& member, const std::string& op) EXCLUDES(mu_);

  Clock& clock_;
  mutable Mutex mu_;
  CondVar changed_;
  std::map<std::string, Entry> keys_ GUARDED_BY(mu_);
  dcs::Version next_version_ GUARDED_BY(mu_) = 1;
  Fault fault_ GUARDED_BY(mu_);
  std::vector<std::string> log_ GUARDED_BY(mu_);
};

class InMemoryDcs final : public dcs::Dcs {
 public:
  InMemoryDcs(InMemoryStore& store, std::string member, dcs::DcsTiming timing = {});

  const std::string& member_name() const override { return member_; }
  const std::string& base_path() const override { return base_path_; }
  dcs::DcsResult<dcs::Cluster> get_cluster() override;
  // A Citus worker's view of its coordinator: what set_mpp_coordinator() gave (an error before).
  dcs::DcsResult<dcs::Cluster> get_mpp_coordinator() override;
  void set_mpp_coordinator(dcs::Cluster coordinator);
  dcs::DcsStatus attempt_to_acquire_leader() override;
  dcs::DcsStatus update_leader(const dcs::LeaderRefresh& refresh) override;
  dcs::DcsStatus delete_leader(std::optional<int64_t> last_lsn) override;
  dcs::DcsStatus take_leader() override;
  dcs::DcsStatus initialize(bool create_new, const std::string& sysid) override;
  dcs::DcsStatus cancel_initialization() override;
  dcs::DcsStatus touch_member(const nlohmann::json& data) override;
  dcs::DcsResult<dcs::Version> set_config_value(const std::string& value, std::optional<dcs::Version> version) override;
  dcs::DcsResult<dcs::Version> set_failover_value(const std::string& value, std::optional<dcs::Version> version) override;
  dcs::DcsResult<dcs::Version> set_sync_state_value(const std::string& value, std::optional<dcs::Version> version) override;
  dcs::DcsStatus delete_sync_state(std::optional<dcs::Version> version) override;
  dcs::DcsStatus set_history_value(const std::string& value) override;
  dcs::DcsStatus write_status(const nlohmann::json& status) override;
  dcs::DcsStatus write_failsafe(const nlohmann::json& failsafe) override;
  dcs::DcsStatus delete_cluster() override;
  dcs::WatchOutcome watch(std::optional<dcs::Version> leader_version, std::chrono::milliseconds timeout) override;
  void wakeup() override;
  void set_timing(const dcs::DcsTiming& timing) override;
  dcs::DcsTiming timing() const override;
  dcs::DcsStats stats() const override { return {}; }

  int watches() const;

 private:
  mutable Mutex coordinator_mu_;
  std::optional<dcs::Cluster> coordinator_ GUARDED_BY(coordinator_mu_);
  dcs::DcsResult<dcs::Version> cas(const std::string& op, const std::string& key, const std::string& value,
                                   std::optional<dcs::Version> version);

  InMemoryStore& store_;
  const std::string member_;
  const std::string base_path_ = "/service/sim/";
  mutable std::mutex mu_;
  dcs::DcsTiming timing_;
  bool woken_ = false;
  int watches_ = 0;
};

}  // namespace custos::test
