// Background watcher of one key prefix (dcs.md §5 "Watch cache"): reads the prefix, opens a
// streaming /watch from the next revision and keeps a copy of every key under it (value, mod
// revision, lease), so that the HA loop reads the cluster from memory instead of asking etcd
// every cycle. It reports when the HA loop must wake up: the `leader` value changed (deleted,
// expired, other name), `config` changed, or `status`/`optime/leader` changed while the leader
// is not us. Reconnects after errors (next endpoint, fresh read, new start revision) with a
// backoff, never busy-looping; while it is not connected the cache is not offered.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcs/etcd3/client.h"
#include "net/http_client.h"

namespace custos::dcs::etcd3 {

class Watcher {
 public:
  // `prefix`: absolute key prefix to watch (the member's client path, ending in '/').
  // `on_change` is called from the watcher thread.
  Watcher(Etcd3Client& client, std::string prefix, std::string my_name, bool serializable,
          std::function<void()> on_change);
  ~Watcher();  // stops the thread (cancels the stream)
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // True while a watch stream is established (after its initial read).
  bool ready() const;
  // Waits until ready() or the timeout; returns ready().
  bool wait_ready(std::chrono::milliseconds timeout) const;

  // Our own successful write (value nullopt: delete) at `revision`, so that its echo from the
  // stream does not wake us up and our next read of the cache already sees it.
  void note_write(const std::string& key, std::optional<std::string> value, int64_t revision,
                  const std::string& lease = "");

  // Every key under the prefix as the stream last reported it, while the stream is
  // established; nullopt otherwise (the caller then reads etcd).
  std::optional<std::vector<KeyValue>> cached() const;

  // Drops the current stream and starts over (e.g. after re-authentication).
  void restart();

  // Number of (re)connections so far (for tests and logs).
  uint64_t connections() const { return connections_.load(); }

 private:
  struct Entry {
    std::string value;
    int64_t mod_revision = 0;
    std::string lease;
  };
  void run();
  // Applies one observed state of `key` (value nullopt: absent); returns whether to wake up.
  bool apply(const std::string& key, std::optional<std::string> value, int64_t revision, const std::string& lease,
             bool from_snapshot);
  bool interesting(const std::string& key) const;
  void sleep_interruptibly(std::chrono::milliseconds d);

  Etcd3Client& client_;
  const std::string prefix_;
  const std::string my_name_;
  const bool serializable_;
  std::function<void()> on_change_;
  const std::string leader_key_, config_key_, status_key_, optime_key_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, Entry> cache_;  // every key under the prefix
  bool ready_ = false;
  bool stop_ = false;
  net::StreamCanceller canceller_;
  std::atomic<uint64_t> connections_{0};
  std::thread thread_;
};

}  // namespace custos::dcs::etcd3
