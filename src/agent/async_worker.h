// AsyncWorker: runs one long action at a time (bootstrap, clone, promote, demote, restart,
// rewind, crash recovery, ...) on its own thread, started by the constructor and kept for the
// agent's lifetime, so that the HA loop keeps refreshing the leader lock meanwhile (ha.md §3.14).
// The loop takes the outcome at the start of a cycle (take_finished) and applies it.
//
// Thread: start/current/take_finished/cancel from any thread (the loop, REST operations through
// the loop). Blocking: never, except shutdown() and wait_idle() (until the running task ends).
// Errors: a task reports failure as a non-empty error text; an exception escaping it is caught
// and becomes its error.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "common/cancel_token.h"
#include "common/thread_annotations.h"
#include "ha/bookkeeping.h"
#include "ha/local_state.h"

namespace custos::agent {

class AsyncWorker {
 public:
  // What a task body reports: an empty error on success; some tasks also settle the
  // diverged-timeline question or leave PostgreSQL starting (ha::AsyncResult).
  struct TaskResult {
    TaskResult() = default;
    TaskResult(std::string e) : error(std::move(e)) {}  // NOLINT(google-explicit-constructor)
    TaskResult(const char* e) : error(e) {}             // NOLINT(google-explicit-constructor)
    std::string error;
    std::optional<ha::RewindState> rewind;
    bool started_replica = false;
  };
  // The task body; `cancel` asks it to stop early.
  using Task = std::function<TaskResult(const CancelToken& cancel)>;

  // `on_done` runs on the worker thread after each task (e.g. wake the HA loop).
  explicit AsyncWorker(std::function<void()> on_done);
  ~AsyncWorker();  // shutdown()
  AsyncWorker(const AsyncWorker&) = delete;
  AsyncWorker& operator=(const AsyncWorker&) = delete;

  // Queues `fn` unless a task runs or its outcome was not taken yet, or shutdown began.
  bool start(ha::AsyncTask task, Task fn) EXCLUDES(mu_);
  // The running task (also while its outcome waits to be taken).
  std::optional<ha::AsyncTask> current() const EXCLUDES(mu_);
  bool busy() const { return current().has_value(); }
  std::optional<ha::AsyncResult> take_finished() EXCLUDES(mu_);
  // Asks the running task to stop at its next check point (its own token only).
  void cancel_current() EXCLUDES(mu_);
  // Waits until no task body is executing (its outcome may still wait to be taken).
  bool wait_idle(std::chrono::milliseconds timeout) EXCLUDES(mu_);
  // Refuses new tasks, cancels the running one, waits for it and joins the thread. Idempotent.
  void shutdown() EXCLUDES(mu_);

 private:
  void run() EXCLUDES(mu_);

  std::function<void()> on_done_;
  mutable Mutex mu_;
  CondVar cv_;
  std::optional<ha::AsyncTask> task_ GUARDED_BY(mu_);
  Task pending_ GUARDED_BY(mu_);
  bool executing_ GUARDED_BY(mu_) = false;
  CancelToken token_ GUARDED_BY(mu_);
  std::optional<ha::AsyncResult> finished_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace custos::agent
