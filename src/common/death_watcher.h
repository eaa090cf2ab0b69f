// DeathWatcher: one thread, started by the constructor and joined by the destructor, that
// reports the death of the one process it is currently told to watch (the postmaster). The
// process to watch changes over time (start, adopt, stop); watch() swaps it without a new
// thread. Uses a pidfd (notification within milliseconds, Linux >= 5.3), else checks the pid
// every 100 ms.
//
// Thread: watch()/unwatch() from any thread; `on_death` runs on the watcher thread, once per
// watched process, and must not block. Blocking: never (watch() only hands the pid over).
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <thread>

#include "common/thread_annotations.h"

namespace custos {

class DeathWatcher {
 public:
  explicit DeathWatcher(std::function<void(pid_t)> on_death);
  ~DeathWatcher();
  DeathWatcher(const DeathWatcher&) = delete;
  DeathWatcher& operator=(const DeathWatcher&) = delete;

  // Watches `pid` from now on (replacing any previous one); nullopt: nothing.
  void watch(std::optional<pid_t> pid) EXCLUDES(mu_);
  std::optional<pid_t> watched() const EXCLUDES(mu_);

 private:
  void run() EXCLUDES(mu_);
  void poke();

  std::function<void(pid_t)> on_death_;
  int wake_fd_ = -1;  // eventfd: watch() changed the target, or stopping
  mutable Mutex mu_;
  std::optional<pid_t> pid_ GUARDED_BY(mu_);
  uint64_t generation_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace custos
