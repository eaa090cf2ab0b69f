// The executor half of Agent: carries out the steps of an ha::Decision (decision.h contract).
// Conditional steps pick the branch; a DCS error on a lock refresh aborts the plan so that the
// loop decides again as if the DCS were unreachable. Long actions go to the AsyncWorker.
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <sstream>
#include <thread>

#include "agent/agent.h"
#include "agent/member_json.h"
#include "agent/state_mapping.h"
#include "common/version.h"
#include "dcs/slot_names.h"
#include "ha/follow_target.h"
#include "postgres/lsn.h"

namespace custos::agent {

using namespace std::chrono_literals;
using ha::Action;

namespace {

std::string iso_time(double epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm);
  std::string s = buf;
  if (s.size() > 5) s.insert(s.size() - 2, ":");
  return s;
}

}  // namespace

bool Agent::execute(const ha::Decision& decision, std::string& message) {
  const ha::Decision* d = &decision;
  while (true) {
    const ha::Decision* next = nullptr;
    for (std::size_t i = 0; i < d->steps.size(); ++i) {
      const ha::Step& step = d->steps[i];
      const StepOutcome out = run_step(step);
      if (out == StepOutcome::dcs_error) {
        message = "DCS error";
        return false;
      }
      if (fatal_) {
        message = d->message.empty() ? *fatal_ : d->message;
        return true;
      }
      if (i + 1 == d->steps.size() && d->is_conditional() && ha::is_conditional(step.action))
        next = out == StepOutcome::success ? &d->on_success() : &d->on_failure();
    }
    if (!next && d->is_conditional()) next = &d->on_failure();  // defensive: malformed plan
    if (next) {
      d = next;
      continue;
    }
    message = d->message;
    return true;
  }
}

std::optional<int64_t> Agent::last_lsn_for_status() const {
  if (status_ && !status_->in_recovery && status_->flush_lsn) return status_->flush_lsn;
  return std::nullopt;
}

bool Agent::start_async(ha::AsyncKind kind, std::string name, std::function<std::string()> fn) {
  ha::AsyncTask task{kind, std::move(name)};
  if (worker_->busy()) {
    spdlog::warn("cannot start {}: another action is running", task.display_name());
    return false;
  }
  pg_->reset_cancel();
  if (!worker_->start(task, std::move(fn))) {
    spdlog::warn("cannot start {}: another action is running", task.display_name());
    return false;
  }
  local_.async = task;
  spdlog::info("started {}", task.display_name());
  return true;
}

bool Agent::start_restart(std::optional<int> timeout) {
  if (worker_->busy()) return false;
  set_pg_state("restarting");
  const bool replica = local_.in_recovery;
  std::optional<Upstream> upstream;
  if (replica && view_ && view_->leader()) {
    if (auto m = view_->get_member(view_->leader()->name(), false)) upstream = upstream_of(*m);
  }
  const PgSettings s = pg_->settings();
  // ha.md §3.16/§6.4: a synchronous standby leaves the role (nosync) before the restart.
  const bool leave_sync =
      replica && settings_.is_synchronous_mode() && view_ && view_->sync().matches(local_.name);
  if (leave_sync) {
    leaving_sync_ = true;
    touch_member();
  }
  const int sync_wait = static_cast<int>(2 * settings_.loop_wait);
  const int wait_seconds = timeout.value_or(s.pg_ctl_timeout);
  const bool started = start_async(ha::AsyncKind::restart, "", [this, replica, upstream, s, leave_sync, sync_wait, wait_seconds,
                                                                 name = local_.name] {
    if (leave_sync) SyncReplication::leave_sync_role(*dcs_, name, sync_wait, [] {});
    if (!pg_->stop(postgres::StopMode::Fast, std::chrono::seconds(s.pg_ctl_timeout))) return std::string("stop failed");
    auto st = pg_->start(replica, upstream);
    if (!st) return st.error();
    return pg_->wait_ready(std::chrono::seconds(wait_seconds)) == ha::PgProcess::running
               ? std::string()
               : std::string("PostgreSQL did not start in time");
  });
  if (!started) leaving_sync_ = false;
  else pending_restart_params_.clear();
  return started;
}

