#include "dcs/zookeeper/zk_session.h"

#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

namespace custos::dcs::zookeeper {

using namespace std::chrono_literals;

// One async call's outcome, shared by the waiting caller and the completion (which may come
// after the caller gave up: the completion holds its own reference).
struct ZkPending {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int rc = zrc::kTimedOut;
  std::optional<std::string> value;
  ZStat stat;
  std::vector<std::string> children;

  void finish(int code) {
    {
      std::lock_guard<std::mutex> lock(mu);
      rc = code;
      done = true;
    }
    cv.notify_all();
  }
  // Waits for the completion until `deadline`: its rc, or kTimedOut.
  int wait(Deadline deadline) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_until(lock, deadline, [&] { return done; });
    return done ? rc : zrc::kTimedOut;
  }
  // The heap reference handed to the C client as a completion's `data`, and taken back there.
  static const void* hand_over(const std::shared_ptr<ZkPending>& p) { return new std::shared_ptr<ZkPending>(p); }
  static std::shared_ptr<ZkPending> take_back(const void* data) {
    auto* holder = static_cast<std::shared_ptr<ZkPending>*>(const_cast<void*>(data));
    std::shared_ptr<ZkPending> p = std::move(*holder);
    delete holder;
    return p;
  }
};

struct ZkSession::Handle {
  ZkSession* owner = nullptr;
  zhandle_t* zh = nullptr;
  std::atomic<bool> expired{false};
  // Since when (steady clock ticks) the handle has been seen waiting for the server's answer to
  // its connection handshake (ZOO_ASSOCIATING_STATE), by polls no more than 250 ms apart; 0 when
  // last seen in any other state or when a reply came. While a server refuses connections the
  // client cycles through connecting and stays unseen here: only an accepted connection that
  // gets no answer counts.
  std::atomic<Clock::rep> handshake_since{0};
  std::atomic<Clock::rep> last_poll{0};
  // Set by the first thread that replaces this handle: one replacement, one warning.
  std::atomic<bool> replacing{false};
  // The session's id and password as of the last "connected" event (the C client's own copy
  // is written by its IO thread; the event comes after that write).
  std::mutex id_mu;
  clientid_t id{};

  // Seen in the handshake, without a gap in our polls, for longer than `timeout`.
  bool stuck(std::chrono::milliseconds timeout) {
    const Clock::rep now = Clock::now().time_since_epoch().count();
    const Clock::rep previous = last_poll.exchange(now);
    if (zoo_state(zh) != ZOO_ASSOCIATING_STATE) {
      handshake_since = 0;
      return false;
    }
    if (previous == 0 || Clock::duration(now - previous) > 250ms) {
      handshake_since = now;  // not watched in between: count from here
      return false;
    }
    Clock::rep since = 0;
    if (handshake_since.compare_exchange_strong(since, now)) return false;
    return Clock::duration(now - since) > timeout;
  }
  void note_reply() { handshake_since = 0; }
  // From the watcher, with the handle the C client passes (h->zh may not be assigned yet).
  void note_connected(zhandle_t* from) {
    std::lock_guard<std::mutex> lock(id_mu);
    if (const clientid_t* current = from ? zoo_client_id(from) : nullptr) id = *current;
  }
  clientid_t session() {
    std::lock_guard<std::mutex> lock(id_mu);
    return id;
  }
  ~Handle() {
    if (zh) zookeeper_close(zh);  // pending completions run with ZCLOSING; no callback after
  }
};

namespace {

bool retriable(int rc) {
  return rc == zrc::kConnectionLoss || rc == zrc::kOperationTimeout || rc == zrc::kInvalidState ||
         rc == zrc::kSessionExpired || rc == zrc::kClosing || rc == zrc::kTimedOut;
}

ZkError error_of(int rc, const std::string& what, const std::string& path) {
  ZkError e;
  e.rc = rc;
  e.message = "zookeeper " + what + " " + path + ": " +
              (rc == zrc::kTimedOut ? std::string("no reply before the deadline") : std::string(zerror(rc)));
  if (rc == zrc::kNoAuth || rc == zrc::kAuthFailed)
    e.kind = DcsErrorKind::kAuth;
  else if (rc == zrc::kBadVersion || rc == zrc::kNodeExists)
    e.kind = DcsErrorKind::kCasConflict;
  else if (retriable(rc))
    e.kind = DcsErrorKind::kUnreachable;
  else
    e.kind = DcsErrorKind::kMalformedReply;
  return e;
}

ZStat stat_of(const struct Stat* s) {
  ZStat z;
  if (!s) return z;
  z.version = s->version;
  z.czxid = s->czxid;
  z.mzxid = s->mzxid;
  z.ephemeral_owner = s->ephemeralOwner;
  return z;
}

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? std::string() : path.substr(0, slash);
}

