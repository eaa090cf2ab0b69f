#include "dcs/etcd3/etcd3_dcs.h"

#include <spdlog/spdlog.h>

#include "dcs/cluster_read.h"
#include "dcs/etcd3/watcher.h"
#include "dcs/json_util.h"
#include "net/base64.h"

namespace custos::dcs::etcd3 {

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string b64(const std::string& s) { return net::base64_encode(s); }

json compare_create0(const std::string& key) {
  return {{"key", b64(key)}, {"target", "CREATE"}, {"create_revision", "0"}};
}
json compare_value(const std::string& key, const std::string& value) {
  return {{"key", b64(key)}, {"target", "VALUE"}, {"value", b64(value)}};
}
json compare_mod(const std::string& key, Version revision) {
  return {{"key", b64(key)}, {"target", "MOD"}, {"mod_revision", std::to_string(revision)}};
}
json put_fields(const std::string& key, const std::string& value, const std::string& lease) {
  json j = {{"key", b64(key)}, {"value", b64(value)}};
  if (!lease.empty()) j["lease"] = lease;
  return j;
}
json put_op(const std::string& key, const std::string& value, const std::string& lease = {}) {
  return {{"request_put", put_fields(key, value, lease)}};
}
json range_op(const std::string& key) { return {{"request_range", {{"key", b64(key)}}}}; }
json delete_op(const std::string& key) { return {{"request_delete_range", {{"key", b64(key)}}}}; }

bool txn_succeeded(const json& reply) {
  auto it = reply.find("succeeded");
  return it != reply.end() && it->is_boolean() && it->get<bool>();
}

int64_t header_revision(const json& reply) {
  auto h = reply.find("header");
  return h != reply.end() ? json_int64(*h, "revision").value_or(0) : 0;
}

// responses[0] of a txn reply, when it is an object.
const json* first_response(const json& reply) {
  auto r = reply.find("responses");
  if (r == reply.end() || !r->is_array() || r->empty() || !(*r)[0].is_object()) return nullptr;
  return &(*r)[0];
}

// The key returned by a failure-branch request_range: nullopt = malformed reply,
// optional<KeyValue>{} inside = key absent.
std::optional<std::optional<KeyValue>> failure_range(const json& reply) {
  const json* resp = first_response(reply);
  if (!resp) return std::nullopt;
  auto rr = resp->find("response_range");
  if (rr == resp->end() || !rr->is_object()) return std::nullopt;
  auto kvs = rr->find("kvs");
  if (kvs == rr->end() || !kvs->is_array() || kvs->empty()) return std::optional<KeyValue>{};
  auto kv = decode_kv((*kvs)[0]);
  if (!kv) return std::nullopt;
  return std::optional<KeyValue>{*kv};
}

DcsError to_dcs(const EtcdError& e) { return e.to_dcs(); }
Err<DcsError> err(const EtcdError& e) { return Err<DcsError>{to_dcs(e)}; }

// The keys under `prefix`, relative to it, as the cluster model reads them.
RawNodes raw_nodes_under(const std::vector<etcd3::KeyValue>& kvs, const std::string& prefix) {
  RawNodes nodes;
  nodes.reserve(kvs.size());
  for (const auto& kv : kvs) {
    if (kv.key.size() <= prefix.size() || kv.key.compare(0, prefix.size(), prefix) != 0) continue;
    RawNode n;
    n.key = kv.key.substr(prefix.size());
    n.value = kv.value;
    n.version = kv.mod_revision;
    n.modify_version = kv.mod_revision;
    if (!kv.lease.empty()) n.session = kv.lease;
    nodes.push_back(std::move(n));
  }
  return nodes;
}

}  // namespace

Result<std::unique_ptr<Etcd3Dcs>, std::string> Etcd3Dcs::from_config(const json& patroni_config) {
  auto s = EtcdSettings::from_patroni_config(patroni_config);
  if (!s) return Err<std::string>{s.error()};
  return std::make_unique<Etcd3Dcs>(std::move(s).value());
}

Etcd3Dcs::Etcd3Dcs(EtcdSettings settings)
    : settings_(std::move(settings)),
      base_path_(settings_.base_path()),
      client_(std::make_unique<Etcd3Client>(settings_)),
      linearizable_reads_(settings_.linearizable_reads),
      timing_(settings_.timing) {
  if (!settings_.ctl) {
    watcher_ = std::make_unique<Watcher>(*client_, settings_.client_path(), settings_.name, true,
                                         [this] { signal_change(); },
                                         [this] {
                                           MutexLock lock(listener_mu_);
                                           if (wake_listener_) wake_listener_();
                                         });
  }
}

