// The etcd v3 Dcs backend (dcs.md §5 "Key operations"), wire-compatible with Patroni's etcd3.
//
//   auto dcs = custos::dcs::etcd3::Etcd3Dcs::from_config(patroni_config_json);
//   if (!dcs) { /* dcs.error(): what is wrong in the configuration */ }
//   (*dcs)->touch_member(...); auto cluster = (*dcs)->get_cluster();
//
// One lease per agent (TTL = ttl) binds `leader` and `members/<name>`. Every call returns within
// retry_timeout. Thread-safe. In daemon mode a background watcher wakes watch() when the leader
// key (or config, or status while not leader) changes. Reads go to etcd (one prefix range per
// get_cluster), serializable in daemon mode, linearizable in ctl mode.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "dcs/dcs.h"
#include "dcs/etcd3/client.h"
#include "dcs/etcd3/settings.h"

namespace custos::dcs::etcd3 {

class Watcher;

class Etcd3Dcs : public Dcs {
 public:
  // Builds the backend from the whole Patroni configuration (see Etcd3Settings). Does not
  // contact etcd: the lease is granted by the first call that needs it.
  static Result<std::unique_ptr<Etcd3Dcs>, std::string> from_config(const nlohmann::json& patroni_config);

  explicit Etcd3Dcs(Etcd3Settings settings);
  ~Etcd3Dcs() override;

  const std::string& member_name() const override { return settings_.name; }
  const std::string& base_path() const override { return base_path_; }

  DcsResult<Cluster> get_cluster() override { return read_cluster(true); }
  DcsResult<Cluster> get_cluster_fresh() override { return read_cluster(false); }
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
  WatchOutcome watch(std::optional<Version> leader_version, std::chrono::milliseconds timeout) override;
  void wakeup() override;
  void set_timing(const DcsTiming& timing) override;
  DcsTiming timing() const override;

  // ---- etcd3 specifics ----
  // Grants the lease now if we hold none (keepalive otherwise), within retry_timeout.
  DcsStatus refresh_lease(bool force = false);
  // Our current lease ID (decimal), if any.
  std::optional<std::string> lease_id() const;
  // Revokes our lease: etcd deletes every key bound to it (leader, member) at once.
  DcsStatus revoke_lease();
  // Reads linearizably (custosctl) instead of serializably.
  void set_linearizable_reads(bool on) { linearizable_reads_ = on; }
  // True once the background watch stream is established (always false in ctl mode).
  bool wait_watch_ready(std::chrono::milliseconds timeout) const;
  const Etcd3Settings& settings() const { return settings_; }
  Etcd3Client& client() { return *client_; }

 private:
  std::string key(const std::string& relative) const { return settings_.client_path() + relative; }
  Deadline deadline() const { return client_->deadline_from_now(); }
  // The lease to bind keys to (keepalive at most once per loop_wait unless forced).
  EtcdResult<std::string> ensure_lease(bool force, Deadline deadline);
  void drop_lease(const std::string& id);
  DcsResult<Version> cas_put(const std::string& relative, const std::string& value, std::optional<Version> version);
  DcsStatus plain_put(const std::string& relative, const std::string& value);
  DcsResult<Cluster> read_cluster(bool use_cache);
  void note_write(const std::string& absolute_key, std::optional<std::string> value, int64_t revision,
                  const std::string& lease = {});
  void signal_change();

  const Etcd3Settings settings_;
  const std::string base_path_;
  std::unique_ptr<Etcd3Client> client_;
  std::atomic<bool> linearizable_reads_;

  // Lease: lease_op_mu_ serializes grant/keepalive; lease_mu_ guards the fields.
  std::mutex lease_op_mu_;
  mutable std::mutex lease_mu_;
  std::optional<std::string> lease_;
  Clock::time_point last_lease_refresh_{};
  DcsTiming timing_;

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
    std::optional<nlohmann::json> last_status;
    std::optional<nlohmann::json> last_failsafe;
    bool legacy_optime = false;  // some member runs Patroni < 2.1.0: also write optime/leader
    std::optional<int64_t> last_optime_written;
  };
  mutable std::mutex view_mu_;
  View view_;

  // watch()/wakeup().
  mutable std::mutex event_mu_;
  std::condition_variable event_cv_;
  bool changed_ = false;
  bool woken_ = false;
  bool do_not_watch_ = false;

  std::unique_ptr<Watcher> watcher_;
};

}  // namespace custos::dcs::etcd3