nlohmann::json Agent::member_json() const {
  MemberInfo m;
  const PgSettings s = pg_->settings();
  m.conn_url = s.conn_url();
  m.api_url = s.api_url;
  m.proxy_url = s.proxy_url;
  m.state = pg_state_;
  m.role = role_text(local_.role);
  m.version = kPatroniCompatVersion;
  {
    std::lock_guard lk(config_mu_);
    m.tags = config_.tags();
  }
  if (leaving_sync_) {
    if (!m.tags.is_object()) m.tags = nlohmann::json::object();
    m.tags["nosync"] = true;
  }
  const bool async_blocks = local_.async && local_.async->kind != ha::AsyncKind::promote;
  if (status_ && !async_blocks) {
    m.xlog_location = status_->wal_position();
    if (status_->timeline > 0) m.timeline = status_->timeline;
    if (status_->in_recovery) m.replication_state = status_->receive_lsn ? "streaming" : "in archive recovery";
  }
  m.pending_restart = !pending_restart_params_.empty();
  m.checkpoint_after_promote_pending = checkpoint_after_promote_pending_;
  m.paused = settings_.pause;
  m.scheduled_restart = scheduled_restart_json();
  return build_member_json(m);
}

void Agent::touch_member() {
  auto st = dcs_->touch_member(member_json());
  if (!st) spdlog::warn("failed to update the member key: {}", st.error().describe());
}