Etcd3Dcs::~Etcd3Dcs() { watcher_.reset(); }

bool Etcd3Dcs::wait_watch_ready(std::chrono::milliseconds timeout) const {
  return watcher_ && watcher_->wait_ready(timeout);
}

void Etcd3Dcs::signal_change() {
  // The watcher has already updated its state; taking the lock orders this notification after
  // a waiter's check of that state (no lost wake-up).
  { MutexLock lock(event_mu_); }
  event_cv_.notify_all();
}

void Etcd3Dcs::note_write(const std::string& absolute_key, std::optional<std::string> value, int64_t revision,
                          const std::string& lease) {
  if (watcher_ && revision > 0) watcher_->note_write(absolute_key, value, revision, value ? lease : std::string());
  MutexLock lock(view_mu_);
  if (absolute_key == key("leader")) {
    view_.leader_value = value;
    view_.leader_lease = value ? lease : std::string();
    if (value) view_.leader_released = false;
  } else if (absolute_key == key("members/" + settings_.name)) {
    view_.member_value = value;
    view_.member_lease = value ? lease : std::string();
  }
}

// ---- lease ------------------------------------------------------------------------------------

EtcdResult<std::string> Etcd3Dcs::ensure_lease(LeaseUse use, Deadline deadline) {
  MutexLock op(lease_op_mu_);
  std::optional<std::string> lease;
  Clock::time_point last;
  DcsTiming timing;
  {
    MutexLock lock(lease_mu_);
    lease = lease_;
    last = last_lease_refresh_;
    timing = timing_;
  }
  const int ttl = timing.ttl;
  std::chrono::seconds max_age(0);
  if (use == LeaseUse::cycle) max_age = std::chrono::seconds(timing.loop_wait);
  if (use == LeaseUse::member)
    max_age = std::chrono::seconds(std::max(timing.loop_wait, timing.ttl - timing.loop_wait - timing.retry_timeout));
  auto now = Clock::now();
  if (use != LeaseUse::now && lease && now < last + max_age) return *lease;
  if (lease) {
    auto k = client_->lease_keepalive(*lease, deadline);
    if (!k) return Err<EtcdError>{k.error()};
    if (k.value() <= 0) {
      spdlog::warn("etcd3: lease {} is gone, granting a new one", *lease);
      lease.reset();
    }
  }
  bool granted = false;
  if (!lease) {
    auto g = client_->lease_grant(ttl, deadline);
    if (!g) return Err<EtcdError>{g.error()};
    lease = g.value();
    granted = true;
    spdlog::info("etcd3: granted lease {} (ttl {}s)", *lease, ttl);
  }
  MutexLock lock(lease_mu_);
  if (granted || lease_ != lease) lease_ttl_ = ttl;
  lease_ = lease;
  last_lease_refresh_ = now;
  return *lease;
}

std::optional<LeaseInfo> Etcd3Dcs::lease_info() const {
  MutexLock lock(lease_mu_);
  if (!lease_ || lease_ttl_ <= 0) return std::nullopt;
  return LeaseInfo{last_lease_refresh_, lease_ttl_};
}

void Etcd3Dcs::drop_lease(const std::string& id) {
  MutexLock lock(lease_mu_);
  if (lease_ && *lease_ == id) lease_.reset();
}

DcsStatus Etcd3Dcs::refresh_lease_impl(bool force) {
  auto l = ensure_lease(force ? LeaseUse::now : LeaseUse::cycle, deadline());
  if (!l) return err(l.error());
  return Unit{};
}

std::optional<std::string> Etcd3Dcs::lease_id() const {
  MutexLock lock(lease_mu_);
  return lease_;
}

DcsStatus Etcd3Dcs::revoke_lease_impl() {
  std::optional<std::string> lease;
  {
    MutexLock lock(lease_mu_);
    lease.swap(lease_);
  }
  if (!lease) return Unit{};
  auto r = client_->lease_revoke(*lease, deadline());
  if (!r) return err(r.error());
  return Unit{};
}

// ---- reads ------------------------------------------------------------------------------------

// The keys under `prefix` as a cluster, logged when they cannot be parsed.
static DcsResult<Cluster> parse_cluster(const RawNodes& nodes, const std::string& prefix, bool citus_coordinator) {
  auto cluster = cluster_from_read(nodes, prefix, citus_coordinator);
  if (!cluster) spdlog::error("etcd3: {}", cluster.error().message);
  return cluster;
}

