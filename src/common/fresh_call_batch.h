// FreshCallBatch<T>: one call shared by every caller that wants an answer no older than its own
// arrival. A caller that finds no call running starts one and hands its result to everyone who
// arrived before it started; a caller that finds a call already running (started before it
// arrived, so possibly too old for it) waits for it to end and then shares the next one, which
// whichever caller first finds no call running (a waiter or a newcomer) starts. Under a burst of
// N concurrent callers the call therefore runs about twice, not N times, and every answer still
// comes from a call that began after the caller asked (GET /patroni's live status query: fresh
// WAL positions for each request, one query per burst instead of one per request).
//
// Thread: get() from any thread; the call itself runs on the thread of the caller that started
// it, outside the internal lock. Blocking: up to `deadline` waiting for others' calls, plus the
// duration of a call this caller starts before `deadline` (the call must bound itself). Errors: an exception from
// the call reaches the caller that ran it; the waiters then start the next call among
// themselves.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <utility>

#include "common/thread_annotations.h"

namespace custos {

template <class T>
class FreshCallBatch {
 public:
  // The result of a call of `call` (a callable returning T) that started after get() was
  // entered: this caller's own, or one another caller ran; nullopt when no such call finished by
  // `deadline` (steady clock) while this caller waited for others, and when the turn to start
  // one came only at or after `deadline`. A shared call runs with the bounds its starter gave
  // it (GET /patroni: every request passes the same timeout).
  template <class Call>
  std::optional<T> get(Call&& call, std::chrono::steady_clock::time_point deadline) EXCLUDES(mu_) {
    mu_.lock();
    // The first call to start from now on: the next one, whether or not one runs now.
    const uint64_t needed = started_ + 1;
    while (finished_ < needed) {
      if (!running_) {
        if (std::chrono::steady_clock::now() >= deadline) break;  // too late to start one
        running_ = true;
        const uint64_t generation = ++started_;
        mu_.unlock();
        std::optional<T> result;
        std::exception_ptr failure;
        try {
          result.emplace(call());
        } catch (...) {
          failure = std::current_exception();
        }
        mu_.lock();
        running_ = false;
        if (!failure) {
          finished_ = generation;
          last_ = std::move(result);
        }
        cv_.notify_all();
        if (failure) {
          mu_.unlock();
          std::rethrow_exception(failure);
        }
        continue;
      }
      ++waiting_;
      const bool woken = cv_.wait_until(mu_, deadline);
      --waiting_;
      if (!woken && finished_ < needed) break;
    }
    if (finished_ < needed) {
      mu_.unlock();
      return std::nullopt;
    }
    std::optional<T> out;
    try {
      out = last_;
    } catch (...) {  // a copy that cannot allocate must not leave the lock held
      mu_.unlock();
      throw;
    }
    mu_.unlock();
    return out;
  }

  // How many calls have started, and how many callers wait for another's call now (tests).
  uint64_t calls_started() const EXCLUDES(mu_) {
    MutexLock lk(mu_);
    return started_;
  }
  int waiting() const EXCLUDES(mu_) {
    MutexLock lk(mu_);
    return waiting_;
  }

 private:
  mutable Mutex mu_;
  CondVar cv_;
  bool running_ GUARDED_BY(mu_) = false;
  int waiting_ GUARDED_BY(mu_) = 0;
  uint64_t started_ GUARDED_BY(mu_) = 0;   // calls started so far (the generation of the last)
  uint64_t finished_ GUARDED_BY(mu_) = 0;  // the generation of the newest call that returned
  std::optional<T> last_ GUARDED_BY(mu_);  // its result
};

}  // namespace custos