// ---------------------------------------------------------------------------------------------
Agent::StepOutcome Agent::run_step(const ha::Step& step) {
  const double now = epoch_now();
  auto ok = StepOutcome::success;
  auto warn_dcs = [&](const char* what, const dcs::DcsStatus& st) {
    if (!st) spdlog::warn("{} failed: {}", what, st.error().describe());
  };
  switch (step.action) {
    case Action::none:
      return ok;
    // ---- DCS writes ----
    case Action::touch_member:
      touch_member();
      return ok;
    case Action::write_initialize:
      if (!local_.sysid.empty()) warn_dcs("write initialize", dcs_->initialize(step.flag, local_.sysid));
      return ok;
    case Action::write_config: {
      nlohmann::json dyn;
      {
        std::lock_guard lk(config_mu_);
        dyn = config_.dynamic();
      }
      if (!dyn.is_object()) dyn = nlohmann::json::object();
      auto r = dcs_->set_config_value(dyn.dump(), std::nullopt);
      if (!r) spdlog::warn("write config failed: {}", r.error().describe());
      return ok;
    }
    case Action::reload_cluster: {
      // After a lock change: the winner's key may be milliseconds old, read past the cache.
      auto c = dcs_->get_cluster_fresh();
      if (c) {
        view_ = c.value();
        if (view_->leader()) old_cluster_ = view_;
      } else {
        spdlog::warn("re-reading the cluster failed: {}", c.error().describe());
      }
      return ok;
    }
    case Action::release_lock: {
      auto st = dcs_->delete_leader(last_lsn_for_status());
      warn_dcs("release the leader lock", st);
      local_.last_lock_write.reset();
      return ok;
    }
    case Action::take_leader: {
      auto st = dcs_->take_leader();
      if (st) local_.last_lock_write = now;
      else spdlog::error("take_leader failed: {}", st.error().describe());
      return ok;
    }
    case Action::clear_failover_key: {
      std::optional<dcs::Version> v;
      if (!step.flag && view_ && view_->failover()) v = view_->failover()->version;
      auto r = dcs_->set_failover_value("{}", v);
      if (!r) spdlog::info("clearing the failover key failed: {}", r.error().describe());
      return ok;
    }
    case Action::rewrite_failover_key: {
      nlohmann::json f = {{"member", step.member}};
      std::optional<dcs::Version> v;
      if (view_ && view_->failover()) v = view_->failover()->version;
      auto r = dcs_->set_failover_value(f.dump(), v);
      if (!r) spdlog::info("rewriting the failover key failed: {}", r.error().describe());
      return ok;
    }
    case Action::cancel_initialization:
      warn_dcs("delete initialize", dcs_->cancel_initialization());
      return ok;
    // ---- conditional ----
    case Action::acquire_lock: {
      auto st = dcs_->attempt_to_acquire_leader();
      if (st) {
        local_.last_lock_write = now;
        spdlog::info("acquired the leader lock");
        return ok;
      }
      if (!st.error().is(dcs::DcsErrorKind::kLockOwnedByOther))
        spdlog::warn("attempt to acquire the leader lock failed: {}", st.error().describe());
      return StepOutcome::failure;
    }
    case Action::update_lock: {
      dcs::LeaderRefresh refresh;
      refresh.last_lsn = last_lsn_for_status();
      auto st = dcs_->update_leader(refresh);
      if (st) {
        local_.last_lock_write = now;
        return ok;
      }
      if (st.error().is(dcs::DcsErrorKind::kLockOwnedByOther)) {
        spdlog::error("the leader lock is held by another member now");
        local_.last_lock_write.reset();
        return StepOutcome::failure;
      }
      spdlog::error("refreshing the leader lock failed: {}", st.error().describe());
      return StepOutcome::dcs_error;
    }
    case Action::race_initialize: {
      auto st = dcs_->initialize(true, "");
      if (st) return ok;
      if (!st.error().is(dcs::DcsErrorKind::kCasConflict))
        spdlog::warn("initialize race failed: {}", st.error().describe());
      return StepOutcome::failure;
    }
    case Action::write_sync_state: {
      nlohmann::json v = {{"leader", local_.name}, {"sync_standby", nullptr}};
      std::optional<dcs::Version> ver;
      if (view_ && view_->sync().version) ver = view_->sync().version;
      auto r = dcs_->set_sync_state_value(v.dump(), ver);
      return r ? ok : StepOutcome::failure;
    }
    case Action::check_failsafe_topology:
      return StepOutcome::failure;  // POST /failsafe is not implemented yet: demote (the safe side)
    case Action::activate_watchdog:
      return settings_.watchdog_enabled ? StepOutcome::failure : ok;
    // ---- async PostgreSQL actions ----
    case Action::bootstrap:
      if (step.flag) {
        spdlog::error("bootstrapping a standby cluster (standby_cluster) is not supported yet");
        return ok;
      }
      local_.bootstrapping = true;
      local_.bootstrap_result = ha::BootstrapResult::pending;
      local_.role = ha::Role::uninitialized;
      set_pg_state("initializing new cluster");
      start_async(step.flag ? ha::AsyncKind::bootstrap_standby_leader : ha::AsyncKind::bootstrap, "", [this] {
        auto r = pg_->bootstrap();
        return r ? std::string() : r.error();
      });
      return ok;
    case Action::post_bootstrap:
      start_async(ha::AsyncKind::post_bootstrap, "", [this] {
        auto r = pg_->post_bootstrap();
        return r ? std::string() : r.error();
      });
      return ok;
    case Action::clone: {
      std::optional<dcs::Member> m;
      if (view_ && !step.member.empty()) m = view_->get_member(step.member, false);
      std::optional<Upstream> up = m ? upstream_of(*m) : std::nullopt;
      if (!up) {
        spdlog::error("cannot clone: no usable member '{}' (replica methods without a leader are not supported)",
                      step.member);
        return ok;
      }
      set_pg_state("creating replica");
      local_.role = ha::Role::uninitialized;
      const bool from_leader = view_ && view_->leader_name() == step.member;
      start_async(ha::AsyncKind::clone,
                  std::string("bootstrap from ") + (from_leader ? "leader" : "replica") + " '" + step.member + "'",
                  [this, u = *up] {
                    auto r = pg_->clone(u);
                    return r ? std::string() : r.error();
                  });
      return ok;
    }
    case Action::promote: {
      local_.role = ha::Role::promoted;
      checkpoint_after_promote_pending_ = true;
      const auto wait = std::chrono::milliseconds(static_cast<int64_t>(std::max(10.0, settings_.loop_wait) * 1000));
      start_async(ha::AsyncKind::promote, "", [this, wait] {
        auto r = pg_->promote(wait);
        return r ? std::string() : r.error();
      });
      return ok;
    }
    case Action::demote:
      do_demote(step.demote_mode);
      return ok;
    case Action::follow:
      do_follow(step);
      return ok;
    case Action::start_primary: {
      local_.start_timeout = step.seconds;
      set_pg_state("starting");
      const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(std::max(1.0, step.seconds) * 1000));
      start_async(ha::AsyncKind::start_primary, "", [this, timeout] {
        // Right after a crash the old backends may still hold the shared memory for a moment:
        // a postmaster that exits at once is started again until the start timeout.
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        std::string error = "PostgreSQL did not start in time";
        for (int attempt = 1; std::chrono::steady_clock::now() < deadline; ++attempt) {
          auto st = pg_->start(false, std::nullopt);
          if (!st) {
            error = st.error();
          } else {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            const auto r = pg_->wait_ready(std::max(left, std::chrono::milliseconds(1)));
            if (r == ha::PgProcess::running) return std::string();
            if (r == ha::PgProcess::starting) break;  // still starting at the deadline
            error = "the postmaster exited during start";
          }
          if (attempt >= 5) break;
          spdlog::warn("starting the primary failed ({}), retrying", error);
          std::this_thread::sleep_for(1s);
        }
        return error;
      });
      return ok;
    }
    case Action::crash_recovery:
      local_.crash_recovery_started = now;
      start_async(ha::AsyncKind::crash_recovery, "", [this] {
        auto r = pg_->crash_recovery();
        return r ? std::string() : r.error();
      });
      return ok;
    case Action::rewind: {
      std::optional<dcs::Member> m = view_ ? view_->get_member(step.member, false) : std::nullopt;
      std::optional<Upstream> up = m ? upstream_of(*m) : std::nullopt;
      if (!up) {
        spdlog::warn("cannot rewind: leader '{}' has no conn_url", step.member);
        return ok;
      }
      start_async(ha::AsyncKind::rewind, "running pg_rewind from " + step.member, [this, u = *up] {
        auto r = pg_->rewind(u);
        return r ? std::string() : r.error();
      });
      return ok;
    }
    case Action::reinitialize: {
      std::optional<dcs::Member> m = view_ ? view_->get_member(step.member, true) : std::nullopt;
      std::optional<Upstream> up = m ? upstream_of(*m) : std::nullopt;
      if (!up) return ok;
      set_pg_state("creating replica");
      start_async(ha::AsyncKind::reinitialize, "", [this, u = *up] {
        pg_->stop(postgres::StopMode::Immediate, 30s);
        auto moved = pg_->move_data_dir_aside("reinit." + std::to_string(static_cast<int64_t>(epoch_now())));
        if (!moved) return moved.error();
        auto r = pg_->clone(u);
        return r ? std::string() : r.error();
      });
      return ok;
    }
    case Action::restart:
      start_restart(std::nullopt);
      return ok;
    case Action::stop_postgres: {
      const auto mode = step.text == "immediate" ? postgres::StopMode::Immediate : postgres::StopMode::Fast;
      if (local_.process != ha::PgProcess::stopped || pg_->postmaster_pid()) {
        pg_->stop(mode, std::chrono::seconds(pg_->settings().pg_ctl_timeout));
        set_pg_state("stopped");
        local_.process = ha::PgProcess::stopped;
        arm_death_watcher();
      }
      return ok;
    }
    case Action::cancel_async:
      pg_->request_cancel();
      spdlog::warn("cancelling {} (best effort)", step.text);
      return ok;
    case Action::set_role:
      if (local_.role != step.role) spdlog::info("role: {} -> {}", role_text(local_.role), role_text(step.role));
      local_.role = step.role;
      return ok;
    case Action::set_synchronous_standby_names:
      sync_.set_names(step.text, [this] { apply_synchronous_standby_names(); });
      return ok;
    case Action::manage_sync_replication:
      if (view_)
        sync_.manage(
            *dcs_, *view_, settings_, local_.name,
            [this](const std::string& sql) { return pg_->query(sql, {}, std::chrono::milliseconds(5000)); },
            [this] { apply_synchronous_standby_names(); });
      return ok;
    case Action::update_history:
      do_update_history();
      return ok;
    case Action::ensure_checkpoint_after_promote:
      return ok;  // the promote task runs the CHECKPOINT before reporting success
    case Action::sync_replication_slots:
      if (!step.flag) sync_slots();
      return ok;
    case Action::trigger_rewind_check:
      arm_rewind_check();
      return ok;
    case Action::reset_rewind_state:
      local_.rewind = ha::RewindState::initial;
      local_.rewind_executed = false;
      return ok;
    case Action::reset_recovery_state:
      local_.recovering = false;
      local_.crash_recovery_started = 0;
      local_.start_timeout.reset();
      if (local_.rewind == ha::RewindState::success) local_.rewind = ha::RewindState::initial;
      return ok;
    case Action::remember_pre_promote_release:
      local_.released_lock_after_pre_promote = now;
      local_.pre_promote_failed = false;
      return ok;
    case Action::remove_data_directory: {
      auto moved = pg_->move_data_dir_aside("removed." + std::to_string(static_cast<int64_t>(now)));
      if (!moved) spdlog::error("{}", moved.error());
      return ok;
    }
    case Action::rename_data_directory: {
      auto moved = pg_->move_data_dir_aside("failed");
      if (!moved) spdlog::error("{}", moved.error());
      return ok;
    }
    case Action::watchdog_keepalive:
    case Action::watchdog_disable:
    case Action::sanity_checks:
      return ok;
    case Action::set_is_leader:
      if (step.flag) local_.last_lock_write = now;
      else local_.last_lock_write.reset();
      return ok;
    case Action::failsafe_active:
      failsafe_active_ = step.flag;
      return ok;
    case Action::delete_scheduled_restart:
      local_.scheduled_restart.reset();
      return ok;
    case Action::fire_on_start:
      local_.on_start_fired = true;
      return ok;
    case Action::finish_bootstrap:
      local_.bootstrapping = false;
      return ok;
    case Action::sleep: {
      std::unique_lock lk(wait_mu_);
      wait_cv_.wait_for(lk, std::chrono::milliseconds(static_cast<int64_t>(step.seconds * 1000)),
                        [&] { return stop_.load(); });
      return ok;
    }
    case Action::fatal_exit:
      fatal_ = step.text.empty() ? std::string("fatal error") : step.text;
      return ok;
  }
  return ok;
}