void log_line(const char* message) { spdlog::debug("zookeeper client: {}", message ? message : ""); }

void data_done(int rc, const char* value, int len, const struct Stat* stat, const void* data) {
  auto p = ZkPending::take_back(data);
  if (rc == zrc::kOk) {
    p->value = value && len > 0 ? std::string(value, static_cast<std::size_t>(len)) : std::string();
    p->stat = stat_of(stat);
  }
  p->finish(rc);
}

void stat_done(int rc, const struct Stat* stat, const void* data) {
  auto p = ZkPending::take_back(data);
  if (rc == zrc::kOk) p->stat = stat_of(stat);
  p->finish(rc);
}

void string_stat_done(int rc, const char* /*name*/, const struct Stat* stat, const void* data) {
  auto p = ZkPending::take_back(data);
  if (rc == zrc::kOk) p->stat = stat_of(stat);
  p->finish(rc);
}

void void_done(int rc, const void* data) { ZkPending::take_back(data)->finish(rc); }

void strings_done(int rc, const struct String_vector* strings, const struct Stat* stat, const void* data) {
  auto p = ZkPending::take_back(data);
  if (rc == zrc::kOk) {
    if (strings)
      for (int32_t i = 0; i < strings->count; ++i) p->children.emplace_back(strings->data[i]);
    p->stat = stat_of(stat);
  }
  p->finish(rc);
}

void auth_done(int rc, const void* /*data*/) {
  if (rc != zrc::kOk) spdlog::error("zookeeper: authentication failed: {}", zerror(rc));
}

thread_local std::mt19937 rng{std::random_device{}()};

}  // namespace

ZkSession::ZkSession(std::string hosts, std::chrono::milliseconds session_timeout,
                     std::vector<std::pair<std::string, std::string>> auth_data,
                     std::function<void(const ZkEvent&)> on_event)
    : hosts_(std::move(hosts)), auth_data_(std::move(auth_data)), on_event_(std::move(on_event)) {
  static std::once_flag quiet;
  std::call_once(quiet, [] { zoo_set_debug_level(ZOO_LOG_LEVEL_WARN); });
  MutexLock lock(mu_);
  session_timeout_ = session_timeout;
}

ZkSession::~ZkSession() {
  std::shared_ptr<Handle> h;
  {
    MutexLock lock(mu_);
    h.swap(handle_);
  }
  h.reset();  // closes the session (its ephemeral nodes go at once)
}

void ZkSession::deliver(const ZkEvent& event, Handle* from, zhandle_t* zh) {
  if (event.type == ZOO_SESSION_EVENT) {
    if (event.state == ZOO_CONNECTED_STATE) {
      from->note_connected(zh);
    } else if (event.state == ZOO_EXPIRED_SESSION_STATE) {
      spdlog::warn("zookeeper: session expired");
      from->expired = true;
    } else if (event.state == ZOO_AUTH_FAILED_STATE) {
      spdlog::error("zookeeper: authentication failed");
    }
  }
  if (on_event_) on_event_(event);
}

std::shared_ptr<ZkSession::Handle> ZkSession::handle() {
  {
    MutexLock lock(mu_);
    if (handle_ && !handle_->expired) return handle_;
  }
  auto h = open_handle(nullptr);
  if (!h) return nullptr;
  MutexLock lock(mu_);
  if (handle_ && !handle_->expired) return handle_;  // another thread was first; ours closes
  handle_ = h;
  return h;
}

