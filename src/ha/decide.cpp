#include "ha/decide.h"

#include <cmath>
#include <cstdio>
#include <utility>

#include "ha/follow_target.h"
#include "ha/health.h"
#include "ha/quorum_state.h"
#include "ha/sync_selection.h"
#include "ha/schedule.h"
#include "common/time_format.h"

namespace custos::ha {
namespace {

std::vector<Step> cat(std::vector<Step> a, const std::vector<Step>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Decision leaf(Action headline, std::vector<Step> steps, std::string message) {
  return Decision(headline, std::move(steps), std::move(message));
}

Decision with_prefix(std::vector<Step> pre, Decision d) {
  d.prepend(pre);
  return d;
}

bool leaf_starts_async(const Decision& d) {
  for (const Step& s : d.steps)
    if (is_async(s.action())) return true;
  return false;
}

// dcs.md §2.4: all digits and at least 10 of them.
bool sysid_valid(const std::optional<std::string>& sysid) {
  if (!sysid || sysid->size() < 10) return false;
  for (char ch : *sysid)
    if (ch < '0' || ch > '9') return false;
  return true;
}

Step log_info(std::string line) { return step::Log{std::move(line), step::LogLevel::info}; }
Step log_warning(std::string line) { return step::Log{std::move(line), step::LogLevel::warning}; }

// Python's '%.0f' (round half to even, as printf does).
std::string fmt_whole_seconds(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string fmt_seconds(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

dcs::Cluster with_injected_leader(const dcs::Cluster& c, const LocalState::FailsafeLeader& fl) {
  nlohmann::json data = {{"api_url", fl.api_url}, {"conn_url", fl.conn_url}};
  dcs::Member member(fl.name, -1, std::nullopt, data);
  return dcs::Cluster(c.initialize(), c.config(), dcs::Leader(0, std::nullopt, member), c.status(),
                      c.members(), c.failover(), c.sync(), c.history(), c.failsafe());
}

class Planner {
 public:
  Planner(const DecisionInput& in, const dcs::Cluster& cluster)
      : in_(in), c_(cluster), me_(in.local), s_(in.settings), now_(in.now),
        paused_(in.settings.pause) {
    const auto leader = c_.leader_name();
    has_lock_ = leader && *leader == me_.name;
  }

  Decision run() {
    std::vector<Step> pre;
    // §2.1 is_leader is false without the lock in the view.
    if (!has_lock_ && me_.is_leader(now_, s_.ttl)) pre.push_back(step::SetIsLeader{false});
    // §2.2 pause bookkeeping.
    if (paused_) pre.push_back(step::WatchdogDisable{});
    if (me_.was_paused && !paused_) {
      pre.push_back(step::SanityChecks{});
      pre.push_back(step::ResetRewindState{});
    }
    // §2.3 own member key.
    if (!c_.has_member(me_.name)) pre.push_back(step::TouchMember{});
    // §2.4 leader fixes `initialize`.
    if (has_lock_ && !sysid_valid(c_.initialize()))
      pre.push_back(step::WriteInitialize{!c_.initialize().has_value()});
    // §2.5 leader writes a missing/empty `config`.
    if (has_lock_ && (!c_.config() || c_.config()->data().empty())) {
      pre.push_back(step::WriteConfig{});
      pre.push_back(step::ReloadCluster{});
    }

    // Patroni's has_lock() line, logged on every cycle with a leader (the agent drops it before a
    // heartbeat line at INFO, as Patroni's logger does).
    if (const auto leader = c_.leader_name()) log_.emplace_back("Lock owner: " + *leader + "; I am " + me_.name, false);
    Decision d = body();
    d.prepend(pre);
    d.log = std::move(log_);
    d.race_verdict = std::move(race_verdict_);
    // §2.15: write own member key at the end of every cycle with a readable DCS.
    d.for_each_leaf([&](Decision& l) {
      if (!l.has(Action::fatal_exit)) l.steps.push_back(step::TouchMember{});
      if (paused_) l.message = "PAUSE: " + l.message;
    });
    return d;
  }

 private:
  HealthContext ctx() const {
    return HealthContext{c_, in_.old_cluster ? &*in_.old_cluster : nullptr, me_, s_, in_.members,
                         now_};
  }
  // Patroni logs, at INFO, why each candidate does not qualify (each line once per cycle).
  bool failover_possible() {
    std::vector<std::string> notes;
    const bool possible = is_failover_possible(ctx(), 0, false, &notes);
    for (std::string& n : notes) {
      bool seen = false;
      for (const auto& [line, warning] : log_) seen = seen || line == n;
      if (!seen) log_.emplace_back(std::move(n), false);
    }
    return possible;
  }

  // §2 steps 6-14.
  Decision body() {
    // 6. Async action.
    if (me_.async) return async_in_progress();
    // 7. PostgreSQL starting.
    if (me_.process == PgProcess::starting && !paused_ && has_lock_) return starting_as_leader();
    // 8. Post-bootstrap.
    if (me_.bootstrapping) return post_bootstrap();

    std::vector<Step> pre;
    // 9. Returning from a recovery attempt.
    if (me_.recovering) {
      if (!me_.rewind_pending() && !me_.is_running()) {
        std::vector<Step> st = {step::ResetRecoveryState{}, step::WatchdogDisable{}};
        if (has_lock_) {
          if (me_.role == Role::primary || me_.role == Role::standby_leader)
            st.push_back(step::SetRole{Role::demoted, true});
          st.push_back(step::ReleaseLock{});
          return leaf(Action::release_lock, st,
                      "removed leader key after trying and failing to start postgres");
        }
        return leaf(Action::none, st, "failed to start postgres");
      }
      pre.push_back(step::ResetRecoveryState{});
    }

    // 10. Empty or inaccessible data directory.
    if (me_.data_dir != DataDir::present) {
      const bool accessible = me_.data_dir == DataDir::empty;
      std::vector<Step> st = {step::SetRole{Role::uninitialized},
                              step::StopPostgres{StopKind::immediate},
                              step::WatchdogDisable{}};
      st = cat(pre, st);
      if (has_lock_) {
        st.push_back(step::ReleaseLock{true});
        return leaf(Action::release_lock, st,
                    std::string("released leader key voluntarily as data dir ") +
                        (accessible ? "empty" : "not accessible") + " and currently leader");
      }
      if (!accessible) return leaf(Action::none, st, "data directory is not accessible: " + me_.data_dir_error);
      if (paused_) return leaf(Action::none, st, "running with empty data directory");
      return with_prefix(st, bootstrap());
    }

    // 11. System identifier checks.
    if (!sysid_valid(me_.sysid))
      return leaf(Action::none, pre,
                  "data dir for the cluster is not empty, but system ID is invalid; consider "
                  "doing reinitialize");
    if (sysid_valid(c_.initialize())) {
      if (*c_.initialize() != me_.sysid) {
        if (paused_) {
          pre.push_back(log_warning(
              "system ID has changed while in paused mode. Patroni will exit when resuming unless system ID is "
              "reset: " + *c_.initialize() + " != " + me_.sysid));
          if (has_lock_)
            return leaf(Action::release_lock, cat(pre, {step::ReleaseLock{true}}),
                        "released leader key voluntarily due to the system ID mismatch");
        } else {
          std::string why = "system ID mismatch, node " + me_.name +
                            " belongs to a different cluster: " + *c_.initialize() +
                            " != " + me_.sysid;
          return leaf(Action::fatal_exit, cat(pre, {step::FatalExit{why}}), why);
        }
      }
    } else if (c_.is_unlocked() && !paused_ && !me_.on_start_fired) {
      if (me_.is_running() && me_.in_recovery) {
        // Patroni's two ERROR lines, then exit 1 (nothing more is logged).
        const std::string why = "No initialize key in DCS and PostgreSQL is running as replica, aborting start";
        return leaf(Action::fatal_exit,
                    cat(pre, {step::Log{why, step::LogLevel::error},
                              step::Log{"Please first start Patroni on the node running as primary",
                                        step::LogLevel::error},
                              step::FatalExit{""}}),
                    why);
      }
      pre.push_back(step::WriteInitialize{!c_.initialize().has_value()});
    }

    // 12. PostgreSQL not running.
    if (!me_.is_running()) {
      if (paused_) {
        if (has_lock_)
          return leaf(Action::release_lock, cat(pre, {step::ReleaseLock{}}),
                      "removed leader lock because postgres is not running");
        if (me_.rewind == RewindState::failed || !me_.rewind_pending())
          return leaf(Action::none, pre, "postgres is not running");
      }
      return with_prefix(pre, recover());
    }

    // 13.
    Decision d = c_.is_unlocked() ? unhealthy_cluster() : healthy_cluster();
    if (!c_.is_unlocked()) apply_scheduled_restart(d);
    // 14. Slots and first-start bookkeeping when nothing async runs.
    d.for_each_leaf([&](Decision& l) {
      if (leaf_starts_async(l) && !l.has(Action::promote)) return;
      if (me_.process == PgProcess::starting) return;
      l.steps.push_back(step::SyncReplicationSlots{false});
      if (!me_.on_start_fired) {
        if (!me_.is_primary()) l.steps.push_back(step::TriggerRewindCheck{});
        l.steps.push_back(step::FireOnStart{});
      }
    });
    return with_prefix(pre, std::move(d));
  }

  // ---- §3.14 ----
  Decision async_in_progress() {
    const std::string name = me_.async->display_name();
    auto without_lock = [&]() -> Decision {
      if (!me_.bootstrapping && !paused_) {
        if (me_.async->kind == AsyncKind::promote)
          return leaf(Action::cancel_async, {step::CancelAsync{name}},
                      "lost leader before promote");
        if (me_.role == Role::primary) {
          std::vector<Step> st;
          if (me_.async->kind == AsyncKind::restart || me_.async->kind == AsyncKind::start_primary) {
            st.push_back(step::CancelAsync{name});
            st.push_back(step::StopPostgres{StopKind::immediate});
          }
          st.push_back(step::Demote{DemoteMode::immediate_nolock});
          return leaf(Action::demote, st, "lost leader lock during " + name);
        }
      }
      return leaf(Action::none, {}, name + " in progress");
    };
    if (!has_lock_) return without_lock();
    Decision ok;
    if (me_.async->kind == AsyncKind::crash_recovery &&
        s_.primary_start_timeout - (now_ - me_.crash_recovery_started) <= 0 && failover_possible()) {
      ok = leaf(Action::demote,
                {log_info("Demoting self because crash recovery is taking too long"), step::CancelAsync{name},
                 step::Demote{DemoteMode::immediate}},
                "terminated crash recovery because of startup timeout");
    } else {
      ok = leaf(Action::none, {}, "updated leader lock during " + name);
    }
    return Decision::branch({}, step::UpdateLock{}, std::move(ok), without_lock());
  }

  // ---- §3.15 (lock holder; replicas continue normal processing) ----
  Decision starting_as_leader() {
    const double timeout = me_.start_timeout.value_or(s_.primary_start_timeout);
    const double time_left = timeout - (now_ - me_.state_since);
    Decision ok;
    if (time_left <= 0) {
      if (failover_possible())
        ok = leaf(Action::demote,
                  {log_info("Demoting self because primary startup is taking too long"),
                   step::Demote{DemoteMode::immediate}},
                  "stopped PostgreSQL because of startup timeout");
      else
        ok = leaf(Action::none, {},
                  "primary start has timed out, but continuing to wait because failover is not "
                  "possible");
    } else {
      auto [terminal, side] = manual_failover_from_leader();
      if (terminal)
        ok = std::move(*terminal);
      else
        ok = leaf(Action::none, side,
                  "PostgreSQL is still starting up, " + fmt_seconds(time_left) +
                      " seconds until timeout");
    }
    Decision fail = leaf(Action::demote,
                         {log_info("Lost lock while starting up. Demoting self."),
                          step::Demote{DemoteMode::immediate_nolock}},
                         "stopped PostgreSQL while starting up because leader key was lost");
    return Decision::branch({}, step::UpdateLock{}, std::move(ok), std::move(fail));
  }

  // synchronous_standby_names with no standby known yet: strict mode waits for any one ("*", or
  // "ANY 1 (*)" in quorum mode), else none.
  std::string no_standby_names() const {
    if (s_.is_quorum_commit_mode()) return render_quorum_standby_names(0, {}, s_.min_synchronous_nodes());
    return s_.is_synchronous_mode_strict() ? "*" : "";
  }

  // ---- §3.2 ----
  Decision post_bootstrap() {
    const std::vector<Step> cancel = {
        step::CancelInitialization{}, step::StopPostgres{StopKind::immediate},
        step::RenameDataDirectory{}, step::FatalExit{"Failed to bootstrap cluster"}};
    if (!me_.is_running() || me_.bootstrap_result == BootstrapResult::failed)
      return leaf(Action::fatal_exit, cancel, "removing initialize key after failed attempt to "
                                              "bootstrap the cluster");
    if (me_.bootstrap_result == BootstrapResult::pending) {
      if (me_.in_recovery) return leaf(Action::none, {}, "waiting for end of recovery after bootstrap");
      return leaf(Action::post_bootstrap, {step::SetRole{Role::primary}, step::PostBootstrap{}},
                  "running post_bootstrap");
    }
    // Taking the lock is conditional: is_leader is set only when the write succeeded; without
    // the lock the running primary races for it in the next cycle like any unlocked primary.
    std::vector<Step> after;
    if (s_.is_synchronous_mode()) after.push_back(step::SetSynchronousStandbyNames{no_standby_names()});
    after.push_back(step::FireOnStart{});
    after.push_back(step::ReloadCluster{});
    Decision took = leaf(Action::take_leader, cat({step::SetIsLeader{true}}, after), "initialized a new cluster");
    Decision not_taken = leaf(Action::none, after,
                              "initialized a new cluster, but writing the leader lock failed: racing for it");
    Decision ok = Decision::branch({step::EnsureCheckpointAfterPromote{},
                                    step::WriteInitialize{!c_.initialize().has_value()}, step::WriteConfig{}},
                                   step::TakeLeader{}, std::move(took), std::move(not_taken));
    Decision fail = leaf(Action::fatal_exit,
                         cat({step::Log{"Cancelling bootstrap because watchdog activation failed",
                                        step::LogLevel::error}},
                             cancel),
                         "Cancelling bootstrap because watchdog activation failed");
    return Decision::branch({step::FinishBootstrap{}}, step::ActivateWatchdog{},
                            std::move(ok), std::move(fail));
  }

  // ---- §3.1 ----
  Decision bootstrap() {
    if (c_.is_unlocked() && !c_.initialize() && !me_.tags.is_nofailover() &&
        s_.has_bootstrap_section) {
      Decision won =
          s_.is_standby_cluster()
              ? leaf(Action::bootstrap, {step::Bootstrap{true}},
                     "trying to bootstrap a new standby leader")
              : leaf(Action::bootstrap, {step::Bootstrap{false}},
                     "trying to bootstrap a new cluster");
      return Decision::branch({}, step::RaceInitialize{}, std::move(won),
                              leaf(Action::none, {}, "failed to acquire initialize lock"));
    }
    const std::size_t seed = in_.random_seed;
    auto clone_member =
        c_.get_clone_member(me_.name, [seed](std::size_t n) { return n ? seed % n : 0; });
    if (!c_.is_unlocked() && clone_member) {
      const bool is_leader = clone_member->name() == c_.leader_name();
      std::string msg = std::string("from ") + (is_leader ? "leader" : "replica") + " '" +
                        clone_member->name() + "'";
      return leaf(Action::clone, {step::Clone{clone_member->name()}},
                  "trying to bootstrap " + msg);
    }
    const bool can_bootstrap = s_.is_standby_cluster()
                                   ? s_.standby_cluster.replica_method_without_leader
                                   : s_.replica_method_without_leader;
    const bool concurrent = c_.initialize() && c_.initialize()->empty();
    if (can_bootstrap && !concurrent)
      return leaf(Action::clone, {step::Clone{""}},
                  "trying to bootstrap (without leader)");
    return leaf(Action::none, {},
                std::string("waiting for ") + (s_.is_standby_cluster() ? "standby_" : "") +
                    "leader to bootstrap");
  }

  // ---- §4 (decision part) ----
  std::optional<Decision> rewind_or_reinitialize(const std::vector<Step>& pre) {
    std::optional<FollowTarget> leader;
    if (s_.is_standby_cluster()) {
      // Only a remote with a host can be rewound from (an archive-only standby cluster cannot).
      leader = FollowTarget{s_.standby_cluster.host, true, !s_.standby_cluster.host.empty()};
    } else if (c_.leader()) {
      leader = FollowTarget{c_.leader()->name(), false, c_.leader()->conn_url().has_value()};
    }
    if (!leader || !leader->has_conn_url || leader->name == me_.name ||
        me_.rewind != RewindState::need)
      return std::nullopt;
    if (me_.can_rewind) {
      if (!me_.is_running() && me_.control_state == ControlState::in_archive_recovery) {
        if (auto d = crash_recovery(pre)) return d;
      }
      return leaf(Action::rewind, cat(pre, {step::Rewind{leader->name, leader->remote}}),
                  "running pg_rewind from " + leader->name);
    }
    if (s_.remove_data_directory_on_diverged_timelines && !s_.is_standby_cluster()) {
      auto clone = c_.get_clone_member(me_.name, [](std::size_t) { return std::size_t{0}; });
      return leaf(Action::reinitialize,
                  cat(pre, {step::Reinitialize{clone ? clone->name() : ""}}),
                  "reinitializing due to diverged timelines");
    }
    return std::nullopt;
  }

  // §5 trigger (once per episode).
  std::optional<Decision> crash_recovery(const std::vector<Step>& pre) {
    if (me_.crash_recovery_started == 0 && (c_.is_unlocked() || me_.can_rewind))
      return leaf(Action::crash_recovery, cat(pre, {step::CrashRecovery{}}),
                  "doing crash recovery in a single user mode");
    return std::nullopt;
  }

  // ---- §3.3 ----
  Decision recover() {
    if (has_lock_)
      return Decision::branch({}, step::UpdateLock{}, recover_with(true), recover_with(false));
    return recover_with(false);
  }

  Decision recover_with(bool lock_ok) {
    const double timeout = lock_ok ? s_.primary_start_timeout : 0;
    if (lock_ok && s_.primary_start_timeout == 0 && failover_possible())
      return leaf(Action::demote,
                  {step::WatchdogDisable{}, log_info("Primary crashed. Failing over."),
                   step::Demote{DemoteMode::immediate}},
                  "stopped PostgreSQL to fail over after a crash");
    const ControlState cs = me_.control_state;
    const bool crashed =
        me_.state == PgState::running || me_.state == PgState::starting || me_.state == PgState::crashed;
    if (lock_ok && timeout > 0 &&
        (cs == ControlState::in_production || cs == ControlState::in_crash_recovery ||
         cs == ControlState::shutting_down || cs == ControlState::shut_down) &&
        crashed && me_.role == Role::primary && !me_.recovery_conf_exists) {
      return leaf(Action::start_primary, {step::StartPrimary{timeout}}, "starting primary after failure");
    }
    std::vector<Step> st = {step::WatchdogDisable{}};
    if (cs == ControlState::in_production || cs == ControlState::shutting_down ||
        cs == ControlState::in_crash_recovery) {
      if (auto d = crash_recovery(st)) return std::move(*d);
    }
    std::string msg;
    Role role = Role::replica;
    std::optional<FollowTarget> target;
    if (has_lock_ && !s_.is_standby_cluster()) {
      st.push_back(step::ResetRewindState{});
      msg = "starting as readonly because i had the session lock";
    } else {
      if (auto d = rewind_or_reinitialize(st)) return std::move(*d);
      if (has_lock_) {
        msg = "starting as a standby leader because i had the session lock";
        role = Role::standby_leader;
        target = node_to_follow(c_, me_, s_, true);
      } else if (s_.is_standby_cluster() && c_.is_unlocked()) {
        msg = "trying to follow a remote member because standby cluster is unhealthy";
        target = FollowTarget{s_.standby_cluster.host, true, true};
      } else {
        msg = "starting as a secondary";
        target = node_to_follow(c_, me_, s_, false);
      }
      if (s_.is_synchronous_mode()) st.push_back(step::SetSynchronousStandbyNames{""});
    }
    step::Follow f;
    if (target) {
      f.member = target->name;
      f.remote = target->remote;
    }
    f.role = role;
    f.start_timeout = timeout;
    st.push_back(f);
    return leaf(Action::follow, st, msg);
  }

  // ---- §3.4 ----
  Decision unhealthy_cluster() {
    HealthVerdict h = is_healthiest_node(ctx());
    if (!h.log_line.empty()) log_.emplace_back(h.log_line, h.warning);
    race_verdict_ = std::make_pair(h.healthy, h.reason);
    const auto& failover = c_.failover();
    const bool has_failover = failover && !failover->is_empty();
    if (h.healthy) {
      std::vector<Step> won;
      if (has_failover) {
        if (paused_ && failover->leader && failover->candidate) {
          won.push_back(log_info("Updating failover key after acquiring leader lock..."));
          won.push_back(step::RewriteFailoverKey{*failover->candidate});
        } else {
          won.push_back(log_info("Cleaning up failover key after acquiring leader lock..."));
          won.push_back(step::ClearFailoverKey{true});
        }
      }
      won.push_back(step::ReloadCluster{});
      Decision ok = s_.is_standby_cluster()
                        ? follow("cannot be a real primary in standby cluster",
                                 "promoted self to a standby leader by acquiring session lock",
                                 true, false)
                        : enforce_primary_role("acquired session lock as a leader",
                                               "promoted self to leader by acquiring session lock");
      ok.prepend(won);
      Decision lost = follow("demoted self after trying and failing to obtain lock",
                             "following new leader after trying and failing to obtain lock", false,
                             true);
      return Decision::branch(h.steps, step::AcquireLock{}, std::move(ok), std::move(lost));
    }
    std::vector<Step> pre = h.steps;
    if (has_failover || me_.tags.is_nofailover()) {
      pre.push_back(step::TriggerRewindCheck{});
      pre.push_back(step::Sleep{2});
    }
    Decision d = me_.tags.is_nofailover()
                     ? follow("demoting self because I am not allowed to become primary",
                              "following a different leader because I am not allowed to promote",
                              false, true)
                     : follow("demoting self because i am not the healthiest node",
                              "following a different leader because i am not the healthiest node",
                              false, true);
    d.prepend(pre);
    return d;
  }

  // ---- §3.9 ----
  Decision healthy_cluster() {
    if (has_lock_) {
      if (paused_ && !me_.is_primary()) {
        const auto& f = c_.failover();
        if (f && f->candidate && *f->candidate == me_.name)
          return leaf(Action::none, {}, "waiting to become primary after promote...");
        if (!s_.is_standby_cluster())
          return leaf(Action::release_lock, {step::ReleaseLock{}},
                      "removed leader lock because postgres is not running as primary");
      }
      Decision ok;
      auto [terminal, side] = manual_failover_from_leader();
      if (terminal) {
        ok = std::move(*terminal);
        ok.prepend({step::WatchdogKeepalive{}});
      } else {
        std::vector<Step> st = cat({step::WatchdogKeepalive{}}, side);
        st.push_back(step::EnsureCheckpointAfterPromote{});
        if (s_.is_standby_cluster())
          ok = follow("cannot be a real primary in standby cluster",
                      "no action. I am (" + me_.name + "), the standby leader with the lock", true,
                      false);
        else
          ok = enforce_primary_role("no action. I am (" + me_.name + "), the leader with the lock",
                                    "promoted self to leader because I had the session lock");
        ok.prepend(st);
      }
      Decision fail;
      if (me_.is_primary()) {
        if (paused_)
          fail = leaf(Action::none, {},
                      "continue to run as primary after failing to update leader lock in DCS");
        else
          fail = leaf(Action::demote, {step::Demote{DemoteMode::immediate_nolock}},
                      "demoted self because failed to update leader lock in DCS");
      } else {
        fail = leaf(Action::none, {}, "not promoting because failed to update leader lock in DCS");
      }
      fail.prepend({step::Log{"failed to update leader lock", step::LogLevel::error}});
      Step upd = step::UpdateLock{s_.failsafe_mode};
      return Decision::branch({}, upd, std::move(ok), std::move(fail));
    }
    const std::string owner = c_.leader_name().value_or("");
    if (s_.is_standby_cluster())
      return follow("cannot be a real primary in a standby cluster",
                    "no action. I am (" + me_.name + "), a secondary, and following a standby "
                    "leader (" + owner + ")",
                    false, false);
    return follow("demoting self because I do not have the lock and I was a leader",
                  "no action. I am (" + me_.name + "), a secondary, and following a leader (" +
                      owner + ")",
                  false, false);
  }

  // ---- §3.10 ----
  struct FromLeader {
    std::optional<Decision> terminal;
    std::vector<Step> side;
  };
  FromLeader manual_failover_from_leader() {
    FromLeader out;
    const auto& f = c_.failover();
    if (!f || f->is_empty() || (paused_ && !me_.is_primary())) return out;
    // Patroni's words: "switchover" when the key names the leader, else "manual failover";
    // the scheduled-action lines use the bare "switchover" / "failover".
    const std::string action = f->leader ? "switchover" : "manual failover";
    const std::string bare = f->leader ? "switchover" : "failover";
    if (f->scheduled_at || f->scheduled_at_invalid) {
      if (paused_) return out;
      if (f->scheduled_at_invalid) {
        out.side.push_back(step::ClearFailoverKey{});
        return out;
      }
      const double at =
          std::chrono::duration<double>(f->scheduled_at->time_since_epoch()).count();
      const std::string when = iso8601_utc(at);
      ScheduleCheck check = check_schedule(at, in_.wall_now, s_.loop_wait);
      if (check.verdict == ScheduleVerdict::wait) {
        out.side.push_back(log_info("Awaiting " + bare + " at " + when + " (in " +
                                    fmt_whole_seconds(at - in_.wall_now) + " seconds)"));
        return out;
      }
      if (check.verdict == ScheduleVerdict::stale) {
        out.side.push_back(log_warning("Found a stale " + bare + " value, cleaning up: " + when));
        out.side.push_back(step::ClearFailoverKey{});
        return out;
      }
      if (check.sleep_seconds > 0) out.side.push_back(step::Sleep{check.sleep_seconds});
      out.side.push_back(log_info("Manual scheduled " + bare + " at " + when));
    }
    if (!f->leader || *f->leader == me_.name) {
      if (!f->candidate || *f->candidate != me_.name) {
        if (!f->candidate && paused_) {
          out.side.push_back(log_warning((f->leader ? "Switchover" : "Manual Failover") +
                                         std::string(" is possible only to a specific candidate in a paused state")));
        } else if (failover_possible()) {
          Step dm = step::Demote{DemoteMode::graceful, action + ": demote"};
          out.terminal = leaf(Action::demote, cat(out.side, {dm}), action + ": demoting myself");
          return out;
        } else {
          out.side.push_back(log_warning(action + ": no healthy members found, " + bare + " is not possible"));
        }
      } else {
        out.side.push_back(log_warning(action + ": I am already the leader, no need to " + bare));
      }
    } else {
      out.side.push_back(log_warning(action + ": leader name does not match: " + *f->leader + " != " + me_.name));
    }
    out.side.push_back(log_info("Cleaning up failover key"));
    out.side.push_back(step::ClearFailoverKey{});
    return out;
  }

  // ---- §3.11 (lock holder, not standby cluster) ----
  Decision enforce_primary_role(const std::string& message, const std::string& promote_message) {
    auto after_watchdog = [&]() -> Decision {
      if (me_.pre_promote_failed) {
        return leaf(Action::release_lock,
                    {log_warning("Releasing the leader key voluntarily because the pre-promote script failed"),
                     step::RememberPrePromoteRelease{}, step::ReleaseLock{true},
                     step::SetRole{Role::demoted}},
                    "Promotion cancelled because the pre-promote script failed");
      }
      if (me_.is_primary())
        return leaf(Action::none,
                    {step::SetRole{Role::primary}, step::ManageSyncReplication{},
                     step::UpdateHistory{}},
                    message);
      if (me_.role == Role::primary || me_.role == Role::promoted)
        return leaf(Action::none, {step::ManageSyncReplication{}}, message);
      std::vector<Step> promote = {step::SetFailsafeActive{false}, step::Promote{}};
      if (s_.is_quorum_commit_mode()) {
        // Quorum commit: the new primary waits for ANY n of the old leader and the other voters
        // (every commit it acknowledges then meets every group a later race winner needs), and
        // takes /sync over before it promotes (a CAS; Patroni 4 writes it after the promotion,
        // which leaves the old leader able to win a race alone meanwhile).
        if (!quorum_commit_mode_is_active(c_, s_)) {
          Decision ok = leaf(Action::promote, cat({step::SetSynchronousStandbyNames{no_standby_names()}}, promote),
                             promote_message);
          Decision fail = leaf(Action::none, {},
                               "Postponing promotion because synchronous replication state was "
                               "updated by somebody else");
          return Decision::branch({}, step::WriteSyncState{}, std::move(ok), std::move(fail));
        }
        const dcs::SyncState& sync = c_.sync();
        const std::string names =
            prepromote_quorum_standby_names(sync.leader.value_or(""), static_cast<int>(sync.quorum), sync.members(),
                                            me_.name, s_.min_synchronous_nodes());
        const QuorumState handed = quorum_handover(
            read_quorum_state(sync.leader.value_or(""), static_cast<int>(sync.quorum), sync.members(), names),
            me_.name);
        const std::string value = quorum_sync_state_value(
            handed.leader, handed.quorum, std::vector<std::string>(handed.voters.begin(), handed.voters.end()));
        Decision ok = leaf(Action::promote, cat({step::SetSynchronousStandbyNames{names}}, promote), promote_message);
        Decision fail = leaf(Action::none, {},
                             "Postponing promotion because synchronous replication state was "
                             "updated by somebody else");
        return Decision::branch({}, step::WriteSyncState{value}, std::move(ok), std::move(fail));
      }
      if (s_.is_synchronous_mode()) {
        Decision ok = leaf(Action::promote,
                           cat({step::SetSynchronousStandbyNames{no_standby_names()}},
                               promote),
                           promote_message);
        Decision fail = leaf(Action::none, {},
                             "Postponing promotion because synchronous replication state was "
                             "updated by somebody else");
        return Decision::branch({}, step::WriteSyncState{}, std::move(ok), std::move(fail));
      }
      return leaf(Action::promote, promote, promote_message);
    };
    if (!paused_ && s_.watchdog_enabled && !me_.watchdog_running) {
      Decision fail = me_.is_primary()
                          ? leaf(Action::demote, {step::Demote{DemoteMode::immediate}},
                                 "Demoting self because watchdog could not be activated")
                          : leaf(Action::release_lock, {step::ReleaseLock{true}},
                                 "Not promoting self because watchdog could not be activated");
      return Decision::branch({}, step::ActivateWatchdog{}, after_watchdog(), std::move(fail));
    }
    return after_watchdog();
  }

  // ---- §3.12 ----
  // holds_lock: we hold the lock (possibly acquired this cycle); refresh: the view is stale
  // (after a lock race), the agent re-reads it and recomputes the target.
  Decision follow(const std::string& demote_reason, const std::string& follow_reason,
                  bool holds_lock, bool refresh) {
    std::optional<FollowTarget> target = node_to_follow(c_, me_, s_, holds_lock);
    std::vector<Step> st;
    if (refresh) st.push_back(step::ReloadCluster{});
    if (paused_) {
      const bool rewind_allowed = me_.can_rewind || s_.remove_data_directory_on_diverged_timelines;
      if (!(me_.rewind == RewindState::need && rewind_allowed) || c_.is_unlocked()) {
        if (me_.is_primary())
          return leaf(Action::none, cat(st, {step::SetRole{Role::primary}}),
                      "continue to run as primary without lock");
        if (me_.role != Role::standby_leader && me_.role != Role::replica)
          st.push_back(step::SetRole{Role::replica});
        if (!target) return leaf(Action::none, st, "no action. I am (" + me_.name + ")");
      }
    } else if (me_.is_primary()) {
      return leaf(Action::demote, cat(st, {step::Demote{DemoteMode::immediate_nolock}}),
                  demote_reason);
    }
    if (me_.process != PgProcess::starting) {
      if (auto d = rewind_or_reinitialize(st)) return std::move(*d);
    }
    const Role role = (target && target->remote && holds_lock) ? Role::standby_leader : Role::replica;
    if (s_.is_standby_cluster() && role == Role::replica && !(target && target->has_conn_url))
      return leaf(Action::none, st, "continue following the old known standby leader");
    step::Follow f;
    if (target) {
      f.member = target->name;
      f.remote = target->remote;
    }
    f.role = role;
    f.refresh_target = refresh;
    st.push_back(f);
    return leaf(Action::follow, st, follow_reason);
  }

  // ---- §3.16 ----
  void apply_scheduled_restart(Decision& d) {
    if (!me_.scheduled_restart) return;
    const ScheduledRestart& r = *me_.scheduled_restart;
    d.for_each_leaf([&](Decision& l) {
      if (leaf_starts_async(l)) return;
      if (r.postmaster_start_time && me_.postmaster_start_time &&
          *r.postmaster_start_time != *me_.postmaster_start_time) {
        l.steps.push_back(log_info("Cancelling scheduled restart: postgres restart has already happened at " +
                                   *me_.postmaster_start_time));
        l.steps.push_back(step::DeleteScheduledRestart{});
        return;
      }
      if (paused_) return;
      const std::string when = iso8601_utc(r.schedule);
      ScheduleCheck check = check_schedule(r.schedule, in_.wall_now, s_.loop_wait);
      if (check.verdict == ScheduleVerdict::wait) {
        l.steps.push_back(log_info("Awaiting restart at " + when + " (in " +
                                   fmt_whole_seconds(r.schedule - in_.wall_now) + " seconds)"));
        return;
      }
      if (check.verdict == ScheduleVerdict::stale) {
        l.steps.push_back(log_warning("Found a stale restart value, cleaning up: " + when));
        l.steps.push_back(step::DeleteScheduledRestart{});
        return;
      }
      if (check.sleep_seconds > 0) l.steps.push_back(step::Sleep{check.sleep_seconds});
      l.steps.push_back(log_info("Manual scheduled restart at " + when));
      const std::string my_role(to_string(me_.role));
      // Patroni checks each condition in turn; the last one that fails names the reason.
      std::string reason;
      if (r.role && *r.role != my_role && !(*r.role == "primary" && me_.role == Role::primary))
        reason = "host role mismatch";
      if (r.postgres_version && *r.postgres_version <= me_.server_version) reason = "postgres version mismatch";
      if (r.restart_pending && !me_.pending_restart) reason = "pending restart flag is not set";
      if (!reason.empty()) {
        l.steps.push_back(log_info("not proceeding with the restart: " + reason));
        l.steps.push_back(log_warning("Scheduled restart: restart conditions are not satisfied"));
        l.steps.push_back(step::DeleteScheduledRestart{});
        return;
      }
      l.steps.push_back(step::DeleteScheduledRestart{});
      l.steps.push_back(step::Restart{});
      l.action = Action::restart;
      l.message = "restart initiated";
    });
  }

  const DecisionInput& in_;
  std::vector<std::pair<std::string, bool>> log_;  // Decision::log
  std::optional<std::pair<bool, std::string>> race_verdict_;  // Decision::race_verdict
  const dcs::Cluster& c_;
  const LocalState& me_;
  const HaSettings& s_;
  double now_;
  bool paused_;
  bool has_lock_ = false;
};

// ---- §2 E / §7 ----
Decision dcs_error(const DecisionInput& in) {
  const LocalState& me = in.local;
  const HaSettings& s = in.settings;
  Decision d;
  if (!s.pause && me.is_running() && me.is_primary()) {
    Decision offline = leaf(Action::demote,
                            {step::SetFailsafeActive{false}, step::Demote{DemoteMode::offline}},
                            "demoting self because DCS is not accessible and I was a leader");
    d = offline;
    if (s.failsafe_mode && in.old_cluster && in.old_cluster->failsafe() &&
        in.old_cluster->failsafe()->contains(me.name)) {
      const std::string kept =
          "continue to run as a leader because failsafe mode is enabled and all members are accessible";
      // The confirmations (none needed in a one-node cluster) make this node the leader again
      // (is_leader) from the moment they were asked for: CheckFailsafeTopology's success sets
      // it, as AcquireLock's does.
      Decision ok = leaf(Action::none, {step::SetFailsafeActive{true}, step::WatchdogKeepalive{}}, kept);
      d = Decision::branch({}, step::CheckFailsafeTopology{}, std::move(ok), std::move(offline));
    }
  } else {
    std::vector<Step> st;
    if (!s.pause && me.is_running()) st.push_back(step::SyncReplicationSlots{true});
    d = leaf(Action::none, st, "DCS is not accessible");
  }
  if (s.pause) d.for_each_leaf([](Decision& l) { l.message = "PAUSE: " + l.message; });
  return d;
}

}  // namespace

Decision decide(const DecisionInput& input) {
  if (!input.cluster) return dcs_error(input);
  const dcs::Cluster* view = &*input.cluster;
  std::optional<dcs::Cluster> injected;
  const auto& fl = input.local.failsafe_leader;
  if (view->is_unlocked() && input.settings.failsafe_mode && fl &&
      fl->received_at + input.settings.ttl > input.now && fl->name != input.local.name) {
    injected = with_injected_leader(*view, *fl);
    view = &*injected;
  }
  return Planner(input, *view).run();
}

}  // namespace custos::ha
