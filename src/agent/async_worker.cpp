#include "agent/async_worker.h"

#include <spdlog/spdlog.h>

#include "common/thread_pool.h"

namespace custos::agent {

AsyncWorker::AsyncWorker(std::function<void()> on_done) : on_done_(std::move(on_done)) {
  thread_ = std::thread([this] {
    set_current_thread_name("async-worker");
    run();
  });
}

AsyncWorker::~AsyncWorker() { shutdown(); }

bool AsyncWorker::start(ha::AsyncTask task, Task fn) {
  {
    MutexLock lk(mu_);
    if (stopping_ || task_ || finished_) return false;
    task_ = std::move(task);
    pending_ = std::move(fn);
    token_ = CancelToken();
  }
  cv_.notify_all();
  return true;
}

std::optional<ha::AsyncTask> AsyncWorker::current() const {
  MutexLock lk(mu_);
  return task_;
}

std::optional<ha::AsyncResult> AsyncWorker::take_finished() {
  MutexLock lk(mu_);
  if (!finished_) return std::nullopt;
  auto out = std::move(finished_);
  finished_.reset();
  task_.reset();
  return out;
}

void AsyncWorker::cancel_current() {
  MutexLock lk(mu_);
  if (task_) token_.cancel();
}

bool AsyncWorker::wait_idle(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lk(mu_);
  while (executing_ || pending_) {
    if (!cv_.wait_until(mu_, deadline)) return !(executing_ || pending_);
  }
  return true;
}

void AsyncWorker::shutdown() {
  {
    MutexLock lk(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    if (task_) token_.cancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AsyncWorker::run() {
  while (true) {
    Task fn;
    ha::AsyncTask task;
    CancelToken token;
    {
      MutexLock lk(mu_);
      while (!pending_ && !stopping_) cv_.wait(mu_);
      if (!pending_) return;  // stopping, nothing queued
      fn = std::move(pending_);
      pending_ = nullptr;
      task = *task_;
      token = token_;
      executing_ = true;
    }
    TaskResult result;
    try {
      result = fn(token);
    } catch (const std::exception& e) {
      result = TaskResult(std::string("unexpected exception: ") + e.what());
    } catch (...) {
      result = TaskResult("unexpected exception");
    }
    if (!result.error.empty()) spdlog::error("{} failed: {}", task.display_name(), result.error);
    {
      MutexLock lk(mu_);
      finished_ = ha::AsyncResult{task, result.error.empty(), result.error, result.rewind, result.started_replica};
      executing_ = false;
    }
    cv_.notify_all();
    if (on_done_) on_done_();
  }
}

}  // namespace custos::agent