std::shared_ptr<ZkSession::Handle> ZkSession::open_handle(const void* resume) {
  std::chrono::milliseconds timeout;
  {
    MutexLock lock(mu_);
    timeout = session_timeout_;
  }
  auto h = std::make_shared<Handle>();
  h->owner = this;
  auto watcher = [](zhandle_t* zh, int type, int state, const char* path, void* ctx) {
    auto* handle = static_cast<Handle*>(ctx);
    handle->owner->deliver(ZkEvent{type, state, path ? path : ""}, handle, zh);
  };
  h->zh = zookeeper_init(hosts_.c_str(), watcher, static_cast<int>(timeout.count()),
                         static_cast<const clientid_t*>(resume), h.get(), 0);
  if (!h->zh) {
    spdlog::error("zookeeper: cannot create a client for {}: errno {}", hosts_, errno);
    return nullptr;
  }
  zoo_set_log_callback(h->zh, log_line);
  for (const auto& [scheme, credential] : auth_data_)
    zoo_add_auth(h->zh, scheme.c_str(), credential.data(), static_cast<int>(credential.size()), auth_done, nullptr);
  return h;
}

void ZkSession::reconnect(const std::shared_ptr<Handle>& stuck) {
  if (stuck->replacing.exchange(true)) return;  // another waiting thread does it
  {
    MutexLock lock(mu_);
    // Replaced already, or answered after all: keep it (replacing stays clear for a later
    // handshake of this handle).
    if (handle_ != stuck || zoo_state(stuck->zh) != ZOO_ASSOCIATING_STATE) {
      stuck->replacing = false;
      return;
    }
  }
  // The session's id and password from its last connection: the new handle resumes it (a
  // session never established has none, and the new handle asks for a new one).
  const clientid_t id = stuck->session();
  spdlog::warn("zookeeper: the server took our connection but left its handshake unanswered for {} ms: "
               "connecting again (session 0x{:x}, servers {})",
               connect_timeout_ms_.load(), id.client_id, hosts_);
  auto h = open_handle(id.client_id != 0 ? &id : nullptr);
  if (!h) {
    stuck->replacing = false;
    return;
  }
  // Once made, the new handle is installed, never discarded: it may have connected already, and
  // closing a connected handle would end the session both share.
  std::shared_ptr<Handle> old;
  {
    MutexLock lock(mu_);
    if (handle_ != stuck) return;  // only drop_handle or restart replace a handle meanwhile
    old.swap(handle_);
    handle_ = h;
  }
  // The watches left on the old handle are gone with it: whoever waits on them looks again.
  if (on_event_) on_event_(ZkEvent{ZOO_SESSION_EVENT, zrc::kWatchesLostState, ""});
}

void ZkSession::set_connect_timeout(std::chrono::milliseconds timeout) { connect_timeout_ms_ = timeout.count(); }

void ZkSession::drop_handle(const std::shared_ptr<Handle>& expired) {
  std::shared_ptr<Handle> old;
  {
    MutexLock lock(mu_);
    if (handle_ == expired) old.swap(handle_);
  }
}

void ZkSession::restart(std::chrono::milliseconds session_timeout) {
  std::shared_ptr<Handle> old;
  {
    MutexLock lock(mu_);
    session_timeout_ = session_timeout;
    old.swap(handle_);
    last_reply_.reset();
  }
  old.reset();
}

int64_t ZkSession::session_id() const {
  MutexLock lock(mu_);
  if (!handle_ || !handle_->zh) return 0;
  const clientid_t* id = zoo_client_id(handle_->zh);
  return id ? id->client_id : 0;
}

std::chrono::milliseconds ZkSession::negotiated_timeout() const {
  MutexLock lock(mu_);
  if (handle_ && handle_->zh && zoo_state(handle_->zh) == ZOO_CONNECTED_STATE)
    return std::chrono::milliseconds(zoo_recv_timeout(handle_->zh));
  return session_timeout_;
}

std::optional<Clock::time_point> ZkSession::last_reply() const {
  MutexLock lock(mu_);
  return last_reply_;
}

void ZkSession::note_reply(const Handle& from, Clock::time_point started) {
  MutexLock lock(mu_);
  if (handle_.get() != &from) return;  // an old session's reply proves nothing about the current one
  if (!last_reply_ || *last_reply_ < started) last_reply_ = started;
}

