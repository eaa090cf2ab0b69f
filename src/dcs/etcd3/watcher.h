// Background watcher of one key prefix (dcs.md §5 "Watch cache"): reads the prefix, opens a
// streaming /watch from the next revision and keeps a copy of every key under it (value, mod
// revision, lease), so that the HA loop reads the cluster from memory instead of asking etcd
// every cycle. It reports when the HA loop must wake up: the `leader` value changed (deleted,
// expired, other name), `config` changed, or `status`/`optime/leader` changed while the leader
// is not us. Reconnects after errors (next endpoint, fresh read, new start revision) with a
// backoff, never busy-looping; while it is not connected the cache is not offered.
// Thread-safe: every public call may come from any thread and never blocks on etcd.
//
// Lock: mu_ guards the cache, its content version_, ready_, changes_ and stop_; cv_ (ready, stop) waits on it. It is
// never held while waiting on etcd (the read and the stream run without it) nor while calling
// on_change. Not quite a leaf: run() resets canceller_ (which takes the canceller's own lock,
// net/http_client.cpp) while holding it, so that the destructor's stop_ + cancel() cannot fall
// between the check of stop_ and the reset. Etcd3Dcs::watch() calls state() while holding its
// event_mu_ (that order only).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/thread_annotations.h"
#include "dcs/etcd3/client.h"
#include "net/http_client.h"

namespace custos::dcs::etcd3 {

class Watcher {
 public:
  // `prefix`: absolute key prefix to watch (the member's client path, ending in '/').
  // `on_change` is called from the watcher thread, without the watcher's lock held, after every
  // change that counts in State::changes and when the stream becomes established: a waiter then
  // re-reads state(). `on_member_joined` is called the same way when another member's key
  // appears (a member joined or came back: the lock holder creates its slot).
  Watcher(Etcd3Client& client, std::string prefix, std::string my_name, bool serializable,
          std::function<void()> on_change, std::function<void()> on_member_joined = {});
  ~Watcher();  // stops the thread (cancels the stream)
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // True while a watch stream is established (after its initial read).
  bool ready() const EXCLUDES(mu_);
  // Waits until ready() or the timeout; returns ready().
  bool wait_ready(std::chrono::milliseconds timeout) const EXCLUDES(mu_);

  // Our own successful write (value nullopt: delete) at `revision`, so that its echo from the
  // stream does not wake us up and our next read of the cache already sees it.
  void note_write(const std::string& key, std::optional<std::string> value, int64_t revision,
                  const std::string& lease = "") EXCLUDES(mu_);

  // Every key under the prefix as the stream last reported it, while the stream is
  // established; nullopt otherwise (the caller then reads etcd).
  // `version`, when given, receives the content version of what is returned.
  std::optional<std::vector<KeyValue>> cached(uint64_t* version = nullptr) const EXCLUDES(mu_);
  // A number that changes whenever any key in the cache changes (value, revision, lease, a key
  // added or removed), while the stream is established; nullopt otherwise. Equal versions mean
  // cached() would return the same keys: a reader may keep what it made of them.
  std::optional<uint64_t> content_version() const EXCLUDES(mu_);

  // What Etcd3Dcs::watch() decides on, read at one instant.
  struct State {
    bool ready = false;                      // the stream is established: leader_revision is current
    std::optional<int64_t> leader_revision;  // mod_revision of `leader` in the cache; nullopt: absent
    uint64_t changes = 0;                    // changes the HA loop wakes up for, seen so far (own writes excluded)
  };
  State state() const EXCLUDES(mu_);

  // Drops the current stream and starts over (e.g. after re-authentication).
  void restart();

  // Number of (re)connections so far (for tests and logs).
  uint64_t connections() const { return connections_.load(); }

 private:
  struct Entry {
    std::string value;
    int64_t mod_revision = 0;
    std::string lease;
    friend bool operator==(const Entry&, const Entry&) = default;
  };
  void run() EXCLUDES(mu_);
  // What one observed key state means for the HA loop.
  struct Applied {
    bool wake = false;           // counts in State::changes
    bool member_joined = false;  // another member's key appeared
    Applied& operator|=(const Applied& o) {
      wake |= o.wake;
      member_joined |= o.member_joined;
      return *this;
    }
  };
  // Applies one observed state of `key` (value nullopt: absent).
  Applied apply(const std::string& key, std::optional<std::string> value, int64_t revision, const std::string& lease,
                bool from_snapshot) EXCLUDES(mu_);
  bool interesting(const std::string& key) const;
  void sleep_interruptibly(std::chrono::milliseconds d) EXCLUDES(mu_);
  // Counts one batch of wake-worthy changes and tells on_change_.
  void report_change() EXCLUDES(mu_);

  Etcd3Client& client_;
  const std::string prefix_;
  const std::string my_name_;
  const bool serializable_;
  std::function<void()> on_change_;
  std::function<void()> on_member_joined_;
  const std::string leader_key_, config_key_, status_key_, optime_key_, members_prefix_;

  mutable Mutex mu_;
  mutable CondVar cv_;
  std::map<std::string, Entry> cache_ GUARDED_BY(mu_);  // every key under the prefix
  bool ready_ GUARDED_BY(mu_) = false;
  uint64_t changes_ GUARDED_BY(mu_) = 0;  // see State::changes
  uint64_t version_ GUARDED_BY(mu_) = 0;  // see content_version()
  bool stop_ GUARDED_BY(mu_) = false;
  net::StreamCanceller canceller_;
  std::atomic<uint64_t> connections_{0};
  std::thread thread_;
};

}  // namespace custos::dcs::etcd3
