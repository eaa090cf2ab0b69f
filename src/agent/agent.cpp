#include "agent/agent.h"

#include <spdlog/spdlog.h>

#include <future>
#include <random>
#include <thread>

#include "agent/citus_worker_events.h"
#include "agent/feature_support.h"
#include "agent/postgres_mapping.h"
#include "agent/scheduled_restart.h"
#include "agent/schedule.h"
#include "agent/state_mapping.h"
#include "common/logging.h"
#include "common/version.h"
#include "config/dynamic_cache.h"
#include "config/validate.h"
#include "dcs/member_value.h"
#include "ha/timeouts.h"
#include "mpp/citus_coordinator.h"

namespace custos::agent {

using namespace std::chrono_literals;

Agent::Agent(AgentServices services, SettingsStore& settings)
    : services_(services),
      settings_(settings),
      waker_(services_.clock, services_.dcs),
      worker_([this] { waker_.wake(); }),
      death_watcher_([this](pid_t pid) {
        spdlog::warn("postmaster (pid {}) terminated", pid);
        waker_.wake();
      }),
      fence_(services_.clock, [this] { on_lease_expired(); }),
      collector_(services_.pg),
      metrics_(services_.metrics, &events_, services_.clock),
      executor_(services_, settings_, memory_, worker_, waker_, collector_, death_watcher_, failsafe_, fence_,
                metrics_) {
  const auto s = settings_.current();
  memory_.local.name = s->config.name();
  memory_.local.tags = tags_from_config(s->config.tags());
  memory_.local.state = ha::PgState::stopped;
  memory_.local.state_since = services_.clock.now_seconds();
  services_.pg.set_settings(s->pg);
  services_.watchdog.reload_config(watchdog_config_from(s->config));
  services_.hooks.set_config(hooks_config_from(s->config.postgresql(), s->config.scope(), s->pg.pg_ctl_timeout, s->config.presentation()));
  executor_.set_restart_listener([this](bool ok, const std::string& error) { record_restart(ok, error); });
  executor_.set_state_publisher([this] { publish_snapshot(); });
  // A member joining wakes the loop: the lock holder then creates its slot at once.
  services_.dcs.set_wake_listener([this] { waker_.wake(); });
  warn_unsupported_features(*s);
  for (const auto& w : config::contradictory_tag_warnings(s->config.tags())) spdlog::warn("{}", w);
}

Agent::~Agent() {
  // First: its action reaches members declared after it (the snapshot).
  fence_.stop();
  services_.dcs.set_wake_listener(nullptr);
  worker_.shutdown();
  death_watcher_.watch(std::nullopt);
}

void Agent::warn_unsupported_features(const EffectiveSettings& s) {
  auto now = unsupported_features(s.config.raw());
  if (now == unsupported_warned_) return;
  for (const auto& line : now) spdlog::warn("not supported yet: {}", line);
  unsupported_warned_ = std::move(now);
}

void Agent::request_stop() {
  {
    MutexLock lk(restart_mu_);
    stopping_ = true;
  }
  restart_cv_.notify_all();
  worker_.cancel_current();
  waker_.request_stop();
}

void Agent::request_reload() {
  reload_requested_ = true;
  waker_.wake();
}

std::optional<std::string> Agent::accept_failsafe_leader(FailsafeState::Leader leader) {
  {
    // Patroni refuses when its own PostgreSQL runs as the primary (state running, role primary).
    MutexLock lk(snapshot_mu_);
    if (snapshot_.pg.state == "running" && (snapshot_.pg.role == "master" || snapshot_.pg.role == "primary"))
      return std::string("Running as a leader");
  }
  leader.received_at = services_.clock.now_seconds();
  failsafe_.update(std::move(leader));
  return std::nullopt;
}

void Agent::on_lease_expired() {
  if (services_.pg.shutdown_in_progress()) {
    // A fast or immediate shutdown was signalled already: PostgreSQL takes no more writes, and a
    // SIGQUIT now would only cut its shutdown checkpoint (and the last WAL to the replicas) short.
    spdlog::warn("the leader lease ends during a fast shutdown of PostgreSQL: letting it finish (lease fence)");
    return;
  }
  spdlog::critical(
      "the leader lease ends without a refresh: stopping PostgreSQL so that it accepts no writes (lease fence)");
  // A task that might start or promote PostgreSQL is cancelled first; its token refuses starts.
  worker_.cancel_current();
  const bool stopped = services_.pg.stop_now(std::chrono::seconds(2));
  if (!stopped) spdlog::critical("lease fence: PostgreSQL is still running after SIGQUIT and SIGKILL");
  {
    // Until the loop publishes again, the REST API must not present this node as a running
    // primary with a lease (health checks, other members' leader race).
    MutexLock lk(snapshot_mu_);
    snapshot_.leader_lock_valid_until = std::min(snapshot_.leader_lock_valid_until, services_.clock.now_seconds());
    if (stopped) {
      snapshot_.pg.state = "stopped";
      snapshot_.pg.query_ok = false;
    }
  }
  waker_.wake();
}

// ---- the loop -----------------------------------------------------------------------------------

void Agent::start() {
  ha::LocalState& l = memory_.local;
  const auto s = settings_.current();
  const double now = services_.clock.now_seconds();
  l.process = to_ha(services_.pg.process_state());
  if (l.process != ha::PgProcess::stopped) {
    ha::set_pg_state(l, l.process == ha::PgProcess::running ? ha::PgState::running : ha::PgState::starting, now);
    auto st = services_.pg.query_status(std::chrono::milliseconds(static_cast<int64_t>(s->ha.retry_timeout * 500)));
    if (st) {
      l.role = st->in_recovery ? ha::Role::replica : ha::Role::primary;
      l.in_recovery = st->in_recovery;
    }
  } else {
    l.role = to_ha(services_.pg.data_dir_state()) == ha::DataDir::present ? ha::Role::replica : ha::Role::uninitialized;
  }
  executor_.watch_postmaster();
  scheduled_run_ = services_.clock.now();
}

int Agent::run() {
  try {
    start();
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
  while (!waker_.stop_requested() && !memory_.fatal) {
    const MonoTime started = services_.clock.now();
    if (!run_cycle_guarded()) {
      close_mailbox();
      return 1;
    }
    const auto s = settings_.current();
    const MonoTime after = services_.clock.now();
    if (after - started > std::chrono::duration<double>(s->ha.loop_wait))
      spdlog::warn("the HA cycle took {:.1f} s", std::chrono::duration<double>(after - started).count());
    if (waker_.stop_requested() || memory_.fatal) break;
    if (memory_.run_next_cycle_now) {
      memory_.run_next_cycle_now = false;
      continue;
    }
    const NextRun nr = next_run(mono_seconds(scheduled_run_), s->ha.loop_wait, mono_seconds(after));
    if (nr.overran) spdlog::warn("Loop time exceeded, rescheduling immediately.");
    {
      MutexLock lk(snapshot_mu_);
      snapshot_.next_run = nr.at;
    }
    // Every node but the lock holder watches the leader key: a replica reacts at once to the
    // leader going away, and a node waiting for a leader to bootstrap (or for anyone to win the
    // race) acts at once when the key appears. The lock holder and a node with an async task
    // sleep (a task's end wakes the loop).
    std::optional<std::optional<dcs::Version>> watch;
    if (memory_.view && !memory_.holds_lock_in_view() && !worker_.busy()) {
      std::optional<dcs::Version> v;
      if (memory_.view->leader()) v = memory_.view->leader()->version;
      watch = v;
    }
    MonoTime at = mono_time(nr.at);
    // A timeout of the lock holder's start or crash recovery ending before that tick: wake
    // when it ends, so that the lock goes the moment the time is up (ha/timeouts.h).
    if (const auto timeout = ha::next_timeout_at(memory_.local, s->ha, memory_.holds_lock_in_view(),
                                                 mono_seconds(after)))
      at = std::min(at, mono_time(*timeout) + 10ms);
    try {
      waker_.wait_until(at, watch);
    } catch (const std::exception& e) {
      spdlog::error("waiting for the next cycle failed: {}", e.what());
    }
    const MonoTime woke = services_.clock.now();
    if (woke > at + 2s)
      spdlog::warn("woke up {:.1f} s after the scheduled time", std::chrono::duration<double>(woke - at).count());
    // Woken early: this cycle becomes the anchor of the schedule.
    scheduled_run_ = std::min(at, woke);
  }
  close_mailbox();
  if (memory_.fatal) {
    if (!memory_.fatal->empty()) spdlog::critical("{}", *memory_.fatal);
    return 1;
  }
  return 0;
}

bool Agent::run_cycle_guarded() {
  std::string message;
  bool go_on = true;
  try {
    message = run_cycle();
    consecutive_failures_ = 0;
  } catch (const std::exception& e) {
    message = std::string("the HA cycle failed: ") + e.what();
    go_on = on_cycle_failure(e.what());
  } catch (...) {
    message = "the HA cycle failed: an exception of unknown type";
    go_on = on_cycle_failure("an exception of unknown type");
  }
  // Also after a failed cycle: an agent that stays to fence again is alive (systemd's watchdog
  // must not kill it), and STATUS= says what went wrong.
  if (cycle_listener_) cycle_listener_(message);
  return go_on;
}

bool Agent::on_cycle_failure(const std::string& what) {
  ++consecutive_failures_;
  // Patroni's two lines: 'Unexpected exception' (ERROR) and the cycle's message.
  spdlog::error("Unexpected exception: {} ({} in a row)", what, consecutive_failures_);
  spdlog::info("Unexpected exception raised, please report it as a BUG");
  const ha::LocalState& l = memory_.local;
  // The lock may be ours (the refresh may have happened before the failure), or PostgreSQL
  // runs as a primary (as last seen, or in the role the agent gave it): it must not go on
  // accepting writes without a lease it can refresh.
  const bool primary_role = l.role == ha::Role::primary || l.role == ha::Role::promoted;
  const bool runs_as_primary = memory_.status ? !memory_.status->in_recovery : !l.in_recovery;
  const bool may_accept_writes = l.last_lock_write.has_value() || memory_.holds_lock_in_view() || primary_role ||
                                 (l.process != ha::PgProcess::stopped && runs_as_primary);
  if (may_accept_writes) {
    bool fenced = false;
    try {
      fenced = executor_.fence("the HA cycle failed while this node may be the primary");
    } catch (const std::exception& e) {
      spdlog::critical("fencing failed: {}", e.what());
    }
    if (!fenced) {
      // Exiting now would leave a primary running without anyone to stop it when its lease
      // expires: stay, and fence again after the next failing cycle.
      spdlog::critical("PostgreSQL could not be stopped: the agent keeps running to try again");
      return true;
    }
  }
  if (consecutive_failures_ >= kMaxFailures) {
    spdlog::critical("{} HA cycles in a row failed: exiting", consecutive_failures_);
    return false;
  }
  return true;
}

std::string Agent::run_cycle() {
  const auto cycle_start = std::chrono::steady_clock::now();
  if (reload_requested_.exchange(false)) reload_local_config();
  const double now = services_.clock.now_seconds();
  if (auto done = worker_.take_finished()) executor_.apply_async_result(*done);

  auto loaded = services_.dcs.get_cluster();
  // One immutable view shared by the memory, the decision's input and the REST snapshot.
  dcs::SharedCluster cluster;
  if (loaded) {
    cluster = std::move(loaded).value();
    if (cluster->leader() || !memory_.old_cluster) memory_.old_cluster = cluster;
    apply_dynamic_config(*cluster);
  } else {
    spdlog::error("failed to load the cluster from the DCS: {}", loaded.error().describe());
    spdlog::error("Error communicating with DCS");  // Patroni's line
  }
  memory_.view = cluster;
  // REST requests (restart, reinitialize, scheduled restart) act on this cycle's view.
  drain_mailbox();

  auto s = settings_.current();
  // The primary that last called POST /failsafe (ha.md §7), while younger than ttl.
  memory_.local.failsafe_leader = failsafe_.leader(now, s->ha.ttl);
  collector_.collect(memory_, *s, now, worker_.current());
  if (memory_.deferred_pg_settings && !worker_.busy()) {
    const postgres::NodeSettings before = *memory_.deferred_pg_settings;
    memory_.deferred_pg_settings.reset();
    apply_pg_settings_change(before);
  }
  // Compares the timeline with the leader's when a check is due (it also arms one for a replica
  // left behind its leader's timeline).
  if (cluster && !memory_.local.async) collector_.check_timeline(memory_, *s, *cluster);

  ha::DecisionInput in;
  in.cluster = cluster;
  in.old_cluster = memory_.old_cluster;
  in.settings = s->ha;
  in.now = now;
  in.wall_now = services_.clock.wall_seconds();
  in.random_seed = static_cast<std::size_t>(seed_source_());
  if (cluster && needs_member_statuses(*cluster)) in.members = fetch_member_statuses(*cluster);
  in.local = memory_.local;
  in.local.watchdog_running = services_.watchdog.is_running();
  in.local.watchdog_healthy = services_.watchdog.is_healthy();

  // Patroni's lines of the decision: race verdicts now, "Lock owner: ..." with the result.
  std::optional<std::string> lock_owner_line;
  auto log_decision = [&](const ha::Decision& d) {
    metrics_.decided(d);
    lock_owner_line.reset();
    for (const auto& [line, warning] : d.log) {
      if (line.rfind("Lock owner: ", 0) == 0) lock_owner_line = line;
      else if (warning) spdlog::warn("{}", line);
      else spdlog::info("{}", line);
    }
    return d;
  };
  ExecutionResult result = executor_.execute(log_decision(ha::decide(in)));
  if (result.dcs_error && cluster) {
    spdlog::error("Error communicating with DCS");  // Patroni's line
    spdlog::error("DCS error during the cycle: deciding again without the cluster view");
    in.cluster.reset();
    memory_.view.reset();
    in.local = memory_.local;
    in.local.watchdog_running = services_.watchdog.is_running();
    in.local.watchdog_healthy = services_.watchdog.is_healthy();
    result = executor_.execute(log_decision(ha::decide(in)));
  }
  memory_.local.was_paused = s->ha.pause;
  // A cycle that reached the DCS as the leader ends failsafe (Patroni: set_is_active(0)).
  if (cluster && !result.dcs_error && memory_.local.is_leader(services_.clock.now_seconds(), s->ha.ttl)) {
    memory_.local.failsafe_active = false;
    failsafe_.set_active(std::nullopt);
  }
  executor_.refresh_fence();
  if (services_.citus_coordinator && cluster && !result.dcs_error) maintain_citus_metadata(*cluster, *s);
  // As Patroni's logger: at INFO the lock owner line is shown only before a line that is not a
  // heartbeat ("no action. ...").
  const bool heartbeat =
      result.message.rfind("no action. ", 0) == 0 || result.message.rfind("PAUSE: no action", 0) == 0;
  if (lock_owner_line && (spdlog::get_level() <= spdlog::level::debug || !heartbeat))
    spdlog::info("{}", *lock_owner_line);
  // A fatal plan ends the agent: its reason is logged once, at CRITICAL, as it exits.
  if (!memory_.fatal) spdlog::info("{}", result.message);
  publish_snapshot();
  save_dynamic_cache();
  metrics_.cycle_finished(std::chrono::duration<double>(std::chrono::steady_clock::now() - cycle_start).count());
  const std::string message = memory_.fatal ? *memory_.fatal : result.message;
  events_.add(services_.clock.wall_seconds(), "decision", message);
  return message;
}

void Agent::maintain_citus_metadata(const dcs::Cluster& cluster, const EffectiveSettings& s) {
  const ha::LocalState& l = memory_.local;
  const bool primary = l.role == ha::Role::primary && l.is_leader(services_.clock.now_seconds(), s.ha.ttl) &&
                       l.process == ha::PgProcess::running && !l.in_recovery;
  if (primary) {
    // Just promoted, or out of maintenance mode: pg_dist_node is read again (the cache of
    // another time, or from before an operator's manual change, may be stale).
    if (!citus_primary_ || (citus_paused_ && !s.ha.pause)) services_.citus_coordinator->schedule_cache_rebuild();
    citus_paused_ = s.ha.pause;
    services_.citus_coordinator->sync(cluster, l.name, s.pg.conn_url());
    citus_primary_ = true;
  } else if (citus_primary_ && l.role != ha::Role::primary) {
    // Demoted: the queue, the cache and any open transaction are forgotten (a cycle that merely
    // could not confirm the lock keeps them).
    services_.citus_coordinator->on_demote();
    citus_primary_ = false;
  }
}

bool Agent::needs_member_statuses(const dcs::Cluster& cluster) const {
  const ha::LocalState& l = memory_.local;
  if (cluster.is_unlocked()) return true;
  const bool has_lock = cluster.leader_name() && *cluster.leader_name() == l.name;
  if (!has_lock) return false;
  if (cluster.failover() && !cluster.failover()->is_empty()) return true;
  if (l.process != ha::PgProcess::running) return true;
  if (l.async && l.async->kind == ha::AsyncKind::crash_recovery) return true;
  return false;
}

ha::MemberStatuses Agent::fetch_member_statuses(const dcs::Cluster& cluster) {
  std::map<std::string, std::string> urls;
  auto add = [&](const dcs::Cluster& c) {
    for (const auto& m : c.members())
      if (m.name() != memory_.local.name && m.api_url()) urls[m.name()] = *m.api_url();
  };
  if (memory_.old_cluster) add(*memory_.old_cluster);
  add(cluster);
  for (const auto& [name, url] : cluster.failsafe_members())
    if (name != memory_.local.name && !urls.count(name)) urls[name] = url;
  return services_.members.query(urls);
}

// ---- configuration ------------------------------------------------------------------------------

void Agent::apply_dynamic_config(const dcs::Cluster& cluster) {
  const auto& cc = cluster.config();
  if (!cc || cc->data().empty()) return;
  if (memory_.applied_config_version && *memory_.applied_config_version == cc->version) return;
  memory_.applied_config_version = cc->version;
  const postgres::NodeSettings before = settings_.current()->pg;
  const auto applied = settings_.apply_dynamic(cc->data());
  if (!applied.changed) return;
  if (applied.refused) spdlog::error("Exception when setting dynamic_configuration: {}", *applied.refused);
  const auto s = settings_.current();
  if (!applied.refused)
    for (const auto& w : s->config.warnings()) spdlog::warn("{}", w);
  warn_unsupported_features(*s);
  services_.dcs.set_timing(dcs::DcsTiming{s->config.ttl(), s->config.loop_wait(), s->config.retry_timeout()});
  services_.watchdog.reload_config(watchdog_config_from(s->config));
  apply_pg_settings_change(before);
}

void Agent::reload_local_config() {
  const postgres::NodeSettings before = settings_.current()->pg;
  if (auto st = settings_.reload_local(); !st) {
    spdlog::error("{}", st.error());
    return;
  }
  const auto s = settings_.current();
  spdlog::info("reloaded the configuration from {}",
               settings_.config_path().empty() ? std::string("the environment") : settings_.config_path());
  // The whole log section again, as Patroni reloads it (level, format, destination).
  for (const auto& p : configure_logging(s->config.log())) spdlog::warn("{}", p);
  warn_unsupported_features(*s);
  services_.dcs.set_timing(dcs::DcsTiming{s->config.ttl(), s->config.loop_wait(), s->config.retry_timeout()});
  std::vector<std::string> watchdog_warnings;
  services_.watchdog.reload_config(watchdog_config_from(s->config, &watchdog_warnings));
  for (const auto& w : watchdog_warnings) spdlog::warn("{}", w);
  memory_.local.tags = tags_from_config(s->config.tags());
  for (const auto& w : config::contradictory_tag_warnings(s->config.tags())) spdlog::warn("{}", w);
  services_.hooks.set_config(hooks_config_from(s->config.postgresql(), s->config.scope(), s->pg.pg_ctl_timeout, s->config.presentation()));
  apply_pg_settings_change(before, /*fire_on_reload=*/false);
  // A SIGHUP reloads PostgreSQL's configuration and fires on_reload once, as Patroni does.
  if (memory_.local.process == ha::PgProcess::running) services_.pg.reload();
  executor_.fire_callback(CallbackAction::on_reload, memory_.local.role);
  if (reload_listener_) reload_listener_(*s);
}

void Agent::apply_pg_settings_change(const postgres::NodeSettings& before, bool fire_on_reload) {
  const postgres::NodeSettings after = settings_.current()->pg;
  services_.pg.set_settings(after);
  if (before.conf_parameters == after.conf_parameters && before.command_line == after.command_line &&
      before.pg_hba == after.pg_hba && before.pg_ident == after.pg_ident &&
      before.managed_synchronous_standby_names == after.managed_synchronous_standby_names)
    return;
  if (memory_.local.process != ha::PgProcess::running || to_ha(services_.pg.data_dir_state()) != ha::DataDir::present)
    return;  // the next start writes the files
  if (worker_.busy()) {
    // The task may have started PostgreSQL with the settings before the change: apply it once
    // the task is over (the earliest `before` is kept, so nothing is missed).
    if (!memory_.deferred_pg_settings) memory_.deferred_pg_settings = before;
    return;
  }
  memory_.deferred_pg_settings.reset();
  if (auto st = services_.pg.rewrite_configuration(); !st) spdlog::warn("{}", st.error());
  // A replica's recovery section is rewritten by the next follow step; reload now.
  if (services_.pg.reload() && fire_on_reload) executor_.fire_callback(CallbackAction::on_reload, memory_.local.role);
  waker_.sleep_until(services_.clock.now() + 200ms);  // PostgreSQL applies the reload meanwhile
  memory_.pending_restart_params = services_.pg.pending_restart_parameters();
  if (before.command_line != after.command_line) memory_.pending_restart_params.push_back("command line parameters");
  spdlog::info("reloaded the PostgreSQL configuration after a configuration change");
}

void Agent::save_dynamic_cache() {
  if (!memory_.applied_config_version || memory_.saved_config_version == memory_.applied_config_version) return;
  if (to_ha(services_.pg.data_dir_state()) != ha::DataDir::present || worker_.busy()) return;
  const auto s = settings_.current();
  // Patroni caches its in-place adjusted copy (loop_wait lowered by the timing rule, ...).
  auto st = config::save_dynamic_cache(s->config.data_dir(), config::with_adjusted_timing(s->config.dynamic()));
  if (st) memory_.saved_config_version = memory_.applied_config_version;
  else spdlog::warn("cannot save {}: {}", config::kDynamicCacheFileName, st.error());
}

// ---- REST side ----------------------------------------------------------------------------------

void Agent::drain_mailbox() {
  std::vector<MailboxJob> jobs;
  {
    MutexLock lk(mailbox_mu_);
    jobs.swap(mailbox_);
  }
  for (auto& job : jobs) job.run();
}

void Agent::close_mailbox() {
  std::vector<MailboxJob> jobs;
  {
    MutexLock lk(mailbox_mu_);
    mailbox_closed_ = true;
    jobs.swap(mailbox_);
  }
  for (auto& job : jobs) job.fail();
}

std::optional<api::Response> Agent::run_in_loop(std::function<api::Response()> fn, std::chrono::milliseconds timeout) {
  if (waker_.stop_requested()) return std::nullopt;
  auto promise = std::make_shared<std::promise<api::Response>>();
  auto future = promise->get_future();
  {
    MutexLock lk(mailbox_mu_);
    if (mailbox_closed_) return std::nullopt;
    mailbox_.push_back(MailboxJob{[promise, fn = std::move(fn)] {
                                    try {
                                      promise->set_value(fn());
                                    } catch (const std::exception& e) {
                                      promise->set_value(
                                          api::Response::text(500, std::string("internal error: ") + e.what()));
                                    }
                                  },
                                  [promise] { promise->set_value(api::Response::text(503, "shutting down")); }});
  }
  waker_.wake();
  if (future.wait_for(timeout) != std::future_status::ready) return std::nullopt;
  return future.get();
}

void Agent::record_restart(bool ok, const std::string& error) {
  {
    MutexLock lk(restart_mu_);
    ++restart_seq_;
    restart_outcome_ = RestartOutcome{ok, error};
  }
  restart_cv_.notify_all();
}

uint64_t Agent::restart_sequence() const {
  MutexLock lk(restart_mu_);
  return restart_seq_;
}

std::optional<Agent::RestartOutcome> Agent::wait_restart_after(uint64_t seq, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lk(restart_mu_);
  while (restart_seq_ == seq && !stopping_) {
    if (!restart_cv_.wait_until(restart_mu_, deadline)) break;
  }
  if (restart_seq_ == seq) return std::nullopt;
  return restart_outcome_;
}

void Agent::publish_snapshot() {
  const auto s = settings_.current();
  const ha::LocalState& l = memory_.local;
  const double now = services_.clock.now_seconds();
  api::NodeSnapshot snap;
  snap.name = l.name;
  snap.scope = s->config.scope();
  snap.ttl = s->config.ttl();
  snap.loop_wait = s->config.loop_wait();
  snap.tags = dcs::published_tags(s->config.tags());
  snap.presentation = s->config.presentation();
  snap.patroni_version = std::string(announced_patroni_version(snap.presentation));
  snap.pg.state = std::string(ha::to_string(l.state));
  snap.pg.role = role_text(l.role, snap.presentation);
  if (const auto& st = memory_.status) fill_pg_status(snap.pg, *st, now);
  if (l.last_lock_write) snap.leader_lock_valid_until = *l.last_lock_write + s->ha.ttl;
  snap.paused = s->ha.pause;
  snap.synchronous_mode = s->ha.synchronous_mode;
  snap.quorum_commit = s->ha.quorum_commit;
  snap.standby_cluster = s->ha.is_standby_cluster();
  snap.failsafe_mode = s->ha.failsafe_mode;
  snap.maximum_lag_on_failover = s->ha.maximum_lag_on_failover;
  if (!l.sysid.empty()) snap.database_system_identifier = l.sysid;
  snap.pending_restart = !memory_.pending_restart_params.empty();
  if (l.scheduled_restart) snap.scheduled_restart = scheduled_restart_value(*l.scheduled_restart);
  snap.failsafe_mode_is_active = l.failsafe_active;
  snap.watchdog_failed = !services_.watchdog.is_healthy();
  snap.watchdog_running = services_.watchdog.is_running();
  // The cycle's view itself, shared: REST requests copy a pointer.
  std::shared_ptr<const dcs::Cluster> view = memory_.view.pointer();
  MutexLock lk(snapshot_mu_);
  if (view) {
    snap.cluster = std::move(view);
    snap.cluster_loaded_at = now;
    snap.dcs_last_seen = services_.clock.wall_seconds();
  } else {
    snap.cluster = snapshot_.cluster;
    snap.cluster_loaded_at = snapshot_.cluster_loaded_at;
    snap.dcs_last_seen = snapshot_.dcs_last_seen;
  }
  snap.next_run = snapshot_.next_run;
  snapshot_ = std::move(snap);
}

api::NodeSnapshot Agent::snapshot() const {
  api::NodeSnapshot snap;
  {
    MutexLock lk(snapshot_mu_);
    snap = snapshot_;
  }
  // Asked now, as Patroni asks its Failsafe object for every answer.
  const double now = services_.clock.now_seconds();
  snap.failsafe_mode_is_active = failsafe_.is_active(now, snap.ttl);
  if (auto d = fence_.deadline()) snap.fence_deadline = mono_seconds(*d);
  return snap;
}

std::optional<api::PgStatus> Agent::live_pg_status(std::chrono::milliseconds timeout) {
  api::PgStatus pg;
  {
    MutexLock lk(snapshot_mu_);
    pg = snapshot_.pg;
  }
  // PostgreSQL is down (it died, or the lease fence stopped it, and the loop has not seen it
  // yet): no status at all, as Patroni answers without `xlog` then. Others must never take a
  // dead primary for a live one because of what the last cycle saw.
  if (services_.pg.process_state() != postgres::ServerProcess::running) return std::nullopt;
  if (worker_.busy()) {
    if (pg.query_ok) return pg;
    return std::nullopt;
  }
  {
    // As Patroni, every answer asks PostgreSQL now (bounded): a member comparing WAL positions
    // in a leader race, or checking us before a switchover, must not get the position of up to
    // a loop_wait ago. When the query fails, the cycle's answer (if it had one) stands.
    // Requests that arrive while a query runs share the next one (common/fresh_call_batch.h):
    // still asked after they arrived, but a burst of health checks costs two queries, not one
    // per request waiting its turn on the status connection. The wait for others' queries is
    // bounded by `timeout` and a query started for this request gets what is left of it (at
    // least 100 ms); a request that runs out while waiting is answered as when the query
    // fails. (The query itself can still wait for the status connection while the cycle uses
    // it, and a reconnect has its own connect_timeout.)
    using std::chrono::milliseconds;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto st = status_queries_.get(
        [&] {
          const auto left =
              std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
          return services_.pg.query_status(std::max(left, milliseconds(100)));
        },
        deadline);
    if (st && *st) fill_pg_status(pg, st->value(), services_.clock.now_seconds());
    else if (!pg.query_ok) return std::nullopt;
  }
  // The walsenders are asked for on demand (GET /patroni on a primary), not every cycle, and
  // the answer is reused for kReplicationAnswerMaxAge.
  if (!pg.in_recovery) {
    MutexLock lk(replication_mu_);
    const MonoTime now = services_.clock.now();
    if (!replication_sampled_ || now - *replication_sampled_ >= kReplicationAnswerMaxAge) {
      if (auto rep = services_.pg.replication_connections(timeout)) {
        replication_ = std::move(rep).value();
        replication_sampled_ = services_.clock.now();
      } else {
        replication_.clear();
        replication_sampled_.reset();
      }
    }
    pg.replication = replication_;
  }
  return pg;
}

dcs::DcsResult<dcs::Cluster> Agent::fresh_cluster() { return services_.dcs.get_cluster_fresh(); }

// ---- shutdown -----------------------------------------------------------------------------------

void Agent::shutdown() {
  spdlog::info("shutting down");
  worker_.shutdown();
  try {
    if (auto done = worker_.take_finished()) executor_.apply_async_result(*done);
  } catch (const std::exception& e) {
    spdlog::error("shutdown: {}", e.what());
  }
  close_mailbox();  // REST jobs that will never run now
  const auto s = settings_.current();
  if (s->ha.pause) {
    spdlog::info("Leader key is not deleted and Postgresql is not stopped due paused state");
    services_.watchdog.disable();
    return;
  }
  death_watcher_.watch(std::nullopt);
  ha::LocalState& l = memory_.local;
  const bool was_leader = l.last_lock_write.has_value();
  // The nosync hint ends with the shutdown on every path, an exception included.
  struct EndNosyncHint {
    bool& flag;
    ~EndNosyncHint() { flag = false; }
  } end_nosync_hint{memory_.leaving_sync};
  try {
    if (!was_leader && s->ha.is_synchronous_mode() && !l.tags.nosync)  // ha.md §6.4: leave the sync role first
      SyncReplication::leave_sync_role(services_.dcs, services_.clock, l.name, static_cast<int>(2 * s->ha.loop_wait),
                                       [this] {
                                         memory_.leaving_sync = true;
                                         return executor_.touch_member();
                                       });
    services_.hooks.before_stop();
    if (was_leader) executor_.citus_notifier(mpp::CitusEvent::before_demote)();  // a Citus worker: writes wait
    const auto stop_timeout = was_leader ? primary_stop_timeout(*s) : std::chrono::milliseconds(std::chrono::seconds(s->pg.pg_ctl_timeout));
    const bool stopped = services_.pg.stop(postgres::StopMode::Fast, stop_timeout);
    memory_.leaving_sync = false;  // as Patroni's, the nosync hint ends with the stop, whatever its outcome
    if (!stopped) {
      spdlog::warn("pg_ctl stop failed");
      spdlog::error("PostgreSQL shutdown failed, leader key not removed.{}",
                    services_.watchdog.is_running() ? " Leaving watchdog running." : "");
      ha::set_pg_state(l, ha::PgState::stop_failed, services_.clock.now_seconds());
      executor_.touch_member();  // others see `stop failed`, as Patroni publishes it
      return;
    }
    ha::set_pg_state(l, ha::PgState::stopped, services_.clock.now_seconds());
    services_.watchdog.disable();
    if (was_leader) {
      std::optional<int64_t> lsn;
      if (auto cd = services_.pg.controldata()) lsn = cd->checkpoint_lsn();
      auto st = services_.dcs.delete_leader(lsn);
      if (st) spdlog::info("Leader key released");
      else spdlog::warn("could not release the leader lock: {}", st.error().describe());
      l.last_lock_write.reset();
    }
    // on_stop with the role it stopped in (Patroni fires it from stop()).
    executor_.fire_callback(CallbackAction::on_stop, l.role);
    l.role = ha::Role::demoted;
    executor_.touch_member();
  } catch (const std::exception& e) {
    spdlog::critical("shutdown failed: {}", e.what());
  }
}

}  // namespace custos::agent