ZkResult<std::vector<std::shared_ptr<ZkPending>>> ZkSession::run_batch(const char* what,
                                                                       const std::vector<std::string>& paths,
                                                                       const Issue& issue, bool no_node_is_an_answer,
                                                                       Deadline deadline) {
  auto backoff = 50ms;
  int last = zrc::kTimedOut;
  std::string last_path = paths.empty() ? std::string() : paths.front();
  const std::chrono::milliseconds connect_timeout(connect_timeout_ms_.load());
  // Waits for one reply until the deadline, looking every 100 ms whether the handle is stuck
  // connecting (then kTimedOut with `stuck` set: the caller starts over on a new connection).
  const auto wait_reply = [&](ZkPending& p, Handle& h, bool& stuck) {
    for (;;) {
      const int rc = p.wait(std::min<Deadline>(deadline, Clock::now() + 100ms));
      if (rc != zrc::kTimedOut) h.note_reply();
      if (rc != zrc::kTimedOut || Clock::now() >= deadline) return rc;
      if (h.stuck(connect_timeout)) {
        stuck = true;
        return zrc::kTimedOut;
      }
    }
  };
  do {
    auto h = handle();
    if (h) {
      std::vector<std::shared_ptr<ZkPending>> pending;
      const auto started = Clock::now();
      int rc = zrc::kOk;
      for (std::size_t i = 0; i < paths.size() && rc == zrc::kOk; ++i) {
        auto p = std::make_shared<ZkPending>();
        const void* data = ZkPending::hand_over(p);
        rc = issue(*h, i, data);
        if (rc != zrc::kOk) {
          ZkPending::take_back(data);  // refused at once: the completion will never run
          last_path = paths[i];
        } else {
          pending.push_back(std::move(p));
        }
      }
      bool stuck = false;
      for (std::size_t i = 0; i < pending.size() && rc == zrc::kOk; ++i) {
        const int one = wait_reply(*pending[i], *h, stuck);
        if (one != zrc::kOk && !(no_node_is_an_answer && one == zrc::kNoNode)) {
          rc = one;
          last_path = paths[i];
        }
      }
      if (rc == zrc::kOk || !retriable(rc)) {
        if (rc != zrc::kTimedOut) note_reply(*h, started);
        if (rc == zrc::kOk) return pending;
        if (zoo_state(h->zh) == ZOO_AUTH_FAILED_STATE) rc = zrc::kAuthFailed;
        return Err<ZkError>{error_of(rc, what, last_path)};
      }
      last = rc;
      if (rc == zrc::kSessionExpired || h->expired || zoo_state(h->zh) == ZOO_EXPIRED_SESSION_STATE) {
        h->expired = true;
        drop_handle(h);
      } else if (stuck) {
        reconnect(h);
      }
      if (zoo_state(h->zh) == ZOO_AUTH_FAILED_STATE) return Err<ZkError>{error_of(zrc::kAuthFailed, what, last_path)};
    }
    const auto left = deadline - Clock::now();
    if (left <= 0s) break;
    const auto jitter = std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 20)(rng));
    std::this_thread::sleep_for(std::min<Clock::duration>(backoff + jitter, left));
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, 1000ms);
  } while (Clock::now() < deadline);
  ZkError e = error_of(last, what, last_path);
  e.kind = DcsErrorKind::kUnreachable;
  e.message = "ZooKeeper not reachable within retry_timeout: " + e.message;
  return Err<ZkError>{e};
}

ZkResult<std::shared_ptr<ZkPending>> ZkSession::run(const char* what, const std::string& path,
                                                    const std::function<int(Handle&, const void*)>& issue,
                                                    Deadline deadline) {
  auto r = run_batch(what, {path}, [&](Handle& h, std::size_t, const void* data) { return issue(h, data); }, false,
                     deadline);
  if (!r) return Err<ZkError>{r.error()};
  return std::move(r.value().front());
}

ZkResult<std::optional<ZNode>> ZkSession::get(const std::string& path, bool watch, Deadline deadline) {
  auto r = run("get", path,
               [&](Handle& h, const void* data) { return zoo_aget(h.zh, path.c_str(), watch ? 1 : 0, data_done, data); },
               deadline);
  if (!r) {
    if (r.error().is(zrc::kNoNode)) return std::optional<ZNode>{};
    return Err<ZkError>{r.error()};
  }
  return std::optional<ZNode>{ZNode{r.value()->value.value_or(""), r.value()->stat}};
}

ZkResult<std::optional<ZStat>> ZkSession::exists(const std::string& path, bool watch, Deadline deadline) {
  // zoo_aexists leaves its watch on a missing node too: its creation is reported.
  auto r = run("exists", path,
               [&](Handle& h, const void* data) { return zoo_aexists(h.zh, path.c_str(), watch ? 1 : 0, stat_done, data); },
               deadline);
  if (!r) {
    if (r.error().is(zrc::kNoNode)) return std::optional<ZStat>{};
    return Err<ZkError>{r.error()};
  }
  return std::optional<ZStat>{r.value()->stat};
}

