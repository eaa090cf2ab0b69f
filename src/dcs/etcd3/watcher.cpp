#include "dcs/etcd3/watcher.h"

#include <spdlog/spdlog.h>

#include <set>

#include "net/base64.h"

namespace custos::dcs::etcd3 {

using json = nlohmann::json;
using namespace std::chrono_literals;

Watcher::Watcher(Etcd3Client& client, std::string prefix, std::string my_name, bool serializable,
                 std::function<void()> on_change, std::function<void()> on_member_joined)
    : client_(client),
      prefix_(std::move(prefix)),
      my_name_(std::move(my_name)),
      serializable_(serializable),
      on_change_(std::move(on_change)),
      on_member_joined_(std::move(on_member_joined)),
      leader_key_(prefix_ + "leader"),
      config_key_(prefix_ + "config"),
      status_key_(prefix_ + "status"),
      optime_key_(prefix_ + "optime/leader"),
      members_prefix_(prefix_ + "members/") {
  thread_ = std::thread([this] { run(); });
}

Watcher::~Watcher() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  canceller_.cancel();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Watcher::ready() const {
  MutexLock lock(mu_);
  return ready_;
}

bool Watcher::wait_ready(std::chrono::milliseconds timeout) const {
  MutexLock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ready_) {
    if (!cv_.wait_until(mu_, deadline)) return ready_;
  }
  return true;
}

void Watcher::restart() { canceller_.cancel(); }

Watcher::State Watcher::state() const {
  MutexLock lock(mu_);
  State s;
  s.ready = ready_;
  s.changes = changes_;
  if (auto it = cache_.find(leader_key_); it != cache_.end()) s.leader_revision = it->second.mod_revision;
  return s;
}

void Watcher::report_change() {
  {
    MutexLock lock(mu_);
    ++changes_;
  }
  on_change_();
}

bool Watcher::interesting(const std::string& key) const {
  return key == leader_key_ || key == config_key_ || key == status_key_ || key == optime_key_;
}

void Watcher::note_write(const std::string& key, std::optional<std::string> value, int64_t revision,
                         const std::string& lease) {
  if (key.compare(0, prefix_.size(), prefix_) == 0) (void)apply(key, std::move(value), revision, lease, false);
}

std::optional<uint64_t> Watcher::content_version() const {
  MutexLock lock(mu_);
  if (!ready_) return std::nullopt;
  return version_;
}

std::optional<std::vector<KeyValue>> Watcher::cached(uint64_t* version) const {
  MutexLock lock(mu_);
  if (!ready_) return std::nullopt;
  if (version) *version = version_;
  std::vector<KeyValue> out;
  out.reserve(cache_.size());
  for (const auto& [k, e] : cache_) {
    KeyValue kv;
    kv.key = k;
    kv.value = e.value;
    kv.mod_revision = e.mod_revision;
    kv.lease = e.lease;
    out.push_back(std::move(kv));
  }
  return out;
}

Watcher::Applied Watcher::apply(const std::string& key, std::optional<std::string> value, int64_t revision,
                                const std::string& lease, bool from_snapshot) {
  MutexLock lock(mu_);
  auto it = cache_.find(key);
  std::optional<std::string> old;
  if (it != cache_.end()) old = it->second.value;
  if (!from_snapshot) {
    if (value) {
      if (it != cache_.end() && it->second.mod_revision >= revision) return {};  // stale or our own echo
    } else {
      if (it == cache_.end() || it->second.mod_revision >= revision) return {};
    }
  }
  if (value) {
    Entry e{*value, revision, lease};
    if (it == cache_.end() || !(it->second == e)) {
      cache_[key] = std::move(e);
      ++version_;
    }
  } else if (it != cache_.end()) {
    cache_.erase(it);
    ++version_;
  }

  Applied out;
  // A member key that was not there (a member joined, or came back after its key expired).
  out.member_joined = !old && value && key.compare(0, members_prefix_.size(), members_prefix_) == 0 &&
                      key.size() > members_prefix_.size() && key.substr(members_prefix_.size()) != my_name_;
  if (old == value || !interesting(key)) return out;
  bool is_status = key == status_key_ || key == optime_key_;
  bool changed = key == leader_key_ || (is_status && value) || (key == config_key_ && old && value);
  if (changed && is_status) {
    auto leader = cache_.find(leader_key_);
    if (leader != cache_.end() && leader->second.value == my_name_) return out;
  }
  if (changed) spdlog::debug("etcd3 watch: {} changed", key);
  out.wake = changed;
  return out;
}

