#include "dcs/etcd/etcd2_dcs.h"

#include <spdlog/spdlog.h>

#include "dcs/cluster_read.h"

namespace custos::dcs::etcd2 {

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

Err<DcsError> err(const Etcd2Error& e) { return Err<DcsError>{e.to_dcs()}; }

// A Citus group name: ^(0|[1-9][0-9]*)$ (spec/dcs.md §1).
bool is_group(const std::string& s) {
  if (s.empty() || s.size() > 7 || (s.size() > 1 && s[0] == '0')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A leader key of the read: "leader", or "<group>/leader" on a Citus coordinator.
bool is_leader_key(const std::string& rel, bool citus_coordinator) {
  if (rel == "leader") return true;
  if (!citus_coordinator) return false;
  const auto slash = rel.find('/');
  return slash != std::string::npos && rel.substr(slash) == "/leader" && is_group(rel.substr(0, slash));
}

// Every file under `node`, relative to `prefix` (directories only hold files here).
void flatten(const Etcd2Node& node, const std::string& prefix, RawNodes& out) {
  if (node.dir) {
    for (const auto& child : node.nodes) flatten(child, prefix, out);
    return;
  }
  if (node.key.size() <= prefix.size() || node.key.compare(0, prefix.size(), prefix) != 0) return;
  RawNode n;
  n.key = node.key.substr(prefix.size());
  n.value = node.value;
  n.version = node.modified_index;
  n.modify_version = node.modified_index;
  out.push_back(std::move(n));
}

}  // namespace

Result<std::unique_ptr<Etcd2Dcs>, std::string> Etcd2Dcs::from_config(const json& patroni_config) {
  auto s = etcd_common::EtcdSettings::from_patroni_config(patroni_config, "etcd");
  if (!s) return Err<std::string>{s.error()};
  return std::make_unique<Etcd2Dcs>(std::move(s).value());
}

Etcd2Dcs::Etcd2Dcs(etcd_common::EtcdSettings settings)
    : settings_(std::move(settings)),
      base_path_(settings_.base_path()),
      client_(std::make_unique<Etcd2Client>(settings_)),
      timing_(settings_.timing) {}

Etcd2Dcs::~Etcd2Dcs() = default;

int Etcd2Dcs::ttl() const {
  MutexLock lock(state_mu_);
  return timing_.ttl;
}

// ---- reads ------------------------------------------------------------------------------------

DcsResult<Cluster> Etcd2Dcs::read_prefix(const std::string& prefix, bool citus_coordinator, RawNodes* nodes_out) {
  Params params = {{"recursive", "true"}};
  if (settings_.ctl || settings_.linearizable_reads) params.emplace_back("quorum", "true");
  auto r = client_->call("GET", prefix, params, deadline());
  RawNodes nodes;
  if (!r) {
    if (!r.error().is(code::kKeyNotFound)) return err(r.error());  // 404: nothing there yet
  } else if (r->node) {
    // etcd's keys carry no trailing '/'; the prefix does.
    flatten(*r->node, prefix, nodes);
    // The leader's version is where a watch of it starts (Patroni's rule): the etcd index of
    // this read, or just past the key's own modification when the read came from before it.
    for (auto& n : nodes) {
      if (!is_leader_key(n.key, citus_coordinator)) continue;
      n.version = r->etcd_index > n.modify_version ? r->etcd_index : n.modify_version + 1;
    }
  }
  auto cluster = cluster_from_read(nodes, prefix, citus_coordinator);
  if (!cluster) spdlog::error("etcd: {}", cluster.error().message);
  if (nodes_out) *nodes_out = std::move(nodes);
  return cluster;
}

DcsResult<Cluster> Etcd2Dcs::read_coordinator() {
  return read_prefix(settings_.base_path() + "0/", false, nullptr);
}

DcsResult<Cluster> Etcd2Dcs::read_cluster() {
  const auto started = Clock::now();
  RawNodes nodes;
  auto cluster = read_prefix(settings_.cluster_prefix(), settings_.is_citus_coordinator(), &nodes);
  if (!cluster) return cluster;
  const std::string own = settings_.is_citus_coordinator() ? "0/" : "";
  status_.observe(nodes, own, *cluster);
  bool leader_held = false;
  for (const auto& n : nodes)
    if (n.key == own + "leader") leader_held = true;
  if (leader_held) {
    // A read that started after our release and shows the key held ends "released": whoever
    // holds it, the next refresh compares values again.
    MutexLock lock(state_mu_);
    if (started > released_at_) leader_released_ = false;
  }
  return cluster;
}

// ---- leader lock ------------------------------------------------------------------------------

void Etcd2Dcs::leader_written(Clock::time_point started) {
  MutexLock lock(state_mu_);
  leader_released_ = false;
  lease_ = LeaseInfo{started, timing_.ttl};
}

bool Etcd2Dcs::released() const {
  MutexLock lock(state_mu_);
  return leader_released_;
}

StatusPublisher::Put Etcd2Dcs::put_until(Deadline d) {
  return [this, d](const std::string& k, const std::string& v) -> DcsStatus {
    auto r = cas_put(k, v, std::nullopt, d);
    if (!r) return Err<DcsError>{r.error()};
    return Unit{};
  };
}

// PUT leader value=<name> ttl=<ttl> with `condition` (prevExist=false or prevValue=<name>).
Etcd2Result<Etcd2Reply> Etcd2Dcs::write_leader(const std::pair<std::string, std::string>& condition, Deadline d) {
  const auto started = Clock::now();
  Params params = {{"value", settings_.name}, {"ttl", std::to_string(ttl())}};
  if (!condition.first.empty()) params.push_back(condition);
  auto r = client_->call("PUT", key("leader"), params, d);
  if (r) leader_written(started);
  return r;
}

DcsStatus Etcd2Dcs::acquire_impl(Deadline d) {
  auto r = write_leader({"prevExist", "false"}, d);
  if (r) return Unit{};
  if (!r.error().is(code::kNodeExist)) return err(r.error());
  // Held. By us when a retried request's first attempt went through, or by an earlier run of
  // ours: then it is ours, refreshed so that its TTL (the fence's length) starts now.
  auto refreshed = write_leader({"prevValue", settings_.name}, d);
  if (refreshed) return Unit{};
  if (!refreshed.error().is(code::kTestFailed) && !refreshed.error().is(code::kKeyNotFound))
    return err(refreshed.error());
  spdlog::info("etcd: could not take out TTL lock");
  return dcs_error(DcsErrorKind::kLockOwnedByOther, "the leader key holds another member's name");
}

DcsStatus Etcd2Dcs::update_leader_impl(const LeaderRefresh& refresh) {
  // A key we released ourselves (graceful demote in the background) stays released.
  if (released())
    return dcs_error(DcsErrorKind::kLockOwnedByOther, "the leader key was released by this member; not re-created");
  const auto d = deadline();
  auto r = write_leader({"prevValue", settings_.name}, d);
  if (!r) {
    if (r.error().is(code::kKeyNotFound)) {
      // Expired while we were away: take it again if nobody else did (Patroni's rule), unless
      // we released it meanwhile.
      if (released())
        return dcs_error(DcsErrorKind::kLockOwnedByOther, "the leader key was released by this member; not re-created");
      if (auto a = acquire_impl(d); !a) return a;
    } else if (r.error().is(code::kTestFailed)) {
      return dcs_error(DcsErrorKind::kLockOwnedByOther, "the leader key holds another member's name");
    } else {
      return err(r.error());
    }
  }
  status_.publish(refresh, put_until(d), "etcd");
  return Unit{};
}

DcsStatus Etcd2Dcs::delete_leader_impl(std::optional<int64_t> last_lsn) {
  const auto d = deadline();
  if (last_lsn) {
    if (auto s = status_.write_status(json{{"optime", *last_lsn}}, put_until(d)); !s)
      spdlog::warn("etcd: writing status failed: {}", s.error().describe());
  }
  auto r = client_->call("DELETE", key("leader"), {{"prevValue", settings_.name}}, d);
  if (!r) {
    if (r.error().is(code::kTestFailed))
      return dcs_error(DcsErrorKind::kLockOwnedByOther, "leader key holds another member's name, not deleted");
    if (!r.error().is(code::kKeyNotFound)) return err(r.error());
  }
  MutexLock lock(state_mu_);
  leader_released_ = true;  // also when it was gone already: we meant to let it go
  released_at_ = Clock::now();
  lease_.reset();
  return Unit{};
}

DcsStatus Etcd2Dcs::take_leader_impl() {
  auto r = write_leader({}, deadline());
  if (!r) return err(r.error());
  return Unit{};
}

std::optional<LeaseInfo> Etcd2Dcs::lease_info() const {
  MutexLock lock(state_mu_);
  return lease_;
}

// ---- other keys -------------------------------------------------------------------------------

DcsStatus Etcd2Dcs::initialize_impl(bool create_new, const std::string& sysid) {
  auto r = client_->call("PUT", key("initialize"), {{"value", sysid}, {"prevExist", create_new ? "false" : "true"}},
                         deadline());
  if (r) return Unit{};
  if (r.error().is(code::kNodeExist)) return dcs_error(DcsErrorKind::kCasConflict, "initialize key already exists");
  if (r.error().is(code::kKeyNotFound)) return dcs_error(DcsErrorKind::kCasConflict, "initialize key does not exist");
  return err(r.error());
}

DcsStatus Etcd2Dcs::touch_member_impl(const json& data) {
  // Written every cycle: the TTL of the key is what keeps it alive.
  auto r = client_->call("PUT", key("members/" + settings_.name),
                         {{"value", data.dump()}, {"ttl", std::to_string(ttl())}}, deadline());
  if (!r) return err(r.error());
  return Unit{};
}

DcsResult<Version> Etcd2Dcs::cas_put(const std::string& relative, const std::string& value,
                                     std::optional<Version> version, Deadline d) {
  Params params = {{"value", value}};
  if (version) params.emplace_back("prevIndex", std::to_string(*version));
  auto r = client_->call("PUT", key(relative), params, d);
  if (!r) {
    if (version && (r.error().is(code::kTestFailed) || r.error().is(code::kKeyNotFound)))
      return dcs_error(DcsErrorKind::kCasConflict, relative + " changed since version " + std::to_string(*version));
    return err(r.error());
  }
  if (!r->node) return dcs_error(DcsErrorKind::kMalformedReply, "etcd: no node in the reply to a write of " + relative);
  return r->node->modified_index;
}

DcsStatus Etcd2Dcs::remove(const std::string& relative, const Params& params) {
  auto r = client_->call("DELETE", key(relative), params, deadline());
  if (r || r.error().is(code::kKeyNotFound)) return Unit{};
  return err(r.error());
}

DcsStatus Etcd2Dcs::delete_sync_state(std::optional<Version> version) {
  if (!version) return counted(remove("sync", {}));
  auto r = client_->call("DELETE", key("sync"), {{"prevIndex", std::to_string(*version)}}, deadline());
  if (r) return Unit{};
  if (r.error().is(code::kTestFailed) || r.error().is(code::kKeyNotFound))
    return dcs_error(DcsErrorKind::kCasConflict, "sync changed since version " + std::to_string(*version));
  return counted(DcsStatus(err(r.error())));
}

DcsStatus Etcd2Dcs::write_status(const json& status) {
  return counted(status_.write_status(status, put_until(deadline())));
}

DcsStatus Etcd2Dcs::write_failsafe(const json& failsafe) {
  return counted(status_.write_failsafe(failsafe, put_until(deadline())));
}

DcsStatus Etcd2Dcs::delete_cluster_impl() {
  std::string dir = settings_.client_path();
  if (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  auto r = client_->call("DELETE", dir, {{"recursive", "true"}, {"dir", "true"}}, deadline());
  if (!r && !r.error().is(code::kKeyNotFound)) return err(r.error());
  status_.forget();
  return Unit{};
}

// ---- watch ------------------------------------------------------------------------------------

WatchOutcome Etcd2Dcs::watch(std::optional<Version> leader_version, std::chrono::milliseconds timeout) {
  {
    MutexLock lock(event_mu_);
    if (woken_) {
      woken_ = false;
      return WatchOutcome::kWokenUp;
    }
  }
  // Like Patroni: non-leaders get a bit more time so that the members' loops drift apart.
  if (leader_version) timeout += 500ms;
  const auto deadline = Clock::now() + timeout;
  // Waits until the deadline or a wakeup(), whichever comes first (etcd unreachable).
  auto idle_until = [&](Clock::time_point until) {
    MutexLock lock(event_mu_);
    while (!woken_) {
      if (!event_cv_.wait_until(event_mu_, until)) break;
    }
    const bool w = woken_;
    woken_ = false;
    return w ? WatchOutcome::kWokenUp : WatchOutcome::kTimeout;
  };
  std::optional<int64_t> index = leader_version;
  for (int round = 0; Clock::now() < deadline && round < 10000; ++round) {
    if (!index) {
      // No leader in the caller's view: one appearing since must end the wait at once.
      auto r = client_->call("GET", key("leader"), {}, std::min(deadline, this->deadline()));
      if (r) return WatchOutcome::kChanged;
      if (!r.error().is(code::kKeyNotFound) || r.error().etcd_index <= 0) {
        if (idle_until(std::min(deadline, Clock::now() + 1s)) == WatchOutcome::kWokenUp) return WatchOutcome::kWokenUp;
        continue;
      }
      index = r.error().etcd_index + 1;
    }
    {
      MutexLock lock(event_mu_);
      if (woken_) {
        woken_ = false;
        return WatchOutcome::kWokenUp;
      }
      canceller_.reset();
      watching_ = true;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto r = client_->wait(key("leader"), *index, std::max(1ms, left), canceller_);
    {
      MutexLock lock(event_mu_);
      watching_ = false;
      if (woken_) {
        woken_ = false;
        return WatchOutcome::kWokenUp;
      }
    }
    if (r) {
      if (*r) return WatchOutcome::kChanged;  // an event on the leader key
      if (Clock::now() >= deadline) return WatchOutcome::kTimeout;
      // The server ended the poll without an event: poll again after a breath.
      if (idle_until(std::min(deadline, Clock::now() + 100ms)) == WatchOutcome::kWokenUp) return WatchOutcome::kWokenUp;
      continue;
    }
    // The history no longer reaches back to our index: the caller must read again.
    if (r.error().is(code::kEventIndexCleared)) return WatchOutcome::kChanged;
    spdlog::debug("etcd: watch of the leader key failed: {}", r.error().message);
    if (idle_until(std::min(deadline, Clock::now() + 1s)) == WatchOutcome::kWokenUp) return WatchOutcome::kWokenUp;
  }
  return WatchOutcome::kTimeout;
}

void Etcd2Dcs::wakeup() {
  MutexLock lock(event_mu_);
  woken_ = true;
  if (watching_) canceller_.cancel();
  event_cv_.notify_all();
}

void Etcd2Dcs::set_timing(const DcsTiming& timing) {
  {
    MutexLock lock(state_mu_);
    timing_ = timing;
  }
  client_->set_timing(timing.ttl, timing.retry_timeout);
}

DcsTiming Etcd2Dcs::timing() const {
  MutexLock lock(state_mu_);
  return timing_;
}

DcsStats Etcd2Dcs::stats() const {
  DcsStats s;
  s.malformed_replies = malformed_replies_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace custos::dcs::etcd2
