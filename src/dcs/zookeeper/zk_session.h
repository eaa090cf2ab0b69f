// One ZooKeeper session through Debian's C client (libzookeeper-mt), with what the C API lacks
// for us: every call bounded by a deadline (the async API, waited for with a timeout; a reply
// that comes later is dropped), retries on connection loss until that deadline, a new session
// when the old one expired, parents created on demand, and the results as values.
// The C client waits up to 2/3 of the session timeout for a server's answer to its connection
// handshake (a server that accepted the connection while starting may never answer it); we
// bound that wait by connect_timeout: a handle seen in its handshake for that long while a call
// waits is replaced by one that resumes the same session (same id and password: the ephemeral
// nodes stay; the old handle, not connected, closes without ending the session; its watches
// are gone, reported as a kWatchesLostState session event). Left: should the old handshake be
// answered in the instant between our last look and the old handle's close (after going
// unanswered for connect_timeout), the close would end the session, as an expiry would.
//
// Thread: any number of threads at once. The C client calls the watcher and completions from
// its own completion thread: on_event must not block. Locks (annotated): mu_ guards the handle
// (a leaf; never held while waiting for ZooKeeper). Errors: ZkError values, never exceptions.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/thread_annotations.h"
#include "dcs/dcs_error.h"

struct _zhandle;  // the C client's handle (zookeeper.h's zhandle_t)

namespace custos::dcs::zookeeper {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// ZooKeeper's return codes that matter here (zookeeper.h ZOO_ERRORS).
namespace zrc {
inline constexpr int kOk = 0;
inline constexpr int kConnectionLoss = -4;
inline constexpr int kOperationTimeout = -7;
inline constexpr int kInvalidState = -9;
inline constexpr int kNoNode = -101;
inline constexpr int kNoAuth = -102;
inline constexpr int kBadVersion = -103;
inline constexpr int kNoChildrenForEphemerals = -108;
inline constexpr int kNodeExists = -110;
inline constexpr int kNotEmpty = -111;
inline constexpr int kSessionExpired = -112;
inline constexpr int kAuthFailed = -115;
inline constexpr int kClosing = -116;
inline constexpr int kTimedOut = -10000;  // ours: the deadline passed before the reply
// Ours, as the state of a session event: the connection was replaced (same session) and the
// watches left on the old one are gone.
inline constexpr int kWatchesLostState = -10001;
}  // namespace zrc

struct ZkError {
  DcsErrorKind kind = DcsErrorKind::kUnreachable;
  std::string message;
  int rc = 0;
  bool is(int code) const { return rc == code; }
  DcsError to_dcs() const { return DcsError{kind, message}; }
};

template <class T>
using ZkResult = Result<T, ZkError>;

// The parts of a znode's Stat we use.
struct ZStat {
  int32_t version = 0;
  int64_t czxid = 0;
  int64_t mzxid = 0;
  int64_t ephemeral_owner = 0;  // session id of an ephemeral node's owner, 0 otherwise
};

struct ZNode {
  std::string value;
  ZStat stat;
};

// A watch event: ZOO_CREATED_EVENT etc. and the path; or a session event (type ZOO_SESSION_EVENT,
// state ZOO_CONNECTED_STATE / ZOO_EXPIRED_SESSION_STATE / ...).
struct ZkEvent {
  int type = 0;
  int state = 0;
  std::string path;
};

struct ZkPending;  // one async call's outcome (zk_session.cpp)

class ZkSession {
 public:
  // Connects in the background; calls wait for the connection within their deadline.
  ZkSession(std::string hosts, std::chrono::milliseconds session_timeout,
            std::vector<std::pair<std::string, std::string>> auth_data, std::function<void(const ZkEvent&)> on_event);
  ~ZkSession();
  ZkSession(const ZkSession&) = delete;
  ZkSession& operator=(const ZkSession&) = delete;