// ---------------------------------------------------------------------------------------------
void Agent::do_follow(const ha::Step& step) {
  std::string target = step.member;
  bool remote = step.flag;
  if (step.flag2) {
    auto c = dcs_->get_cluster_fresh();
    if (c) view_ = c.value();
    if (view_) {
      auto t = ha::node_to_follow(*view_, local_, settings_, holds_lock_in_view());
      target = t ? t->name : "";
      remote = t ? t->remote : false;
    }
  }
  std::optional<Upstream> upstream;
  if (remote) {
    if (!settings_.standby_cluster.host.empty())
      upstream = Upstream{"remote", settings_.standby_cluster.host, settings_.standby_cluster.port.value_or(5432)};
  } else if (!target.empty() && view_) {
    auto m = view_->get_member(target, false);
    if (m) upstream = upstream_of(*m);
    if (!upstream) spdlog::info("member '{}' to follow has no conn_url yet", target);
  }
  if (local_.role != step.role) spdlog::info("role: {} -> {}", role_text(local_.role), role_text(step.role));
  local_.role = step.role;

  if (local_.process == ha::PgProcess::stopped) {
    auto st = pg_->start(true, upstream);
    if (!st) {
      spdlog::error("cannot start PostgreSQL: {}", st.error());
      set_pg_state("start failed");
    } else {
      set_pg_state("starting");
      local_.process = ha::PgProcess::starting;
    }
    local_.recovering = true;
    local_.start_timeout = step.seconds > 0 ? std::optional<double>(step.seconds) : std::nullopt;
    arm_death_watcher();
    return;
  }
  // Running: rewrite primary_conninfo / slot when the target changed. PostgreSQL >= 13 applies
  // them on reload.
  if (!target.empty() && !upstream) return;  // keep the current configuration
  const auto desired = pg_->recovery_params(upstream);
  if (pg_->written_replica() && desired == pg_->written_recovery()) return;
  try {
    pg_->write_configuration(true, upstream);
  } catch (const std::exception& e) {
    spdlog::error("cannot write the recovery configuration: {}", e.what());
    return;
  }
  pg_->reload();
  spdlog::info("changed primary_conninfo to follow {}", upstream ? upstream->name : std::string("nobody"));
  arm_rewind_check();
}

