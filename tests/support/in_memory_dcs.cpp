#include "in_memory_dcs.h"

namespace custos::test {

using dcs::DcsErrorKind;

void InMemoryStore::set_fault(Fault fault) {
  MutexLock lk(mu_);
  fault_ = std::move(fault);
}

std::optional<dcs::DcsError> InMemoryStore::check(const std::string& member, const std::string& op) {
  Fault f;
  {
    MutexLock lk(mu_);
    log_.push_back(member + ":" + op);
    f = fault_;
  }
  if (!f) return std::nullopt;
  return f(member, op);  // may throw
}

bool InMemoryStore::purge() {
  const MonoTime now = clock_.now();
  bool leader_expired = false;
  for (auto it = keys_.begin(); it != keys_.end();) {
    if (it->second.expires && *it->second.expires <= now) {
      if (it->first == "leader") leader_expired = true;
      it = keys_.erase(it);
    } else {
      ++it;
    }
  }
  return leader_expired;
}

dcs::Version InMemoryStore::put_locked(const std::string& key, const std::string& value, std::optional<int> ttl,
                                       const std::string& owner) {
  Entry& e = keys_[key];
  e.value = value;
  e.version = next_version_++;
  e.expires = ttl ? std::optional<MonoTime>(clock_.now() + std::chrono::seconds(*ttl)) : std::nullopt;
  e.owner = owner;
  changed_.notify_all();
  return e.version;
}

std::optional<std::string> InMemoryStore::get(const std::string& key) {
  MutexLock lk(mu_);
  purge();
  auto it = keys_.find(key);
  if (it == keys_.end()) return std::nullopt;
  return it->second.value;
}

void InMemoryStore::put(const std::string& key, const std::string& value) {
  MutexLock lk(mu_);
  put_locked(key, value, std::nullopt, "");
}

void InMemoryStore::erase(const std::string& key) {
  MutexLock lk(mu_);
  keys_.erase(key);
  changed_.notify_all();
}

std::vector<std::string> InMemoryStore::log() const {
  MutexLock lk(mu_);
  return log_;
}

// ---- one member's view --------------------------------------------------------------------------

InMemoryDcs::InMemoryDcs(InMemoryStore& store, std::string member, dcs::DcsTiming timing)
    : store_(store), member_(std::move(member)), timing_(timing) {}

#define CUSTOS_FAULT(op)                                          \
  if (auto fault = store_.check(member_, op)) return dcs::DcsStatus(Err<dcs::DcsError>{*fault});

dcs::DcsResult<dcs::Cluster> InMemoryDcs::get_cluster() {
  if (auto fault = store_.check(member_, "get_cluster")) return Err<dcs::DcsError>{*fault};
  dcs::RawNodes nodes;
  {
    MutexLock lk(store_.mu_);
    store_.purge();
    for (const auto& [key, e] : store_.keys_) {
      dcs::RawNode n;
      n.key = key;
      n.value = e.value;
      n.version = e.version;
      n.modify_version = e.version;
      if (!e.owner.empty()) n.session = e.owner;
      nodes.push_back(std::move(n));
    }
  }
  return dcs::Cluster::from_nodes(nodes);
}

dcs::DcsResult<dcs::Cluster> InMemoryDcs::get_mpp_coordinator() {
  MutexLock lk(coordinator_mu_);
  if (!coordinator_) return dcs::dcs_error(DcsErrorKind::kUnreachable, "no coordinator set by the test");
  return *coordinator_;
}

void InMemoryDcs::set_mpp_coordinator(dcs::Cluster coordinator) {
  MutexLock lk(coordinator_mu_);
  coordinator_ = std::move(coordinator);
}

dcs::DcsStatus InMemoryDcs::attempt_to_acquire_leader() {
  CUSTOS_FAULT("attempt_to_acquire_leader");
  const int ttl = timing().ttl;
  MutexLock lk(store_.mu_);
  store_.purge();
  if (store_.keys_.count("leader")) return dcs::dcs_error(DcsErrorKind::kLockOwnedByOther, "leader key exists");
  store_.put_locked("leader", member_, ttl, member_);
  return Unit{};
}

dcs::DcsStatus InMemoryDcs::update_leader(const dcs::LeaderRefresh& refresh) {
  CUSTOS_FAULT("update_leader");
  const int ttl = timing().ttl;
  MutexLock lk(store_.mu_);
  store_.purge();
  auto it = store_.keys_.find("leader");
  if (it == store_.keys_.end() || it->second.value != member_)
    return dcs::dcs_error(DcsErrorKind::kLockOwnedByOther, "the leader key is not ours");
  store_.put_locked("leader", member_, ttl, member_);
  if (refresh.last_lsn)
    store_.put_locked("status",
                      dcs::ClusterStatus::value_of(*refresh.last_lsn, refresh.slots, refresh.retain_slots).dump(),
                      std::nullopt, "");
  if (refresh.failsafe) store_.put_locked("failsafe", refresh.failsafe->dump(), std::nullopt, "");
  return Unit{};
}

dcs::DcsStatus InMemoryDcs::delete_leader(std::optional<int64_t> last_lsn) {
  CUSTOS_FAULT("delete_leader");
  MutexLock lk(store_.mu_);
  store_.purge();
  if (last_lsn) store_.put_locked("status", nlohmann::json{{"optime", *last_lsn}}.dump(), std::nullopt, "");
  auto it = store_.keys_.find("leader");
  if (it != store_.keys_.end() && it->second.value == member_) {
    store_.keys_.erase(it);
    store_.changed_.notify_all();
  }
  return Unit{};
}

dcs::DcsStatus InMemoryDcs::take_leader() {
  CUSTOS_FAULT("take_leader");
  const int ttl = timing().ttl;
  MutexLock lk(store_.mu_);
  store_.put_locked("leader", member_, ttl, member_);
  return Unit{};
}

dcs::DcsStatus InMemoryDcs::initialize(bool create_new, const std::string& sysid) {
  CUSTOS_FAULT("initialize");
  MutexLock lk(store_.mu_);
  if (create_new && store_.keys_.count("initialize")) return dcs::dcs_error(DcsErrorKind::kCasConflict, "exists");
  store_.put_locked("initialize", sysid, std::nullopt, "");
  return Unit{};
}

dcs::DcsStatus InMemoryDcs::cancel_initialization() {
  CUSTOS_FAULT("cancel_initialization");
  MutexLock lk(store_.mu_);
  store_.keys_.erase("initialize");
  return Unit{};
}

dcs::DcsStatus InMemoryDcs::touch_member(const nlohmann::json& data) {
  CUSTOS_FAULT("touch_member");
  const int ttl = timing().ttl;
  MutexLock lk(store_.mu_);
  store_.put_locked("members/" + member_, data.dump(), ttl, member_);
  return Unit{};
}

dcs::DcsResult<dcs::Version> InMemoryDcs::cas(const std::string& op, const std::string& key,
                                              const std::string& value, std::optional<dcs::Version> version) {
  if (auto fault = store_.check(member_, op)) return Err<dcs::DcsError>{*fault};
  MutexLock lk(store_.mu_);
  store_.purge();
  auto it = store_.keys_.find(key);
  if (version && (it == store_.keys_.end() || it->second.version != *version))
    return dcs::dcs_error(DcsErrorKind::kCasConflict, key + " changed");
  return store_.put_locked(key, value, std::nullopt, "");
}

dcs::DcsResult<dcs::Version> InMemoryDcs::set_config_value(const std::string& v, std::optional<dcs::Version> ver) {
  return cas("set_config_value", "config", v, ver);
}
dcs::DcsResult<dcs::Version> InMemoryDcs::set_failover_value(const std::string& v, std::optional<dcs::Version> ver) {
  return cas("set_failover_value", "failover", v, ver);
}
dcs::DcsResult<dcs::Version> InMemoryDcs::set_sync_state_value(const std::string& v, std::optional<dcs::Version> ver) {
  return cas("set_sync_state_value", "sync", v, ver);
}

dcs::DcsStatus InMemoryDcs::delete_sync_state(std::optional<dcs::Version> version) {
  CUSTOS_FAULT("delete_sync_state");
  MutexLock lk(store_.mu_);
  auto it = store_.keys_.find("sync");
  if (it == store_.keys_.end()) return Unit{};
  if (version && it->second.version != *version) return dcs::dcs_error(DcsErrorKind::kCasConflict, "sync changed");
  store_.keys_.erase(it);
  return Unit{};
}

dcs::DcsStatus InMemoryDcs::set_history_value(const std::string& value) {
  CUSTOS_FAULT("set_history_value");
  MutexLock lk(store_.mu_);
  store_.put_locked("history", value, std::nullopt, "");
  return Unit{};
}

dcs::DcsStatus InMemoryDcs::write_status(const nlohmann::json& status) {
  CUSTOS_FAULT("write_status");
  MutexLock lk(store_.mu_);
  store_.put_locked("status", status.dump(), std::nullopt, "");
  return Unit{};
}

dcs::DcsStatus InMemoryDcs::write_failsafe(const nlohmann::json& failsafe) {
  CUSTOS_FAULT("write_failsafe");
  MutexLock lk(store_.mu_);
  store_.put_locked("failsafe", failsafe.dump(), std::nullopt, "");
  return Unit{};
}

dcs::DcsStatus InMemoryDcs::delete_cluster() {
  CUSTOS_FAULT("delete_cluster");
  MutexLock lk(store_.mu_);
  store_.keys_.clear();
  return Unit{};
}

dcs::WatchOutcome InMemoryDcs::watch(std::optional<dcs::Version> leader_version, std::chrono::milliseconds timeout) {
  {
    std::lock_guard lk(mu_);
    ++watches_;
    if (woken_) {
      woken_ = false;
      return dcs::WatchOutcome::kWokenUp;
    }
  }
  const MonoTime deadline = store_.clock().now() + timeout;
  MutexLock lk(store_.mu_);
  while (true) {
    store_.purge();
    auto it = store_.keys_.find("leader");
    const std::optional<dcs::Version> current =
        it == store_.keys_.end() ? std::nullopt : std::optional<dcs::Version>(it->second.version);
    if (current != leader_version) return dcs::WatchOutcome::kChanged;
    {
      std::lock_guard wl(mu_);
      if (woken_) {
        woken_ = false;
        return dcs::WatchOutcome::kWokenUp;
      }
    }
    if (store_.clock().now() >= deadline) return dcs::WatchOutcome::kTimeout;
    // The leader lease running out is a change too: wait no longer than its expiry.
    MonoTime until = deadline;
    if (it != store_.keys_.end() && it->second.expires && *it->second.expires < until) until = *it->second.expires;
    store_.clock().wait_until(store_.changed_, store_.mu_, until);
  }
}

void InMemoryDcs::wakeup() {
  {
    std::lock_guard lk(mu_);
    woken_ = true;
  }
  MutexLock lk(store_.mu_);
  store_.changed_.notify_all();
}

void InMemoryDcs::set_timing(const dcs::DcsTiming& timing) {
  std::lock_guard lk(mu_);
  timing_ = timing;
}

dcs::DcsTiming InMemoryDcs::timing() const {
  std::lock_guard lk(mu_);
  return timing_;
}

int InMemoryDcs::watches() const {
  std::lock_guard lk(mu_);
  return watches_;
}

}  // namespace custos::test
