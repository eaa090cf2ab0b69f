#include "common/death_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "common/process.h"
#include "common/thread_pool.h"

namespace custos {

DeathWatcher::DeathWatcher(std::function<void(pid_t)> on_death) : on_death_(std::move(on_death)) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] {
    set_current_thread_name("death-watch");
    run();
  });
}

DeathWatcher::~DeathWatcher() {
  {
    MutexLock lk(mu_);
    stopping_ = true;
  }
  poke();
  thread_.join();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void DeathWatcher::poke() {
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
  (void)ignored;
}

void DeathWatcher::watch(std::optional<pid_t> pid) {
  {
    MutexLock lk(mu_);
    if (pid_ == pid) return;
    pid_ = pid;
    ++generation_;
  }
  poke();
}

std::optional<pid_t> DeathWatcher::watched() const {
  MutexLock lk(mu_);
  return pid_;
}

void DeathWatcher::run() {
  uint64_t seen_generation = ~uint64_t{0};
  // The pid being watched, 0 for none (a plain value: GCC 12 at -O2 misreads an optional here
  // as possibly uninitialized).
  pid_t pid = 0;
  int pidfd = -1;
  while (true) {
    {
      MutexLock lk(mu_);
      if (stopping_) break;
      if (generation_ != seen_generation) {
        seen_generation = generation_;
        if (pidfd >= 0) ::close(pidfd);
        pidfd = -1;
        pid = pid_.value_or(0);
        if (pid > 0) pidfd = open_pidfd(pid);
      }
    }
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {pidfd, POLLIN, 0}};
    const nfds_t n = pidfd >= 0 ? 2 : 1;
    // Without a pidfd a watched pid is checked every 100 ms; with nothing to watch, sleep until
    // poked.
    const int timeout_ms = pidfd >= 0 ? -1 : (pid > 0 ? 100 : -1);
    const int r = ::poll(fds, n, timeout_ms);
    if (r < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) {
      uint64_t v;
      ssize_t ignored = ::read(wake_fd_, &v, sizeof v);
      (void)ignored;
      continue;
    }
    if (pid <= 0) continue;
    const bool dead = pidfd >= 0 ? (n == 2 && (fds[1].revents & POLLIN) != 0) : !process_alive(pid);
    if (!dead) continue;
    try_reap(pid);
    const pid_t died = pid;
    {
      MutexLock lk(mu_);
      // Report only if it is still the process we were told to watch.
      if (generation_ != seen_generation) continue;
      pid_.reset();
      ++generation_;
      seen_generation = generation_;
    }
    if (pidfd >= 0) ::close(pidfd);
    pidfd = -1;
    pid = 0;
    on_death_(died);
  }
  if (pidfd >= 0) ::close(pidfd);
}

}  // namespace custos