DcsResult<Cluster> Etcd3Dcs::read_coordinator() {
  const std::string prefix = settings_.base_path() + "0/";
  auto r = client_->range(prefix, prefix_range_end(prefix), !settings_.ctl, deadline());
  if (!r) return err(r.error());
  return parse_cluster(raw_nodes_under(r->kvs, prefix), prefix, false);
}

DcsResult<Cluster> Etcd3Dcs::read_cluster(bool use_cache) {
  const std::string prefix = settings_.cluster_prefix();
  const bool serializable = !(settings_.ctl || linearizable_reads_.load());
  // The watch cache holds the same keys as a serializable read of the prefix, kept current by
  // the stream: reading it saves one etcd request per member and cycle (dcs.md §5).
  // A Citus coordinator reads every group; the watch covers its own group only.
  const bool from_watch = use_cache && serializable && watcher_ && !settings_.is_citus_coordinator();
  std::shared_ptr<const ParsedRead> read;
  if (from_watch) {
    // Nothing changed in the cache since the last parse: the same keys, the same cluster.
    if (auto version = watcher_->content_version()) {
      MutexLock lock(parse_mu_);
      if (parsed_ && parsed_->version == *version) read = parsed_;
    }
  }
  if (!read) {
    uint64_t version = 0;
    std::optional<std::vector<etcd3::KeyValue>> kvs;
    if (from_watch) kvs = watcher_->cached(&version);
    const bool cached = kvs.has_value();
    if (!kvs) {
      auto r = client_->range(prefix, prefix_range_end(prefix), serializable, deadline());
      if (!r) return err(r.error());
      kvs = std::move(r->kvs);
    }
    RawNodes raw = raw_nodes_under(*kvs, prefix);
    auto parsed = parse_cluster(raw, prefix, settings_.is_citus_coordinator());
    if (!parsed) return parsed;
    auto made = std::make_shared<ParsedRead>(ParsedRead{version, std::move(raw), std::move(parsed).value()});
    if (cached) {
      MutexLock lock(parse_mu_);
      // Two reads overlapping (loop and REST): the newer content stays.
      if (!parsed_ || parsed_->version < version) parsed_ = made;
    }
    read = std::move(made);
  }
  const RawNodes& nodes = read->nodes;
  Cluster cluster = read->cluster;

  // Remember what we need for lock refreshes and skipped writes.
  const std::string own = settings_.is_citus_coordinator() ? "0/" : "";
  status_.observe(nodes, own, cluster);
  View v;
  for (const auto& n : nodes) {
    if (n.key.compare(0, own.size(), own) != 0) continue;
    std::string rel = n.key.substr(own.size());
    if (rel == "leader") {
      v.leader_value = n.value;
      v.leader_lease = n.session.value_or("");
    } else if (rel == "members/" + settings_.name) {
      v.member_value = n.value;
      v.member_lease = n.session.value_or("");
    }
  }
  {
    MutexLock lock(view_mu_);
    // A read by another thread (REST API) must not re-arm the refresh of a key we released.
    v.leader_released = view_.leader_released && !v.leader_value;
    view_ = std::move(v);
    auto lease = lease_id();
    if (!settings_.ctl && view_.leader_value == settings_.name && lease && view_.leader_lease != *lease)
      spdlog::warn("etcd3: I am the leader but not owner of the lease");
  }
  return cluster;
}

// ---- leader lock ------------------------------------------------------------------------------

DcsStatus Etcd3Dcs::attempt_to_acquire_leader_impl() {
  const auto d = deadline();
  const std::string leader = key("leader");
  EtcdResult<json> r = json();
  std::string lease;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto l = ensure_lease(attempt > 0 ? LeaseUse::now : LeaseUse::cycle, d);
    if (!l) return err(l.error());
    lease = l.value();
    json body = {{"compare", json::array({compare_create0(leader)})},
                 {"success", json::array({put_op(leader, settings_.name, lease)})},
                 {"failure", json::array({range_op(leader)})}};
    r = client_->txn(body, d);
    if (r || !r.error().lease_not_found()) break;
    spdlog::error("etcd3: our lease disappeared, granting a new one and trying again");
    drop_lease(lease);
  }
  if (!r) return err(r.error());
  if (txn_succeeded(r.value())) {
    note_write(leader, settings_.name, header_revision(r.value()), lease);
    return Unit{};
  }
  auto current = failure_range(r.value());
  if (!current) return dcs_error(DcsErrorKind::kMalformedReply, "kv/txn: unexpected reply to leader acquisition");
  // A retried request whose first attempt went through finds our own key: that is a success.
  if (*current && (*current)->value == settings_.name && (*current)->lease == lease) {
    note_write(leader, settings_.name, (*current)->mod_revision, lease);
    return Unit{};
  }
  spdlog::info("etcd3: could not take out TTL lock");
  std::string holder = *current ? (*current)->value : std::string("(nobody; deleted meanwhile)");
  return dcs_error(DcsErrorKind::kLockOwnedByOther, "leader key exists: " + holder);
}

