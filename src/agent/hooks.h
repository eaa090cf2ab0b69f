// Hooks: what runs around PostgreSQL at Patroni's moments (ha.md §12): the user's callbacks
// (on_start, on_stop, on_restart, on_reload, on_role_change), pre_promote and before_stop.
// ScriptHooks (agent/script_hooks.h) is the real one; tests use a recorder.
//
// Thread: HA loop and async worker. Blocking: fire() never blocks (callbacks run on threads of
// their own); pre_promote() until the script ends or `cancel`; before_stop() until the script
// ends or its timeout. Errors: pre_promote's failure cancels the promotion; the others are
// logged only.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "common/cancel_token.h"
#include "common/presentation.h"
#include "common/result.h"
#include "ha/local_state.h"

namespace custos::agent {

enum class CallbackAction { on_start, on_stop, on_restart, on_reload, on_role_change };
// "on_start", ... as Patroni passes them to the callback.
const char* to_string(CallbackAction action);

// The configured scripts (postgresql.callbacks, pre_promote, before_stop) and what they are
// called with.
struct HooksConfig {
  std::string scope;
  std::map<CallbackAction, std::string> callbacks;  // action -> command line (shlex-split)
  std::string pre_promote;                          // empty: none
  std::string before_stop;                          // empty: none
  int before_stop_timeout = 60;                     // seconds (pg_ctl_timeout)
  PatroniGeneration presentation = kDefaultPatroniGeneration;  // the primary's role argument
  bool operator==(const HooksConfig&) const = default;
};

// The hooks of a configuration: its `postgresql` section (callbacks, pre_promote, before_stop),
// the scope, and pg_ctl_timeout (before_stop's bound). Commands that are not strings are left out.
HooksConfig hooks_config_from(const nlohmann::json& postgresql, const std::string& scope, int pg_ctl_timeout,
                              PatroniGeneration presentation);

class Hooks {
 public:
  virtual ~Hooks() = default;
  // `<callback> <action> <role> <scope>` for the configured callback of `action`.
  virtual void fire(CallbackAction action, ha::Role role) = 0;
  // The pre_promote script; an error cancels the promotion. `cancel` ends it (the lock was lost).
  virtual Status<std::string> pre_promote(const CancelToken& cancel) = 0;
  virtual void before_stop() = 0;
  // A reload brought new scripts.
  virtual void set_config(const HooksConfig& config) { (void)config; }
};

class NoHooks final : public Hooks {
 public:
  void fire(CallbackAction, ha::Role) override {}
  Status<std::string> pre_promote(const CancelToken&) override { return Unit{}; }
  void before_stop() override {}
};

}  // namespace custos::agent