ZkResult<std::vector<std::optional<ZNode>>> ZkSession::get_many(const std::vector<std::pair<std::string, bool>>& paths,
                                                                Deadline deadline) {
  std::vector<std::string> names;
  for (const auto& [path, watch] : paths) names.push_back(path);
  auto r = run_batch("get", names,
                     [&](Handle& h, std::size_t i, const void* data) {
                       return zoo_aget(h.zh, paths[i].first.c_str(), paths[i].second ? 1 : 0, data_done, data);
                     },
                     true, deadline);
  if (!r) return Err<ZkError>{r.error()};
  std::vector<std::optional<ZNode>> out;
  for (const auto& p : *r) {
    if (p->rc == zrc::kNoNode) out.emplace_back();
    else out.emplace_back(ZNode{p->value.value_or(""), p->stat});
  }
  return out;
}

ZkResult<std::optional<std::vector<std::string>>> ZkSession::children(const std::string& path, bool watch,
                                                                       Deadline deadline) {
  auto r = run("get_children", path,
               [&](Handle& h, const void* data) {
                 return zoo_aget_children2(h.zh, path.c_str(), watch ? 1 : 0, strings_done, data);
               },
               deadline);
  if (!r) {
    if (r.error().is(zrc::kNoNode)) return std::optional<std::vector<std::string>>{};
    return Err<ZkError>{r.error()};
  }
  return std::optional<std::vector<std::string>>{r.value()->children};
}

ZkResult<ZStat> ZkSession::create(const std::string& path, const std::string& value, bool ephemeral,
                                  Deadline deadline) {
  auto attempt = [&](const std::string& p, const std::string& v, int mode) {
    return run("create", p,
               [&](Handle& h, const void* data) {
                 return zoo_acreate2(h.zh, p.c_str(), v.data(), static_cast<int>(v.size()), &ZOO_OPEN_ACL_UNSAFE, mode,
                                     string_stat_done, data);
               },
               deadline);
  };
  auto r = attempt(path, value, ephemeral ? ZOO_EPHEMERAL : ZOO_PERSISTENT);
  if (!r && r.error().is(zrc::kNoNode)) {
    // Missing parents: create them, outermost first, as empty persistent nodes.
    std::vector<std::string> parents;
    for (std::string p = parent_of(path); !p.empty(); p = parent_of(p)) parents.push_back(p);
    for (auto it = parents.rbegin(); it != parents.rend(); ++it) {
      auto pr = attempt(*it, "", ZOO_PERSISTENT);
      if (!pr && !pr.error().is(zrc::kNodeExists)) return Err<ZkError>{pr.error()};
    }
    r = attempt(path, value, ephemeral ? ZOO_EPHEMERAL : ZOO_PERSISTENT);
  }
  if (!r) return Err<ZkError>{r.error()};
  return r.value()->stat;
}

ZkResult<ZStat> ZkSession::set(const std::string& path, const std::string& value, int32_t version,
                               Deadline deadline) {
  auto r = run("set", path,
               [&](Handle& h, const void* data) {
                 return zoo_aset(h.zh, path.c_str(), value.data(), static_cast<int>(value.size()), version, stat_done,
                                 data);
               },
               deadline);
  if (!r) return Err<ZkError>{r.error()};
  return r.value()->stat;
}

ZkResult<Unit> ZkSession::remove(const std::string& path, int32_t version, Deadline deadline) {
  auto r = run("delete", path,
               [&](Handle& h, const void* data) { return zoo_adelete(h.zh, path.c_str(), version, void_done, data); },
               deadline);
  if (!r) return Err<ZkError>{r.error()};
  return Unit{};
}

ZkResult<Unit> ZkSession::remove_tree(const std::string& path, Deadline deadline) {
  auto kids = children(path, false, deadline);
  if (!kids) return Err<ZkError>{kids.error()};
  if (!*kids) return Unit{};
  for (const auto& child : **kids) {
    auto r = remove_tree(path + "/" + child, deadline);
    if (!r) return r;
  }
  auto r = remove(path, -1, deadline);
  if (!r && !r.error().is(zrc::kNoNode)) return r;
  return Unit{};
}

}  // namespace custos::dcs::zookeeper