DcsStatus Etcd3Dcs::update_leader_impl(const LeaderRefresh& refresh) {
  const auto d = deadline();
  const std::string leader = key("leader");
  auto l = ensure_lease(LeaseUse::now, d);
  if (!l) return err(l.error());
  std::string lease = l.value();
  bool already_ours;
  bool released;
  {
    MutexLock lock(view_mu_);
    already_ours = view_.leader_value == settings_.name && view_.leader_lease == lease;
    released = view_.leader_released;
  }
  // Patroni refreshes with a keepalive only when the cycle's view shows our key; a key we
  // released ourselves in the meantime (graceful demote in the background) stays released.
  if (released)
    return dcs_error(DcsErrorKind::kLockOwnedByOther, "the leader key was released by this member; not re-created");
  if (!already_ours) {
    EtcdResult<json> r = json();
    for (int attempt = 0; attempt < 2; ++attempt) {
      json put = put_op(leader, settings_.name, lease);
      json nested = {{"compare", json::array({compare_create0(leader)})}, {"success", json::array({put})}};
      json body = {{"compare", json::array({compare_value(leader, settings_.name)})},
                   {"success", json::array({put})},
                   {"failure", json::array({json{{"request_txn", nested}}})}};
      r = client_->txn(body, d);
      if (r || !r.error().lease_not_found() || attempt > 0) break;
      drop_lease(lease);
      auto l2 = ensure_lease(LeaseUse::now, d);
      if (!l2) return err(l2.error());
      lease = l2.value();
    }
    if (!r) return err(r.error());
    bool ok = txn_succeeded(r.value());
    if (!ok) {
      const json* resp = first_response(r.value());
      if (!resp || !resp->contains("response_txn") || !(*resp)["response_txn"].is_object())
        return dcs_error(DcsErrorKind::kMalformedReply, "kv/txn: unexpected reply to leader refresh");
      ok = txn_succeeded((*resp)["response_txn"]);
    }
    if (!ok) {
      // etcd answered: the key exists and holds another name.
      {
        MutexLock lock(view_mu_);
        view_.leader_value.reset();
      }
      return dcs_error(DcsErrorKind::kLockOwnedByOther, "the leader key holds another member's name");
    }
    note_write(leader, settings_.name, header_revision(r.value()), lease);
  }
  status_.publish(refresh, [this](const std::string& k, const std::string& v) { return plain_put(k, v); }, "etcd3");
  return Unit{};
}

DcsStatus Etcd3Dcs::delete_leader_impl(std::optional<int64_t> last_lsn) {
  if (last_lsn) {
    if (auto s = write_status_impl(json{{"optime", *last_lsn}}); !s)
      spdlog::warn("etcd3: writing status failed: {}", s.error().describe());
  }
  const std::string leader = key("leader");
  json body = {{"compare", json::array({compare_value(leader, settings_.name)})},
               {"success", json::array({delete_op(leader)})},
               {"failure", json::array({range_op(leader)})}};
  auto r = client_->txn(body, deadline());
  if (!r) return err(r.error());
  if (txn_succeeded(r.value())) {
    note_write(leader, std::nullopt, header_revision(r.value()));
    MutexLock lock(view_mu_);
    view_.leader_released = true;
    return Unit{};
  }
  auto current = failure_range(r.value());
  if (!current) return dcs_error(DcsErrorKind::kMalformedReply, "kv/txn: unexpected reply to leader deletion");
  if (!*current) return Unit{};  // nobody holds it
  return dcs_error(DcsErrorKind::kLockOwnedByOther, "leader key holds " + (*current)->value + ", not deleted");
}

