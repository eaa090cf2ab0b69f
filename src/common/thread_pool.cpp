#include "common/thread_pool.h"

#include <pthread.h>

#include <spdlog/spdlog.h>

namespace custos {

void set_current_thread_name(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

ThreadPool::ThreadPool(std::size_t threads, std::string name) {
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this, name] {
      set_current_thread_name(name);
      work();
    });
}

ThreadPool::~ThreadPool() {
  {
    MutexLock lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::post(std::function<void()> task) {
  {
    MutexLock lk(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void ThreadPool::work() {
  while (true) {
    std::function<void()> task;
    {
      MutexLock lk(mu_);
      while (queue_.empty() && !stopping_) cv_.wait(mu_);
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      spdlog::error("unexpected exception in a pool task: {}", e.what());
    } catch (...) {
      spdlog::error("unexpected exception in a pool task");
    }
  }
}

}  // namespace custos
