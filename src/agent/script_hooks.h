// ScriptHooks: the user's scripts around PostgreSQL, run as Patroni runs them.
// - Callbacks: `shlex.split(command) + [action, role, scope]`, without a shell, the role as
//   Patroni names it (a primary, also one being promoted, is "master"). One callback at a time:
//   a new one replaces the one running (its whole process group is killed) and one still
//   waiting to start; on_reload runs apart, replacing only an on_reload still running. Their
//   output reaches the agent's log line by line; no timeout (a hung callback is ended by the
//   next one), and never on the HA loop.
// - pre_promote: run to completion in the promote task, cancellable (the lock was lost);
//   success is exit code 0.
// - before_stop: run to completion before each stop, bounded by before_stop_timeout; its exit
//   code is only logged.
//
// Thread: fire/set_config/pre_promote/before_stop from any thread. Two threads of its own
// ("callbacks", "on-reload-callback"), made by the constructor and joined by the destructor
// (which kills whatever still runs). Lock: one leaf mutex, never held while a script runs.
#pragma once

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/hooks.h"
#include "common/process_runner.h"
#include "common/thread_annotations.h"

namespace custos::agent {

class ScriptHooks final : public Hooks {
 public:
  ScriptHooks(ProcessRunner& runner, HooksConfig config);
  ~ScriptHooks() override;
  ScriptHooks(const ScriptHooks&) = delete;
  ScriptHooks& operator=(const ScriptHooks&) = delete;

  void fire(CallbackAction action, ha::Role role) override;
  Status<std::string> pre_promote(const CancelToken& cancel) override;
  void before_stop() override;
  void set_config(const HooksConfig& config) override;

  // Waits until no callback runs or waits (main at exit, tests). False after `timeout`.
  bool wait_idle(std::chrono::milliseconds timeout);

 private:
  struct Slot {
    std::optional<std::vector<std::string>> pending;
    std::optional<CancelToken> running;  // the token of the callback in progress
  };
  void worker(bool reload_slot);
  HooksConfig config() const;

  ProcessRunner& runner_;
  mutable Mutex mu_;
  CondVar cv_;
  HooksConfig config_ GUARDED_BY(mu_);
  Slot main_ GUARDED_BY(mu_);
  Slot reload_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread main_thread_, reload_thread_;
};

}  // namespace custos::agent
