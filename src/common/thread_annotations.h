// Clang thread-safety annotations (checked by scripts/check-thread-safety.sh, part of the test
// command) and the annotated lock types every guarded field uses: Mutex, MutexLock (a scoped
// lock) and CondVar (waits release and re-take a Mutex the caller holds). With other compilers
// the annotations expand to nothing. The lock order and who owns what: docs/architecture.md.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define CUSTOS_TSA(x) __attribute__((x))
#else
#define CUSTOS_TSA(x)
#endif

#define CAPABILITY(x) CUSTOS_TSA(capability(x))
#define SCOPED_CAPABILITY CUSTOS_TSA(scoped_lockable)
#define GUARDED_BY(x) CUSTOS_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) CUSTOS_TSA(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) CUSTOS_TSA(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) CUSTOS_TSA(acquired_after(__VA_ARGS__))
#define REQUIRES(...) CUSTOS_TSA(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) CUSTOS_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) CUSTOS_TSA(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) CUSTOS_TSA(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) CUSTOS_TSA(locks_excluded(__VA_ARGS__))
#define RETURN_CAPABILITY(x) CUSTOS_TSA(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS CUSTOS_TSA(no_thread_safety_analysis)

namespace custos {

// A std::mutex the analysis knows about.
class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ACQUIRE() { m_.lock(); }
  void unlock() RELEASE() { m_.unlock(); }
  bool try_lock() TRY_ACQUIRE(true) { return m_.try_lock(); }

 private:
  friend class CondVar;
  std::mutex m_;
};

// Holds a Mutex for its scope.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() RELEASE() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

// A condition variable over a Mutex the caller holds (the wait releases it meanwhile). Waits
// may wake spuriously: callers loop on their condition.
class CondVar {
 public:
  void notify_one() { cv_.notify_one(); }
  void notify_all() { cv_.notify_all(); }

  void wait(Mutex& mu) REQUIRES(mu) {
    std::unique_lock<std::mutex> lk(mu.m_, std::adopt_lock);
    cv_.wait(lk);
    lk.release();
  }
  // False when `deadline` passed.
  template <class Clock, class Duration>
  bool wait_until(Mutex& mu, const std::chrono::time_point<Clock, Duration>& deadline) REQUIRES(mu) {
    std::unique_lock<std::mutex> lk(mu.m_, std::adopt_lock);
    const bool notified = cv_.wait_until(lk, deadline) == std::cv_status::no_timeout;
    lk.release();
    return notified;
  }
  template <class Rep, class Period>
  bool wait_for(Mutex& mu, const std::chrono::duration<Rep, Period>& d) REQUIRES(mu) {
    return wait_until(mu, std::chrono::steady_clock::now() + d);
  }

 private:
  std::condition_variable cv_;
};

}  // namespace custos