void Agent::do_demote(ha::DemoteMode mode) {
  spdlog::warn("demoting PostgreSQL ({})", ha::to_string(mode));
  const PgSettings s = pg_->settings();
  const auto stop_timeout = std::chrono::seconds(s.pg_ctl_timeout);
  local_.role = ha::Role::demoted;
  checkpoint_after_promote_pending_ = false;
  // ha.md §3.13: in synchronous mode synchronous_standby_names is cleared before the stop.
  if (settings_.is_synchronous_mode()) sync_.set_names("", [this] { apply_synchronous_standby_names(); });
  if (mode == ha::DemoteMode::graceful) {
    const bool can_rewind = local_.can_rewind;
    start_async(ha::AsyncKind::demote, "manual failover: demote", [this, stop_timeout, can_rewind] {
      auto cp = pg_->query("CHECKPOINT", {}, 60s);
      if (!cp) spdlog::warn("CHECKPOINT before demote failed: {}", cp.error());
      if (!pg_->stop(postgres::StopMode::Fast, stop_timeout)) return std::string("cannot stop PostgreSQL");
      std::optional<int64_t> lsn;
      if (auto cd = pg_->controldata()) lsn = cd->checkpoint_lsn();
      auto st = dcs_->delete_leader(lsn);
      if (!st) spdlog::warn("release of the leader lock failed: {}", st.error().describe());
      if (!can_rewind) {
        auto r = pg_->start(true, std::nullopt);
        if (!r) return r.error();
      }
      return std::string();
    });
    local_.last_lock_write.reset();
    set_pg_state("stopping");
    arm_rewind_check();
    return;
  }
  const auto stop_mode = mode == ha::DemoteMode::offline ? postgres::StopMode::Fast : postgres::StopMode::Immediate;
  pg_->stop(stop_mode, stop_timeout);
  set_pg_state("stopped");
  local_.process = ha::PgProcess::stopped;
  if (mode == ha::DemoteMode::immediate) {
    auto st = dcs_->delete_leader(std::nullopt);
    if (!st) spdlog::warn("release of the leader lock failed: {}", st.error().describe());
  }
  if (mode != ha::DemoteMode::offline) local_.last_lock_write.reset();
  arm_rewind_check();
  if (local_.rewind == ha::RewindState::check && mode != ha::DemoteMode::offline) {
    // pg_rewind may be needed: start on the next cycle, after the check (ha.md §3.13).
    arm_death_watcher();
    return;
  }
  std::optional<Upstream> upstream;
  if (mode != ha::DemoteMode::offline && view_ && view_->leader() && view_->leader()->name() != local_.name) {
    if (auto m = view_->get_member(view_->leader()->name(), false)) upstream = upstream_of(*m);
  }
  auto r = pg_->start(true, upstream);
  if (!r) spdlog::error("cannot start PostgreSQL as a replica: {}", r.error());
  else set_pg_state("starting");
  local_.role = ha::Role::replica;
  arm_death_watcher();
}

