// Hooks: the seam for what runs around PostgreSQL at Patroni's moments (ha.md §12): the user's
// callbacks (on_start, on_stop, on_restart, on_reload, on_role_change), pre_promote and
// before_stop. NoHooks is what custos runs with until callbacks are supported (issue 13): the
// configured ones are named in a warning at start (agent/feature_support.h).
//
// Thread: HA loop and async worker. Blocking: fire() never blocks (callbacks run elsewhere);
// pre_promote()/before_stop() until the script ends or its timeout. Errors: pre_promote's
// failure cancels the promotion.
#pragma once

#include <string>

#include "common/result.h"
#include "ha/local_state.h"

namespace custos::agent {

enum class CallbackAction { on_start, on_stop, on_restart, on_reload, on_role_change };

class Hooks {
 public:
  virtual ~Hooks() = default;
  // `<callback> <action> <role> <scope>` for the configured callback of `action`.
  virtual void fire(CallbackAction action, ha::Role role) = 0;
  // The pre_promote script; an error cancels the promotion.
  virtual Status<std::string> pre_promote() = 0;
  virtual void before_stop() = 0;
};

class NoHooks final : public Hooks {
 public:
  void fire(CallbackAction, ha::Role) override {}
  Status<std::string> pre_promote() override { return Unit{}; }
  void before_stop() override {}
};

}  // namespace custos::agent