DcsStatus Etcd3Dcs::take_leader_impl() {
  const auto d = deadline();
  const std::string leader = key("leader");
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto l = ensure_lease(attempt > 0 ? LeaseUse::now : LeaseUse::cycle, d);
    if (!l) return err(l.error());
    auto r = client_->put(leader, settings_.name, l.value(), d);
    if (r) {
      note_write(leader, settings_.name, r.value(), l.value());
      return Unit{};
    }
    if (!r.error().lease_not_found() || attempt > 0) return err(r.error());
    drop_lease(l.value());
  }
  return dcs_error(DcsErrorKind::kUnreachable, "take_leader: no lease");
}

// ---- other keys -------------------------------------------------------------------------------

DcsStatus Etcd3Dcs::initialize_impl(bool create_new, const std::string& sysid) {
  const std::string k = key("initialize");
  if (!create_new) return plain_put("initialize", sysid);
  json body = {{"compare", json::array({compare_create0(k)})}, {"success", json::array({put_op(k, sysid)})}};
  auto r = client_->txn(body, deadline());
  if (!r) return err(r.error());
  if (!txn_succeeded(r.value())) return dcs_error(DcsErrorKind::kCasConflict, "initialize key already exists");
  note_write(k, sysid, header_revision(r.value()));
  return Unit{};
}

DcsStatus Etcd3Dcs::cancel_initialization_impl() {
  auto r = client_->delete_range(key("initialize"), std::nullopt, deadline());
  if (!r) return err(r.error());
  note_write(key("initialize"), std::nullopt, r.value());
  return Unit{};
}

DcsStatus Etcd3Dcs::touch_member_impl(const json& data) {
  const auto d = deadline();
  const std::string k = key("members/" + settings_.name);
  const std::string value = data.dump();
  // The lock holder's lease also carries the leader key: in a cycle without a lock refresh
  // (paused, or waiting for a promotion) its member touch keeps it alive every loop_wait.
  bool holds_lock;
  {
    MutexLock lock(view_mu_);
    holds_lock = view_.leader_value == settings_.name;
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto l = ensure_lease(attempt > 0 ? LeaseUse::now : holds_lock ? LeaseUse::cycle : LeaseUse::member, d);
    if (!l) return err(l.error());
    {
      MutexLock lock(view_mu_);
      if (attempt == 0 && view_.member_value && view_.member_lease == l.value()) {
        auto old = parse_json(*view_.member_value);
        if (old && *old == data) return Unit{};
      }
    }
    auto r = client_->put(k, value, l.value(), d);
    if (r) {
      note_write(k, value, r.value(), l.value());
      return Unit{};
    }
    if (!r.error().lease_not_found() || attempt > 0) return err(r.error());
    spdlog::error("etcd3: our lease disappeared, cannot touch member key; granting a new one");
    drop_lease(l.value());
  }
  return dcs_error(DcsErrorKind::kUnreachable, "touch_member: no lease");
}

DcsResult<Version> Etcd3Dcs::cas_put(const std::string& relative, const std::string& value,
                                     std::optional<Version> version) {
  const std::string k = key(relative);
  if (!version) {
    auto r = client_->put(k, value, {}, deadline());
    if (!r) return err(r.error());
    note_write(k, value, r.value());
    return r.value();
  }
  json body = {{"compare", json::array({compare_mod(k, *version)})}, {"success", json::array({put_op(k, value)})}};
  auto r = client_->txn(body, deadline());
  if (!r) return err(r.error());
  if (!txn_succeeded(r.value()))
    return dcs_error(DcsErrorKind::kCasConflict, relative + " changed since version " + std::to_string(*version));
  int64_t rev = header_revision(r.value());
  note_write(k, value, rev);
  return rev;
}

DcsStatus Etcd3Dcs::plain_put(const std::string& relative, const std::string& value) {
  auto r = cas_put(relative, value, std::nullopt);
  if (!r) return Err<DcsError>{r.error()};
  return Unit{};
}

DcsResult<Version> Etcd3Dcs::set_config_value(const std::string& value, std::optional<Version> version) {
  return counted(cas_put("config", value, version));
}

DcsResult<Version> Etcd3Dcs::set_failover_value(const std::string& value, std::optional<Version> version) {
  return counted(cas_put("failover", value, version));
}

DcsResult<Version> Etcd3Dcs::set_sync_state_value(const std::string& value, std::optional<Version> version) {
  return counted(cas_put("sync", value, version));
}

