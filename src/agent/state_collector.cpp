#include "agent/state_collector.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/postgres_mapping.h"
#include "agent/state_mapping.h"
#include "ha/bookkeeping.h"

namespace custos::agent {

void StateCollector::forget_controldata() {
  controldata_.reset();
  controldata_pid_.reset();
}

void StateCollector::collect(NodeMemory& memory, const EffectiveSettings& settings, double now,
                             const std::optional<ha::AsyncTask>& running_task) {
  ha::LocalState& l = memory.local;
  l.tags = tags_from_config(settings.config.tags());
  l.async = running_task;
  l.pending_restart = !memory.pending_restart_params.empty();
  if (l.async) return;  // the worker owns PostgreSQL meanwhile: keep the last known facts

  l.data_dir_error.clear();
  l.data_dir = to_ha(pg_.data_dir_state(&l.data_dir_error));
  l.process = l.data_dir == ha::DataDir::present ? to_ha(pg_.process_state()) : ha::PgProcess::stopped;
  std::optional<postgres::ControlData> cd;
  if (l.data_dir == ha::DataDir::present) {
    const auto pid = pg_.postmaster_pid();
    if (l.process == ha::PgProcess::running && pid && pid == controldata_pid_ && controldata_) {
      cd = controldata_;
    } else {
      cd = pg_.controldata();
      controldata_ = cd;
      controldata_pid_ = l.process == ha::PgProcess::running ? pid : std::nullopt;
    }
  }
  l.sysid = cd ? cd->system_identifier().value_or("") : "";
  l.control_state = cd ? map_control_state(cd->cluster_state()) : ha::ControlState::unknown;
  l.recovery_conf_exists = l.data_dir == ha::DataDir::present && pg_.recovery_signal_present();
  l.can_rewind = pg_.can_rewind(cd);

  memory.status.reset();
  if (l.process == ha::PgProcess::running) {
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(std::max(1.0, settings.ha.retry_timeout / 2) * 1000));
    auto s = pg_.query_status(timeout);
    if (s) {
      memory.status = s.value();
      apply_server_status(l, s.value());
      ha::set_pg_state(l, ha::PgState::running, now);
      l.crash_recovery_started = 0;
    } else {
      spdlog::warn("status query failed: {}", s.error());
      l.process = to_ha(pg_.process_state());
      if (l.process == ha::PgProcess::running) l.process = ha::PgProcess::starting;
    }
  }
  if (l.process == ha::PgProcess::starting) {
    if (settings.ha.pause) {
      // Paused, Patroni does not wait for the startup: a postmaster that is up is `running`.
      if (l.state != ha::PgState::running) ha::set_pg_state(l, ha::PgState::running, now);
    } else if (l.state != ha::PgState::starting && l.state != ha::PgState::restarting) {
      ha::set_pg_state(l, ha::PgState::starting, now);
    }
    // Not queryable yet: it comes up as a replica exactly when a recovery signal file exists.
    l.in_recovery = l.recovery_conf_exists;
  }
  if (l.process == ha::PgProcess::stopped) {
    if (settings.ha.pause) {
      // Paused: whatever happened before (a crash, a failed start or stop), PostgreSQL not
      // running is `stopped`, as Patroni sets it (ha.md §2.12); not while an action runs.
      if (!l.async && l.state != ha::PgState::stopped) ha::set_pg_state(l, ha::PgState::stopped, now);
    } else if (l.state == ha::PgState::starting) {
      ha::set_pg_state(l, ha::PgState::start_failed, now);  // the postmaster exited during its startup
    } else if (l.state == ha::PgState::running) {
      ha::set_pg_state(l, ha::PgState::crashed, now);  // gone under us
    }
  }
}

void StateCollector::check_timeline(NodeMemory& memory, const EffectiveSettings& settings,
                                    const dcs::Cluster& cluster) {
  ha::LocalState& l = memory.local;
  auto leader = cluster.leader();
  // A replica that stays behind its leader's timeline without streaming (its leader switched
  // timelines without changing name: a standby leader rewound after demote-cluster) is checked
  // again each cycle until it streams or is rewound; Patroni checks only when it starts
  // following someone new.
  const bool settled = l.rewind == ha::RewindState::initial || l.rewind == ha::RewindState::not_needed ||
                       l.rewind == ha::RewindState::success;
  if (settled && !l.async && memory.status && memory.status->in_recovery &&
      memory.status->timeline > 0 && leader && leader->name() != l.name) {
    auto m = cluster.get_member(leader->name(), false);
    if (m && m->timeline() && *m->timeline() > memory.status->timeline) l.rewind = ha::RewindState::check;
  }
  if (l.rewind != ha::RewindState::check || l.async) return;
  std::optional<postgres::Upstream> up;
  if (settings.ha.is_standby_cluster() && leader && leader->name() == l.name) {
    // The standby leader follows the remote primary: that is the history to compare with.
    up = remote_upstream_of(settings.pg, settings.ha);
    if (up && up->host.empty()) return;
  } else {
    if (!leader || leader->name() == l.name) return;
    auto member = cluster.get_member(leader->name(), false);
    // Beyond Patroni (which compares only with a primary leader): a standby leader's history is
    // compared too, so a member of a standby cluster that went past the point its standby leader
    // switched timelines (a demoted cluster) is rewound instead of stuck.
    if (!member || !(member->is_primary() || member->role() == "standby_leader")) return;
    up = upstream_of(*member);
    if (up) up->standby = !member->is_primary();
  }
  if (!up) return;
  if (!l.can_rewind && !settings.ha.remove_data_directory_on_diverged_timelines) {
    l.rewind = ha::RewindState::not_needed;
    return;
  }
  const auto verdict =
      pg_.check_diverged(*up, l.process == ha::PgProcess::running ? memory.status : std::nullopt);
  if (verdict == postgres::DivergeVerdict::need_rewind) l.rewind = ha::RewindState::need;
  else if (verdict == postgres::DivergeVerdict::not_needed) l.rewind = ha::RewindState::not_needed;
}

}  // namespace custos::agent
