// AsyncWorker: runs one long action (bootstrap, clone, promote, restart, rewind, ...) at a time
// in its own thread so that the HA loop keeps refreshing the leader lock meanwhile (ha.md
// §3.14). The loop polls take_finished() at the start of each cycle and applies the outcome.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ha/local_state.h"

namespace custos::agent {

struct AsyncOutcome {
  ha::AsyncTask task;
  bool ok = false;
  std::string error;
};

class AsyncWorker {
 public:
  // `on_done` runs in the worker thread after each task (e.g. wake the HA loop).
  explicit AsyncWorker(std::function<void()> on_done) : on_done_(std::move(on_done)) {}
  ~AsyncWorker();
  AsyncWorker(const AsyncWorker&) = delete;
  AsyncWorker& operator=(const AsyncWorker&) = delete;

  // Starts `fn` unless a task is running or its outcome was not taken yet. `fn` returns an
  // empty string on success, else the error.
  bool start(ha::AsyncTask task, std::function<std::string()> fn);
  // The running task (also while its outcome waits to be taken).
  std::optional<ha::AsyncTask> current() const;
  bool busy() const { return current().has_value(); }
  std::optional<AsyncOutcome> take_finished();
  // Waits for the running task to end (shutdown).
  void join();

 private:
  std::function<void()> on_done_;
  mutable std::mutex mu_;
  std::optional<ha::AsyncTask> task_;
  std::optional<AsyncOutcome> finished_;
  std::thread thread_;
};

}  // namespace custos::agent