void Agent::do_update_history() {
  if (!status_ || status_->in_recovery || status_->timeline <= 0 || !view_) return;
  const int64_t tl = status_->timeline;
  const auto& hist = view_->history();
  if (tl == 1) {
    if (!hist || hist->value != "[]") {
      auto st = dcs_->set_history_value("[]");
      if (!st) spdlog::warn("writing /history failed: {}", st.error().describe());
    }
    return;
  }
  if (hist) {
    auto lines = hist->lines();
    if (lines.is_array() && !lines.empty() && lines.back().is_array() && lines.back().size() == 5 &&
        lines.back()[0].is_number_integer() && lines.back()[0].get<int64_t>() == tl - 1)
      return;
  }
  const std::string text = pg_->read_history_file(tl);
  if (text.empty()) return;
  nlohmann::json out = nlohmann::json::array();
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    int64_t parent = 0;
    std::string lsn_text;
    if (!(ls >> parent >> lsn_text)) continue;
    std::string reason;
    std::getline(ls, reason);
    while (!reason.empty() && (reason.front() == ' ' || reason.front() == '\t')) reason.erase(reason.begin());
    auto lsn = postgres::parse_lsn(lsn_text);
    if (!lsn) continue;
    nlohmann::json entry = nlohmann::json::array({parent, *lsn, reason});
    out.push_back(entry);
  }
  if (out.empty()) return;
  // Keep the timestamps/names of lines already known; the last line gets now and our name.
  for (auto& e : out) {
    if (hist)
      for (const auto& l : hist->parsed_lines())
        if (l.timeline == e[0].get<int64_t>() && l.lsn == e[1].get<int64_t>() && l.timestamp) {
          e.push_back(*l.timestamp);
          if (l.new_leader) e.push_back(*l.new_leader);
        }
  }
  auto& lastline = out.back();
  while (lastline.size() > 3) lastline.erase(lastline.size() - 1);
  lastline.push_back(iso_time(epoch_now()));
  lastline.push_back(local_.name);
  auto st = dcs_->set_history_value(out.dump());
  if (!st) spdlog::warn("writing /history failed: {}", st.error().describe());
}