void Watcher::sleep_interruptibly(std::chrono::milliseconds d) {
  MutexLock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + d;
  while (!stop_) {
    if (!cv_.wait_until(mu_, deadline)) return;
  }
}

void Watcher::run() {
  auto backoff = 100ms;
  bool had_snapshot = false;
  const std::string range_end = prefix_range_end(prefix_);
  for (;;) {
    {
      MutexLock lock(mu_);
      if (stop_) return;
    }
    auto short_deadline = [&] { return Clock::now() + std::min<std::chrono::milliseconds>(client_.retry_timeout(), 3000ms); };
    auto r = client_.range(prefix_, range_end, serializable_, short_deadline());
    if (!r) {
      spdlog::debug("etcd3 watch: reading {} failed: {}", prefix_, r.error().message);
      sleep_interruptibly(backoff);
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 1000ms);
      continue;
    }
    // Compare the snapshot with what we knew: changes while the stream was down count too.
    std::map<std::string, const KeyValue*> snapshot;
    for (const auto& kv : r->kvs)
      if (kv.key.compare(0, prefix_.size(), prefix_) == 0) snapshot[kv.key] = &kv;
    std::set<std::string> keys;
    {
      MutexLock lock(mu_);
      for (const auto& [k, v] : cache_) keys.insert(k);
    }
    for (const auto& [k, v] : snapshot) keys.insert(k);
    Applied wake;
    for (const auto& k : keys) {
      auto it = snapshot.find(k);
      if (it == snapshot.end())
        wake |= apply(k, std::nullopt, r->revision, "", true);
      else
        wake |= apply(k, it->second->value, it->second->mod_revision, it->second->lease, true);
    }
    if (wake.wake && had_snapshot) report_change();
    if (wake.member_joined && had_snapshot && on_member_joined_) on_member_joined_();
    had_snapshot = true;

    {
      MutexLock lock(mu_);
      if (stop_) return;
      canceller_.reset();
    }
    ++connections_;
    json create = {{"key", net::base64_encode(prefix_)},
                   {"range_end", net::base64_encode(range_end)},
                   {"start_revision", std::to_string(r->revision + 1)}};
    auto started = Clock::now();
    auto on_message = [&](const json& result) {
      if (result.contains("created") && result["created"] == true) {
        {
          MutexLock lock(mu_);
          ready_ = true;
        }
        cv_.notify_all();
        on_change_();  // a watch() waiting without a cache can now compare the leader's revision
      }
      if (result.contains("canceled") && result["canceled"] == true) {
        spdlog::info("etcd3 watch: cancelled by etcd (compact_revision {})",
                     result.contains("compact_revision") ? result["compact_revision"].dump() : "?");
        return false;
      }
      auto events = result.find("events");
      if (events == result.end() || !events->is_array()) return true;
      Applied changed;
      for (const auto& ev : *events) {
        if (!ev.is_object() || !ev.contains("kv")) continue;
        auto kv = decode_kv(ev["kv"]);
        if (!kv || kv->key.compare(0, prefix_.size(), prefix_) != 0) continue;
        bool deleted = ev.contains("type") && ev["type"] == "DELETE";
        changed |= apply(kv->key, deleted ? std::nullopt : std::optional<std::string>(kv->value), kv->mod_revision,
                         deleted ? std::string() : kv->lease, false);
      }
      if (changed.wake) report_change();
      if (changed.member_joined && on_member_joined_) on_member_joined_();
      return true;
    };
    // etcd sends nothing on a quiet prefix: a long idle limit avoids re-reading the prefix every
    // 20 s, while TCP keepalive (net/http_client) ends a stream whose peer vanished in ~11 s.
    auto idle = std::max<std::chrono::milliseconds>(client_.retry_timeout() * 2, 300000ms);
    auto w = client_.watch(create, on_message, canceller_, idle, short_deadline());
    {
      MutexLock lock(mu_);
      ready_ = false;
      if (stop_) return;
    }
    if (!w) {
      spdlog::debug("etcd3 watch on {} ended: {}", client_.current_endpoint(), w.error().message);
      if (w.error().grpc_code < 0 && w.error().message != "watch cancelled") client_.rotate_endpoint();
    }
    if (Clock::now() - started > 5s) backoff = 100ms;
    sleep_interruptibly(backoff);
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, 1000ms);
  }
}

}  // namespace custos::dcs::etcd3
