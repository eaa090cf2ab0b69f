#include "agent/async_worker.h"

#include <spdlog/spdlog.h>

namespace custos::agent {

AsyncWorker::~AsyncWorker() { join(); }

bool AsyncWorker::start(ha::AsyncTask task, std::function<std::string()> fn) {
  std::lock_guard lk(mu_);
  if (task_ || finished_) return false;
  if (thread_.joinable()) thread_.join();
  task_ = task;
  thread_ = std::thread([this, task, fn = std::move(fn)] {
    std::string error;
    try {
      error = fn();
    } catch (const std::exception& e) {
      error = std::string("unexpected exception: ") + e.what();
    }
    if (!error.empty()) spdlog::error("{} failed: {}", task.display_name(), error);
    {
      std::lock_guard lk2(mu_);
      finished_ = AsyncOutcome{task, error.empty(), error};
    }
    if (on_done_) on_done_();
  });
  return true;
}

std::optional<ha::AsyncTask> AsyncWorker::current() const {
  std::lock_guard lk(mu_);
  return task_;
}

std::optional<AsyncOutcome> AsyncWorker::take_finished() {
  std::lock_guard lk(mu_);
  if (!finished_) return std::nullopt;
  auto out = std::move(finished_);
  finished_.reset();
  task_.reset();
  if (thread_.joinable()) thread_.join();
  return out;
}

void AsyncWorker::join() {
  std::thread t;
  {
    std::lock_guard lk(mu_);
    t = std::move(thread_);
  }
  if (t.joinable()) t.join();
}

}  // namespace custos::agent