PgSettings Agent::pg_settings_for(const config::Config& config) const {
  PgSettings s = pg_settings_from_config(config);
  if (auto v = sync_.override_value(ha_settings_from_config(config).is_synchronous_mode())) {
    if (v->empty()) s.conf_parameters.erase("synchronous_standby_names");
    else s.conf_parameters["synchronous_standby_names"] = *v;
  }
  return s;
}

void Agent::apply_synchronous_standby_names() {
  {
    std::lock_guard lk(config_mu_);
    pg_->set_settings(pg_settings_for(config_));
  }
  if (local_.process != ha::PgProcess::running || worker_->busy() || pg_->data_dir_state() != ha::DataDir::present)
    return;  // the next start/follow writes postgresql.conf
  try {
    // A primary may have been adopted (nothing written by this process yet): write it in full.
    if (status_ && !status_->in_recovery) pg_->write_configuration(false, std::nullopt);
    else pg_->rewrite_configuration();
  } catch (const std::exception& e) {
    spdlog::warn("cannot rewrite postgresql.conf: {}", e.what());
    return;
  }
  pg_->reload();
}

void Agent::sync_slots() {
  if (!view_ || local_.process != ha::PgProcess::running || !status_) return;
  const PgSettings s = pg_->settings();
  if (!s.use_slots || !view_->use_slots()) return;
  const std::string role = status_->in_recovery ? "replica" : "master";
  auto slots = view_->get_replication_slots(local_.name, role, local_.tags.is_nofailover(),
                                            status_->server_version, settings_.is_standby_cluster());
  std::vector<std::string> expected;
  for (const auto& [name, attrs] : slots) {
    const bool physical = !attrs.is_object() || !attrs.contains("type") || attrs["type"] == "physical";
    if (physical) expected.push_back(name);
  }
  pg_->sync_physical_slots(expected);
}

}  // namespace custos::agent
