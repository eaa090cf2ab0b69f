#include "agent/script_hooks.h"

#include <spdlog/spdlog.h>

#include "agent/state_mapping.h"
#include "common/shlex.h"
#include "common/thread_pool.h"

namespace custos::agent {

using namespace std::chrono_literals;

const char* to_string(CallbackAction action) {
  switch (action) {
    case CallbackAction::on_start: return "on_start";
    case CallbackAction::on_stop: return "on_stop";
    case CallbackAction::on_restart: return "on_restart";
    case CallbackAction::on_reload: return "on_reload";
    case CallbackAction::on_role_change: return "on_role_change";
  }
  return "noop";
}

HooksConfig hooks_config_from(const nlohmann::json& postgresql, const std::string& scope, int pg_ctl_timeout,
                              PatroniGeneration presentation) {
  HooksConfig c;
  c.scope = scope;
  c.presentation = presentation;
  c.before_stop_timeout = pg_ctl_timeout > 0 ? pg_ctl_timeout : 60;
  if (!postgresql.is_object()) return c;
  if (auto it = postgresql.find("callbacks"); it != postgresql.end() && it->is_object()) {
    for (auto action : {CallbackAction::on_start, CallbackAction::on_stop, CallbackAction::on_restart,
                        CallbackAction::on_reload, CallbackAction::on_role_change}) {
      auto cmd = it->find(to_string(action));
      if (cmd != it->end() && cmd->is_string() && !cmd->get<std::string>().empty())
        c.callbacks[action] = cmd->get<std::string>();
    }
  }
  for (auto [key, field] : {std::pair{"pre_promote", &c.pre_promote}, std::pair{"before_stop", &c.before_stop}}) {
    auto it = postgresql.find(key);
    if (it != postgresql.end() && it->is_string()) *field = it->get<std::string>();
  }
  return c;
}

namespace {

// Patroni passes the role of a node being promoted as the primary's.
std::string callback_role(ha::Role role, PatroniGeneration presentation) {
  return role_text(role == ha::Role::promoted ? ha::Role::primary : role, presentation);
}

std::string joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

RunOptions script_options(const std::string& name, std::chrono::milliseconds timeout, const CancelToken* cancel) {
  RunOptions o;
  o.timeout = timeout;
  o.cancel = cancel;
  o.on_output_line = [name](std::string_view line, bool) { spdlog::info("{}: {}", name, line); };
  return o;
}

}  // namespace

ScriptHooks::ScriptHooks(ProcessRunner& runner, HooksConfig config) : runner_(runner), config_(std::move(config)) {
  main_thread_ = std::thread([this] {
    set_current_thread_name("callbacks");
    worker(false);
  });
  reload_thread_ = std::thread([this] {
    set_current_thread_name("on-reload-callback");
    worker(true);
  });
}

ScriptHooks::~ScriptHooks() {
  {
    MutexLock lk(mu_);
    stop_ = true;
    for (Slot* s : {&main_, &reload_}) {
      s->pending.reset();
      if (s->running) s->running->cancel();
    }
  }
  cv_.notify_all();
  main_thread_.join();
  reload_thread_.join();
}

HooksConfig ScriptHooks::config() const {
  MutexLock lk(mu_);
  return config_;
}

void ScriptHooks::set_config(const HooksConfig& config) {
  MutexLock lk(mu_);
  config_ = config;
}

void ScriptHooks::fire(CallbackAction action, ha::Role role) {
  const HooksConfig c = config();
  auto it = c.callbacks.find(action);
  if (it == c.callbacks.end()) return;
  const std::string role_name = callback_role(role, c.presentation);
  auto argv = shlex_split(it->second);
  if (!argv || argv->empty()) {
    spdlog::error("callback {} '{}' {} {} failed: {}", it->second, to_string(action), role_name, c.scope,
                  argv ? std::string("empty command") : argv.error());
    return;
  }
  std::vector<std::string> cmd = std::move(argv).value();
  cmd.insert(cmd.end(), {to_string(action), role_name, c.scope});
  {
    MutexLock lk(mu_);
    Slot& slot = action == CallbackAction::on_reload ? reload_ : main_;
    // One at a time: the one running (and its children) makes way for the new one, which also
    // replaces one that has not started yet.
    if (slot.running) slot.running->cancel();
    slot.pending = std::move(cmd);
  }
  cv_.notify_all();
}

void ScriptHooks::worker(bool reload_slot) {
  while (true) {
    std::vector<std::string> cmd;
    CancelToken token;
    {
      MutexLock lk(mu_);
      Slot& slot = reload_slot ? reload_ : main_;
      while (!stop_ && !slot.pending) cv_.wait(mu_);
      if (stop_) return;
      cmd = std::move(*slot.pending);
      slot.pending.reset();
      slot.running = token;
    }
    spdlog::debug("running callback: {}", joined(cmd));
    auto r = runner_.run(cmd, script_options(cmd.front(), std::chrono::hours(24 * 365), &token));
    if (!r) spdlog::error("Failed to execute {}: {}", joined(cmd), r.error());
    else if (r->cancelled) spdlog::warn("Killed {} because it was still running", joined(cmd));
    else spdlog::debug("callback {} {}", joined(cmd), r->describe());
    {
      MutexLock lk(mu_);
      Slot& slot = reload_slot ? reload_ : main_;
      slot.running.reset();
    }
    cv_.notify_all();
  }
}

bool ScriptHooks::wait_idle(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lk(mu_);
  while (main_.pending || main_.running || reload_.pending || reload_.running) {
    if (!cv_.wait_until(mu_, deadline)) return false;
  }
  return true;
}

Status<std::string> ScriptHooks::pre_promote(const CancelToken& cancel) {
  const HooksConfig c = config();
  if (c.pre_promote.empty()) return Unit{};
  auto argv = shlex_split(c.pre_promote);
  if (!argv || argv->empty()) {
    spdlog::error("Failed to execute {}: {}", c.pre_promote, argv ? std::string("empty command") : argv.error());
    return make_error(std::string("pre_promote cannot be run"));
  }
  auto r = runner_.run(argv.value(), script_options(argv->front(), std::chrono::hours(24 * 365), &cancel));
  if (!r) {
    spdlog::error("Failed to execute {}: {}", c.pre_promote, r.error());
    return make_error(r.error());
  }
  spdlog::info("pre_promote script `{}` exited with {}", c.pre_promote, r->exit_code);
  if (r->success()) return Unit{};
  return make_error("pre_promote script " + r->describe());
}

void ScriptHooks::before_stop() {
  const HooksConfig c = config();
  if (c.before_stop.empty()) return;
  auto argv = shlex_split(c.before_stop);
  if (!argv || argv->empty()) {
    spdlog::error("Exception when calling `{}`: {}", c.before_stop, argv ? std::string("empty command") : argv.error());
    return;
  }
  auto r = runner_.run(argv.value(),
                       script_options(argv->front(), std::chrono::seconds(c.before_stop_timeout), nullptr));
  if (!r) {
    spdlog::error("Exception when calling `{}`: {}", c.before_stop, r.error());
    return;
  }
  if (r->timed_out) spdlog::warn("before_stop script `{}` {}", c.before_stop, r->describe());
  spdlog::info("before_stop script `{}` exited with {}", c.before_stop, r->exit_code);
}

}  // namespace custos::agent