DcsStatus Etcd3Dcs::delete_sync_state_impl(std::optional<Version> version) {
  const std::string k = key("sync");
  if (!version) {
    auto r = client_->delete_range(k, std::nullopt, deadline());
    if (!r) return err(r.error());
    note_write(k, std::nullopt, r.value());
    return Unit{};
  }
  json body = {{"compare", json::array({compare_mod(k, *version)})}, {"success", json::array({delete_op(k)})}};
  auto r = client_->txn(body, deadline());
  if (!r) return err(r.error());
  if (!txn_succeeded(r.value()))
    return dcs_error(DcsErrorKind::kCasConflict, "sync changed since version " + std::to_string(*version));
  note_write(k, std::nullopt, header_revision(r.value()));
  return Unit{};
}

DcsStatus Etcd3Dcs::set_history_value(const std::string& value) { return counted(plain_put("history", value)); }

DcsStatus Etcd3Dcs::write_status_impl(const json& status) {
  return status_.write_status(status, [this](const std::string& k, const std::string& v) { return plain_put(k, v); });
}

DcsStatus Etcd3Dcs::write_failsafe_impl(const json& failsafe) {
  return status_.write_failsafe(failsafe,
                                [this](const std::string& k, const std::string& v) { return plain_put(k, v); });
}

DcsStatus Etcd3Dcs::delete_cluster_impl() {
  const std::string prefix = settings_.client_path();
  auto r = client_->delete_range(prefix, prefix_range_end(prefix), deadline());
  if (!r) return err(r.error());
  status_.forget();
  MutexLock lock(view_mu_);
  view_ = View{};
  return Unit{};
}

// ---- watch ------------------------------------------------------------------------------------

WatchOutcome Etcd3Dcs::watch(std::optional<Version> leader_version, std::chrono::milliseconds timeout) {
  MutexLock lock(event_mu_);
  // A wakeup() that came while nobody watched is not lost: the HA loop may have decided to wait
  // just before it arrived.
  if (woken_) {
    woken_ = false;
    return WatchOutcome::kWokenUp;
  }
  if (do_not_watch_) {
    do_not_watch_ = false;
    return WatchOutcome::kChanged;
  }
  // The cache's leader differs from the caller's: it changed after the caller's read (or the
  // caller read it elsewhere). Without a stream there is nothing to compare with yet.
  auto leader_differs = [&](const Watcher::State& s) { return s.ready && s.leader_revision != leader_version; };
  const Watcher::State start = watcher_ ? watcher_->state() : Watcher::State{};
  if (leader_differs(start)) return WatchOutcome::kChanged;
  // Changes before this call do not count (start.changes): the caller's view has them, or they
  // are not about the leader key, whose version is compared above.
  // Like Patroni: give non-leaders a bit more time so that HA loops of members drift apart.
  if (leader_version) timeout += 500ms;
  // Checked once before the first wait, after every wake-up and once more at the deadline.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  for (;;) {
    if (woken_) {
      woken_ = false;
      return WatchOutcome::kWokenUp;
    }
    if (watcher_) {
      const Watcher::State now = watcher_->state();
      if (now.changes != start.changes || leader_differs(now)) return WatchOutcome::kChanged;
    }
    if (timed_out) return WatchOutcome::kTimeout;
    timed_out = !event_cv_.wait_until(event_mu_, deadline);
  }
}

void Etcd3Dcs::wakeup() {
  {
    MutexLock lock(event_mu_);
    woken_ = true;
  }
  event_cv_.notify_all();
}

void Etcd3Dcs::set_timing(const DcsTiming& timing) {
  bool ttl_changed;
  {
    MutexLock lock(lease_mu_);
    ttl_changed = timing.ttl != timing_.ttl;
    timing_ = timing;
    if (ttl_changed) lease_.reset();  // a new lease with the new TTL is granted next time
  }
  client_->set_timing(timing.ttl, timing.retry_timeout);
  if (ttl_changed) {
    MutexLock lock(event_mu_);
    do_not_watch_ = true;
  }
}

DcsStats Etcd3Dcs::stats() const {
  DcsStats s;
  s.malformed_replies = malformed_replies_.load(std::memory_order_relaxed);
  return s;
}

void Etcd3Dcs::set_wake_listener(std::function<void()> listener) {
  MutexLock lock(listener_mu_);
  wake_listener_ = std::move(listener);
}

DcsTiming Etcd3Dcs::timing() const {
  MutexLock lock(lease_mu_);
  return timing_;
}

}  // namespace custos::dcs::etcd3
