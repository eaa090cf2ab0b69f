// ThreadPool: a fixed set of worker threads, all started by the constructor and joined by the
// destructor, running posted tasks in order of arrival. The agent makes every thread it needs
// once at start-up (docs/architecture.md): this pool serves the parallel member queries.
//
// Thread: post() from any thread. Blocking: post() never blocks; tasks must bound their own
// run time. Errors: an exception escaping a task is logged and dropped (the worker survives).
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/thread_annotations.h"

namespace custos {

class ThreadPool {
 public:
  // `name` labels the threads (/proc/self/task/*/comm, at most 15 characters).
  ThreadPool(std::size_t threads, std::string name);
  ~ThreadPool();  // finishes queued tasks, then joins
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void post(std::function<void()> task) EXCLUDES(mu_);
  std::size_t size() const { return threads_.size(); }

 private:
  void work() EXCLUDES(mu_);

  Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// Names the calling thread (best effort; at most 15 characters are kept).
void set_current_thread_name(const std::string& name);

}  // namespace custos