  // nullopt: no such node. `watch`: leave a watch that on_event reports.
  ZkResult<std::optional<ZNode>> get(const std::string& path, bool watch, Deadline deadline);
  // The node's Stat, nullopt when there is none; with `watch`, its creation, change or deletion
  // is reported (a watch that also works on a missing node).
  ZkResult<std::optional<ZStat>> exists(const std::string& path, bool watch, Deadline deadline);
  // Several nodes read at once (one round trip), each with a watch when its flag says so;
  // nullopt entries: no such node.
  ZkResult<std::vector<std::optional<ZNode>>> get_many(const std::vector<std::pair<std::string, bool>>& paths, Deadline deadline);
  // nullopt: no such node.
  ZkResult<std::optional<std::vector<std::string>>> children(const std::string& path, bool watch, Deadline deadline);
  // Creates the node (its missing parents as empty persistent nodes). kNodeExists when present.
  ZkResult<ZStat> create(const std::string& path, const std::string& value, bool ephemeral, Deadline deadline);
  // Sets the value if the version matches (-1: any). kNoNode, kBadVersion.
  ZkResult<ZStat> set(const std::string& path, const std::string& value, int32_t version, Deadline deadline);
  // Deletes the node if the version matches (-1: any). kNoNode, kBadVersion, kNotEmpty.
  ZkResult<Unit> remove(const std::string& path, int32_t version, Deadline deadline);
  // Deletes the node and everything under it (gone already: fine).
  ZkResult<Unit> remove_tree(const std::string& path, Deadline deadline);

  // The current session's id (0 before the first connection). Ephemeral nodes carry it.
  int64_t session_id() const EXCLUDES(mu_);
  // The session timeout the server granted (the requested one until connected).
  std::chrono::milliseconds negotiated_timeout() const EXCLUDES(mu_);
  // When the last successful call (a reply from the server) started: the session lives at
  // least negotiated_timeout() from then.
  std::optional<Clock::time_point> last_reply() const EXCLUDES(mu_);
  // Closes the session (its ephemeral nodes go) and opens a new one with `session_timeout`.
  void restart(std::chrono::milliseconds session_timeout) EXCLUDES(mu_);
  // How long a handshake may go unanswered while a call waits before the call starts over on a
  // new connection resuming the same session (default 1 s).
  void set_connect_timeout(std::chrono::milliseconds timeout);

 private:
  struct Handle;
  // The live handle (a new session when there is none or the last one expired).
  std::shared_ptr<Handle> handle() EXCLUDES(mu_);
  // A new C client handle; with `resume`, it takes over that session (id and password).
  std::shared_ptr<Handle> open_handle(const void* resume) EXCLUDES(mu_);
  // `stuck` has not finished connecting within connect_timeout: replace it (if it is still the
  // live handle) by one resuming its session.
  void reconnect(const std::shared_ptr<Handle>& stuck) EXCLUDES(mu_);
  void drop_handle(const std::shared_ptr<Handle>& expired) EXCLUDES(mu_);
  // Issues one async call per path (`issue` gets the completion's data pointer and returns the C
  // API's immediate rc), waits for all, and does it all again until an answer that is not
  // worth a retry, or the deadline. kNoNode of one path is an answer when
  // `no_node_is_an_answer` (that ZkPending's rc says so), else an error.
  using Issue = std::function<int(Handle&, std::size_t index, const void* data)>;
  ZkResult<std::vector<std::shared_ptr<ZkPending>>> run_batch(const char* what, const std::vector<std::string>& paths,
                                                              const Issue& issue, bool no_node_is_an_answer,
                                                              Deadline deadline);
  ZkResult<std::shared_ptr<ZkPending>> run(const char* what, const std::string& path,
                                           const std::function<int(Handle&, const void*)>& issue, Deadline deadline);
  // A reply on handle `from` to a call that started at `started` (ignored for a replaced handle).
  void note_reply(const Handle& from, Clock::time_point started) EXCLUDES(mu_);
  void deliver(const ZkEvent& event, Handle* from, ::_zhandle* zh);

  const std::string hosts_;
  const std::vector<std::pair<std::string, std::string>> auth_data_;
  std::function<void(const ZkEvent&)> on_event_;
  std::atomic<int64_t> connect_timeout_ms_{1000};
  mutable Mutex mu_;
  std::chrono::milliseconds session_timeout_ GUARDED_BY(mu_);
  std::shared_ptr<Handle> handle_ GUARDED_BY(mu_);
  std::optional<Clock::time_point> last_reply_ GUARDED_BY(mu_);
};

}  // namespace custos::dcs::zookeeper
