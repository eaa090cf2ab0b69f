#include "dcs/zookeeper/zookeeper_dcs.h"

#include <zookeeper/zookeeper.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "dcs/cluster_read.h"
#include "dcs/json_util.h"

namespace custos::dcs::zookeeper {

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

Err<DcsError> err(const ZkError& e) { return Err<DcsError>{e.to_dcs()}; }

bool is_group(const std::string& s) {
  if (s.empty() || s.size() > 7 || (s.size() > 1 && s[0] == '0')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Keys of a group that are single znodes (members/ and optime/ are directories).
const char* const kValueKeys[] = {"initialize", "config", "leader", "failover", "sync",
                                  "history",    "status", "failsafe"};

// Fields whose change Patroni announces by re-creating the member znode (the leader's children
// watch fires): tags, a state change to or from running, version, checkpoint_after_promote.
bool announce_by_recreating(const json& old_data, const json& new_data) {
  auto field = [](const json& j, const char* k) { return j.is_object() && j.contains(k) ? j[k] : json(); };
  if (field(old_data, "tags") != field(new_data, "tags")) return true;
  const json old_state = field(old_data, "state"), new_state = field(new_data, "state");
  if (old_state != new_state && (old_state == "running" || new_state == "running")) return true;
  return field(old_data, "version") != field(new_data, "version") ||
         field(old_data, "checkpoint_after_promote") != field(new_data, "checkpoint_after_promote");
}

// How long a handshake with a server may go unanswered before we connect again: half of
// retry_timeout (at least 1 s), so a call still has time left on the new connection.
std::chrono::milliseconds connect_timeout(const DcsTiming& timing) {
  return std::max<std::chrono::milliseconds>(1000ms, std::chrono::milliseconds(timing.retry_timeout * 500));
}

}  // namespace

Result<std::unique_ptr<ZooKeeperDcs>, std::string> ZooKeeperDcs::from_config(const json& patroni_config) {
  auto s = ZooKeeperSettings::from_patroni_config(patroni_config);
  if (!s) return Err<std::string>{s.error()};
  return std::make_unique<ZooKeeperDcs>(std::move(s).value());
}

ZooKeeperDcs::ZooKeeperDcs(ZooKeeperSettings settings)
    : settings_(std::move(settings)), base_path_(settings_.base_path()), timing_(settings_.timing) {
  session_ = std::make_unique<ZkSession>(settings_.hosts, std::chrono::seconds(settings_.timing.ttl),
                                         settings_.auth_data, [this](const ZkEvent& e) { on_event(e); });
  session_->set_connect_timeout(connect_timeout(settings_.timing));
}

ZooKeeperDcs::~ZooKeeperDcs() { session_.reset(); }

std::string ZooKeeperDcs::path(const std::string& relative) const { return settings_.client_path() + relative; }

Deadline ZooKeeperDcs::deadline() const {
  MutexLock lock(state_mu_);
  return Clock::now() + std::chrono::seconds(timing_.retry_timeout);
}

bool ZooKeeperDcs::holds_lock_in_view() const {
  MutexLock lock(state_mu_);
  return leader_in_view_ == settings_.name;
}

bool ZooKeeperDcs::released() const {
  MutexLock lock(state_mu_);
  return leader_released_;
}

StatusPublisher::Put ZooKeeperDcs::put_until(Deadline d) {
  return [this, d](const std::string& k, const std::string& v) -> DcsStatus {
    auto r = cas_put(k, v, std::nullopt, d);
    if (!r) return Err<DcsError>{r.error()};
    return Unit{};
  };
}

// ---- events -----------------------------------------------------------------------------------

void ZooKeeperDcs::signal_change() {
  ha_wakeups_.fetch_add(1);
  { MutexLock lock(event_mu_); }  // orders the notification after a waiter's check
  event_cv_.notify_all();
}

void ZooKeeperDcs::on_event(const ZkEvent& e) {
  cache_epoch_.fetch_add(1);  // whatever it was, the cached read may be out of date
  if (e.type == ZOO_SESSION_EVENT) {
    // A lost session took our ephemeral znodes and every watch, a replaced connection its
    // watches: the loop must look again.
    if (e.state == ZOO_EXPIRED_SESSION_STATE || e.state == zrc::kWatchesLostState) signal_change();
    return;
  }
  if (e.type == ZOO_NOTWATCHING_EVENT) return;
  // Another Citus group (a coordinator watches them all): news for the cache only.
  const std::string own_dir = settings_.client_path().substr(0, settings_.client_path().size() - 1);
  if (e.path != own_dir && e.path.compare(0, own_dir.size() + 1, own_dir + "/") != 0) return;
  const std::string members_dir = settings_.client_path() + "members";
  // A member's value changed: news for the cache only (Patroni does not wake for it either).
  if (e.path.compare(0, members_dir.size() + 1, members_dir + "/") == 0) return;
  if (e.path == members_dir && e.type == ZOO_CHILD_EVENT) {
    // A member joined (or left): the lock holder creates its slot at once.
    MutexLock lock(listener_mu_);
    if (wake_listener_) wake_listener_();
    return;
  }
  signal_change();
}

void ZooKeeperDcs::set_wake_listener(std::function<void()> listener) {
  MutexLock lock(listener_mu_);
  wake_listener_ = std::move(listener);
}

// ---- reads ------------------------------------------------------------------------------------

ZkResult<RawNodes> ZooKeeperDcs::read_group(const std::string& dir, const std::string& prefix, bool watch,
                                            Deadline d) {
  RawNodes nodes;
  const std::string dir_path = dir.substr(0, dir.size() - 1);  // without the trailing '/'
  auto kids = session_->children(dir_path, watch, d);
  if (!kids) return Err<ZkError>{kids.error()};
  if (!*kids) return nodes;
  std::vector<std::pair<std::string, bool>> paths;
  std::vector<std::string> keys;
  const bool leader_is_us = holds_lock_in_view();
  for (const auto& k : **kids) {
    if (std::find(std::begin(kValueKeys), std::end(kValueKeys), k) == std::end(kValueKeys)) continue;
    // Watches where Patroni leaves them: every key but initialize and members' values; status
    // only while another member leads (our own writes are no news).
    const bool w = watch && k != "initialize" && !(k == "status" && leader_is_us);
    paths.emplace_back(dir + k, w);
    keys.push_back(k);
  }
  const std::vector<std::string>& listed = **kids;
  const bool has_members = std::find(listed.begin(), listed.end(), "members") != listed.end();
  const bool has_optime = std::find(listed.begin(), listed.end(), "optime") != listed.end();
  if (has_members) {
    auto members = session_->children(dir + "members", watch, d);
    if (!members) return Err<ZkError>{members.error()};
    if (*members)
      for (const auto& m : **members) {
        paths.emplace_back(dir + "members/" + m, watch);
        keys.push_back("members/" + m);
      }
  }
  if (has_optime) {
    paths.emplace_back(dir + "optime/leader", watch && !leader_is_us);
    keys.push_back("optime/leader");
  }
  auto values = session_->get_many(paths, d);
  if (!values) return Err<ZkError>{values.error()};
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto& v = (*values)[i];
    if (!v) continue;  // gone between the listing and the read
    RawNode n;
    n.key = prefix + keys[i];
    n.value = v->value;
    n.version = v->stat.version;
    n.modify_version = v->stat.mzxid;
    if (keys[i] == "history") n.version = v->stat.mzxid;  // Patroni's history version
    if (keys[i] == "leader") {
      // The leader znode is never rewritten (its version stays 0): its creation tells one
      // holder's tenure from the next.
      n.version = v->stat.czxid;
    }
    if (v->stat.ephemeral_owner != 0) n.session = std::to_string(v->stat.ephemeral_owner);
    nodes.push_back(std::move(n));
  }
  return nodes;
}

DcsResult<Cluster> ZooKeeperDcs::read_cluster(bool use_cache) {
  const bool watch = !settings_.ctl;
  const int64_t session = session_->session_id();
  int ttl;
  {
    MutexLock lock(state_mu_);
    ttl = timing_.ttl;
  }
  if (use_cache && watch) {
    MutexLock lock(cache_mu_);
    if (cache_ && cache_->epoch == cache_epoch_.load() && cache_->session == session && session != 0 &&
        Clock::now() - cache_->at < std::chrono::seconds(ttl))
      return cache_->cluster;
  }
  const uint64_t epoch = cache_epoch_.load();
  const auto started = Clock::now();
  const auto d = deadline();
  RawNodes nodes;
  const std::string own_prefix = settings_.is_citus_coordinator() ? "0/" : "";
  if (settings_.is_citus_coordinator()) {
    const std::string base = settings_.base_path();
    auto groups = session_->children(base.substr(0, base.size() - 1), watch, d);
    if (!groups) return err(groups.error());
    if (*groups)
      for (const auto& g : **groups) {
        if (!is_group(g)) continue;
        auto part = read_group(base + g + "/", g + "/", watch, d);
        if (!part) return err(part.error());
        nodes.insert(nodes.end(), part->begin(), part->end());
      }
  } else {
    auto part = read_group(settings_.client_path(), "", watch, d);
    if (!part) return err(part.error());
    nodes = std::move(part).value();
  }
  auto cluster = cluster_from_read(nodes, settings_.cluster_prefix(), settings_.is_citus_coordinator());
  if (!cluster) {
    spdlog::error("zookeeper: {}", cluster.error().message);
    return cluster;
  }
  status_.observe(nodes, own_prefix, *cluster);
  {
    MutexLock lock(state_mu_);
    leader_in_view_.reset();
    member_.reset();
    for (const auto& n : nodes) {
      if (n.key == own_prefix + "leader") leader_in_view_ = n.value;
      if (n.key == own_prefix + "members/" + settings_.name)
        member_ = OwnMember{n.value, n.session ? std::stoll(*n.session) : 0};
    }
    // A read that started after our release and shows the key held ends "released".
    if (leader_in_view_ && started > released_at_) leader_released_ = false;
  }
  if (watch && session != 0 && session == session_->session_id()) {
    MutexLock lock(cache_mu_);
    cache_ = CachedRead{*cluster, epoch, session, started};
  }
  return cluster;
}

DcsResult<Cluster> ZooKeeperDcs::get_mpp_coordinator() {
  const std::string dir = settings_.base_path() + "0/";
  auto nodes = read_group(dir, "", false, deadline());  // another group's view: no watches
  if (!nodes) return counted(DcsResult<Cluster>(err(nodes.error())));
  return counted(cluster_from_read(*nodes, dir, false));
}

// ---- leader lock ------------------------------------------------------------------------------

DcsStatus ZooKeeperDcs::acquire_impl(Deadline d) {
  auto r = session_->create(path("leader"), settings_.name, true, d);
  if (r) {
    wrote();
    MutexLock lock(state_mu_);
    leader_released_ = false;
    leader_in_view_ = settings_.name;
    return Unit{};
  }
  if (!r.error().is(zrc::kNodeExists)) return err(r.error());
  // Held. By this very session when a retried create went through the first time.
  auto current = session_->get(path("leader"), false, d);
  if (!current) return err(current.error());
  if (*current && (*current)->value == settings_.name && (*current)->stat.ephemeral_owner == session_->session_id()) {
    MutexLock lock(state_mu_);
    leader_released_ = false;
    return Unit{};
  }
  spdlog::info("zookeeper: could not take out TTL lock");
  return dcs_error(DcsErrorKind::kLockOwnedByOther,
                   *current ? "leader znode exists: " + (*current)->value : std::string("leader znode exists"));
}

DcsStatus ZooKeeperDcs::update_leader_impl(const LeaderRefresh& refresh) {
  if (released())
    return dcs_error(DcsErrorKind::kLockOwnedByOther, "the leader key was released by this member; not re-created");
  const auto d = deadline();
  auto current = session_->get(path("leader"), false, d);
  if (!current) return err(current.error());
  if (!*current) {
    // Gone with an expired session of ours: take it again if nobody else did (Patroni's rule),
    // unless we released it meanwhile (a graceful demote running beside this cycle).
    if (released())
      return dcs_error(DcsErrorKind::kLockOwnedByOther, "the leader key was released by this member; not re-created");
    if (auto a = acquire_impl(d); !a) return a;
  } else if ((*current)->value != settings_.name) {
    return dcs_error(DcsErrorKind::kLockOwnedByOther, "the leader znode holds " + (*current)->value);
  } else if ((*current)->stat.ephemeral_owner != session_->session_id()) {
    // Our name, bound to an earlier session of ours (Patroni: delete and create again).
    spdlog::warn("zookeeper: recreating the leader znode due to ownership mismatch");
    auto del = session_->remove(path("leader"), (*current)->stat.version, d);
    if (!del && !del.error().is(zrc::kNoNode)) return err(del.error());
    wrote();
    if (auto a = acquire_impl(d); !a) return a;
  }
  // Nothing to refresh otherwise: the session's keepalive does it (this call's reply is the fence).
  status_.publish(refresh, put_until(d), "zookeeper");
  return Unit{};
}

DcsStatus ZooKeeperDcs::delete_leader_impl(std::optional<int64_t> last_lsn) {
  const auto d = deadline();
  if (last_lsn) {
    if (auto s = status_.write_status(json{{"optime", *last_lsn}}, put_until(d)); !s)
      spdlog::warn("zookeeper: writing status failed: {}", s.error().describe());
  }
  auto current = session_->get(path("leader"), false, d);
  if (!current) return err(current.error());
  if (*current && (*current)->value != settings_.name)
    return dcs_error(DcsErrorKind::kLockOwnedByOther, "leader znode holds " + (*current)->value + ", not deleted");
  if (*current) {
    // Our name. Bound to this session it cannot vanish and be taken by another member before
    // the delete unless this session expires, which fails the delete. (Bound to an earlier
    // session of ours it could, in the moment that session expires: the window Patroni's
    // delete-and-create on an ownership mismatch has too.)
    auto del = session_->remove(path("leader"), (*current)->stat.version, d);
    if (!del && !del.error().is(zrc::kNoNode)) return err(del.error());
    wrote();
  }
  MutexLock lock(state_mu_);
  leader_released_ = true;  // also when it was gone already: we meant to let it go
  released_at_ = Clock::now();
  leader_in_view_.reset();
  return Unit{};
}

std::optional<LeaseInfo> ZooKeeperDcs::lease_info() const {
  auto last = session_->last_reply();
  if (!last || session_->session_id() == 0) return std::nullopt;
  // Whole seconds, rounded down: the fence never outlasts the session.
  const auto timeout = std::chrono::duration_cast<std::chrono::seconds>(session_->negotiated_timeout());
  if (timeout.count() <= 0) return std::nullopt;
  return LeaseInfo{*last, static_cast<int>(timeout.count())};
}

// ---- member -----------------------------------------------------------------------------------

DcsStatus ZooKeeperDcs::touch_member_impl(const json& data) {
  const auto d = deadline();
  const std::string p = path("members/" + settings_.name);
  const std::string value = data.dump();
  const int64_t sid = session_->session_id();
  std::optional<OwnMember> known;
  {
    MutexLock lock(state_mu_);
    known = member_;
  }
  bool recreate = false;
  if (known) {
    const auto old = parse_json(known->value);
    const bool ours = sid != 0 && known->owner == sid;
    if (ours && old && *old == data) return Unit{};
    recreate = !ours || !old || announce_by_recreating(*old, data);
    if (recreate) {
      auto del = session_->remove(p, -1, d);
      if (!del && !del.error().is(zrc::kNoNode)) return err(del.error());
      wrote();
    }
  }
  if (!known || recreate) {
    auto c = session_->create(p, value, true, d);
    if (c) {
      wrote();
      MutexLock lock(state_mu_);
      member_ = OwnMember{value, c->ephemeral_owner != 0 ? c->ephemeral_owner : session_->session_id()};
      return Unit{};
    }
    if (!c.error().is(zrc::kNodeExists)) return err(c.error());
  }
  auto s = session_->set(p, value, -1, d);
  if (!s) {
    if (!s.error().is(zrc::kNoNode)) return err(s.error());
    auto c = session_->create(p, value, true, d);
    if (!c) return err(c.error());
    s = c;
  }
  wrote();
  MutexLock lock(state_mu_);
  member_ = OwnMember{value, s->ephemeral_owner};
  return Unit{};
}

// ---- other keys -------------------------------------------------------------------------------

DcsResult<Version> ZooKeeperDcs::cas_put(const std::string& relative, const std::string& value,
                                         std::optional<Version> version, Deadline d) {
  if (version && (*version < 0 || *version > INT32_MAX))
    return dcs_error(DcsErrorKind::kCasConflict, relative + ": version " + std::to_string(*version) + " cannot match");
  auto s = session_->set(path(relative), value, version ? static_cast<int32_t>(*version) : -1, d);
  if (s) {
    wrote();
    return static_cast<Version>(s->version);
  }
  if (s.error().is(zrc::kBadVersion) || (version && s.error().is(zrc::kNoNode)))
    return dcs_error(DcsErrorKind::kCasConflict, relative + " changed since version " + std::to_string(*version));
  if (!s.error().is(zrc::kNoNode)) return err(s.error());
  auto c = session_->create(path(relative), value, false, d);
  if (c) {
    wrote();
    return static_cast<Version>(c->version);
  }
  if (!c.error().is(zrc::kNodeExists)) return err(c.error());
  // Created by someone else meanwhile: an unconditional write still wins.
  s = session_->set(path(relative), value, -1, d);
  if (!s) return err(s.error());
  wrote();
  return static_cast<Version>(s->version);
}

DcsStatus ZooKeeperDcs::initialize(bool create_new, const std::string& sysid) {
  if (!create_new) return counted(put_until(deadline())("initialize", sysid));
  auto c = session_->create(path("initialize"), sysid, false, deadline());
  if (c) {
    wrote();
    return Unit{};
  }
  if (c.error().is(zrc::kNodeExists)) return dcs_error(DcsErrorKind::kCasConflict, "initialize key already exists");
  return counted(DcsStatus(err(c.error())));
}

DcsStatus ZooKeeperDcs::cancel_initialization() {
  auto r = session_->remove(path("initialize"), -1, deadline());
  wrote();
  if (r || r.error().is(zrc::kNoNode)) return Unit{};
  return counted(DcsStatus(err(r.error())));
}

DcsStatus ZooKeeperDcs::delete_sync_state(std::optional<Version> version) {
  auto r = cas_put("sync", "{}", version, deadline());
  if (!r) return counted(DcsStatus(Err<DcsError>{r.error()}));
  return Unit{};
}

DcsStatus ZooKeeperDcs::set_history_value(const std::string& value) {
  return counted(put_until(deadline())("history", value));
}

DcsStatus ZooKeeperDcs::write_status(const json& status) {
  return counted(status_.write_status(status, put_until(deadline())));
}

DcsStatus ZooKeeperDcs::write_failsafe(const json& failsafe) {
  return counted(status_.write_failsafe(failsafe, put_until(deadline())));
}

DcsStatus ZooKeeperDcs::delete_cluster() {
  const std::string dir = settings_.client_path();
  auto r = session_->remove_tree(dir.substr(0, dir.size() - 1), deadline());
  wrote();
  if (!r) return counted(DcsStatus(err(r.error())));
  status_.forget();
  return Unit{};
}

// ---- watch ------------------------------------------------------------------------------------

WatchOutcome ZooKeeperDcs::watch(std::optional<Version> leader_version, std::chrono::milliseconds timeout) {
  {
    MutexLock lock(event_mu_);
    if (woken_) {
      woken_ = false;
      return WatchOutcome::kWokenUp;
    }
  }
  const uint64_t seen = ha_wakeups_.load();
  // Like Patroni: non-leaders get a bit more time so that the members' loops drift apart.
  if (leader_version) timeout += 500ms;
  const auto end = Clock::now() + timeout;
  // The leader znode now, with a watch on it (also when it is missing): a change since the
  // caller's read is news at once, a later one ends the wait.
  auto current = session_->exists(path("leader"), true, std::min(end, deadline()));
  if (current) {
    std::optional<Version> now;
    if (*current) now = (*current)->czxid;
    if (now != leader_version) return WatchOutcome::kChanged;
  }
  MutexLock lock(event_mu_);
  for (;;) {
    if (woken_) {
      woken_ = false;
      return WatchOutcome::kWokenUp;
    }
    if (ha_wakeups_.load() != seen) return WatchOutcome::kChanged;
    if (!event_cv_.wait_until(event_mu_, end)) {
      if (woken_) {
        woken_ = false;
        return WatchOutcome::kWokenUp;
      }
      return ha_wakeups_.load() != seen ? WatchOutcome::kChanged : WatchOutcome::kTimeout;
    }
  }
}

void ZooKeeperDcs::wakeup() {
  {
    MutexLock lock(event_mu_);
    woken_ = true;
  }
  event_cv_.notify_all();
}

void ZooKeeperDcs::set_timing(const DcsTiming& timing) {
  session_->set_connect_timeout(connect_timeout(timing));
  bool ttl_changed;
  {
    MutexLock lock(state_mu_);
    ttl_changed = timing.ttl != timing_.ttl;
    timing_ = timing;
  }
  if (ttl_changed) {
    // A session's timeout cannot change: a new session (our ephemeral znodes go, as with Patroni).
    spdlog::info("zookeeper: ttl changed to {} s: starting a new session", timing.ttl);
    session_->restart(std::chrono::seconds(timing.ttl));
    {
      MutexLock lock(state_mu_);
      member_.reset();
    }
    signal_change();
  }
}

DcsTiming ZooKeeperDcs::timing() const {
  MutexLock lock(state_mu_);
  return timing_;
}

DcsStats ZooKeeperDcs::stats() const {
  DcsStats s;
  s.malformed_replies = malformed_replies_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace custos::dcs::zookeeper
