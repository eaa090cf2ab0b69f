#include "agent/agent.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <future>
#include <random>
#include <thread>

#include "agent/feature_support.h"
#include "agent/member_json.h"
#include "agent/schedule.h"
#include "agent/state_mapping.h"
#include "api/handler.h"
#include "api/rest_server.h"
#include "common/version.h"
#include "config/dynamic_cache.h"
#include "config/loader.h"
#include "postgres/config_files.h"
#include "ha/follow_target.h"

namespace custos::agent {

using namespace std::chrono_literals;

double epoch_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Agent::Agent(config::Config config, std::unique_ptr<dcs::Dcs> dcs, std::string config_path)
    : config_path_(std::move(config_path)), dcs_(std::move(dcs)), config_(std::move(config)) {
  settings_ = ha_settings_from_config(config_);
  pg_ = std::make_unique<PgNode>(pg_settings_for(config_));
  worker_ = std::make_unique<AsyncWorker>([this] { wake(); });
  net::HttpClientOptions ho;
  const auto& ctl = config_.ctl();
  if (ctl.is_object() && ctl.contains("insecure") && ctl["insecure"].is_boolean() && ctl["insecure"].get<bool>())
    ho.tls.verify_peer = false;
  ho.user_agent = std::string("Patroni/") + kPatroniCompatVersion + " custos/" + kVersion;
  http_ = std::make_unique<net::HttpClient>(ho);
  local_.name = config_.name();
  local_.tags = tags_from_config(config_.tags());
  pg_state_since_ = epoch_now();
  warn_unsupported_features();
}

Agent::~Agent() {
  if (rest_) rest_->stop();
  if (worker_) worker_->join();
  death_watcher_.reset();
}

void Agent::warn_unsupported_features() {
  auto now = unsupported_features(config_.raw());
  if (now == unsupported_warned_) return;
  for (const auto& line : now) spdlog::warn("not supported yet: {}", line);
  unsupported_warned_ = std::move(now);
}

void Agent::request_stop() {
  stop_ = true;
  restart_cv_.notify_all();
  pg_->request_cancel();
  wake();
}

void Agent::request_reload() {
  reload_ = true;
  wake();
}

void Agent::wake() {
  {
    std::lock_guard lk(wait_mu_);
    woken_ = true;
  }
  wait_cv_.notify_all();
  dcs_->wakeup();
}

bool Agent::holds_lock_in_view() const {
  return view_ && view_->leader_name() && *view_->leader_name() == local_.name;
}

// ---------------------------------------------------------------------------------------------
int Agent::run() {
  // Duplicate member name (rest-api.md §9).
  {
    auto c = dcs_->get_cluster();
    if (c && duplicate_member_running(c.value())) {
      spdlog::critical("Can't start; there is already a node named '{}' running", local_.name);
      return 1;
    }
  }
  {
    auto rs = api::RestApiSettings::from_config(config_.restapi());
    if (!rs) {
      spdlog::critical("restapi: {}", rs.error());
      return 1;
    }
    rest_ = std::make_unique<api::RestServer>(rs.value(), *this);
    register_operations(rest_->handler());
    auto st = rest_->start();
    if (!st) {
      spdlog::critical("cannot start the REST API: {}", st.error());
      return 1;
    }
  }
  // Adopt a running postmaster at once (never restart it).
  local_.process = pg_->process_state();
  if (local_.process != ha::PgProcess::stopped) {
    set_pg_state(local_.process == ha::PgProcess::running ? "running" : "starting");
    auto s = pg_->query_status(std::chrono::milliseconds(static_cast<int>(settings_.retry_timeout * 500)));
    if (s) local_.role = s->in_recovery ? ha::Role::replica : ha::Role::primary;
  } else {
    local_.role = pg_->data_dir_state() == ha::DataDir::present ? ha::Role::replica : ha::Role::uninitialized;
  }
  arm_death_watcher();

  scheduled_run_ = epoch_now();
  while (!stop_ && !fatal_) {
    if (reload_.exchange(false)) reload_local_config();
    const double started = epoch_now();
    try {
      cycle();
    } catch (const std::exception& e) {
      spdlog::error("unexpected exception in the HA cycle: {}", e.what());
    }
    if (epoch_now() - started > settings_.loop_wait)
      spdlog::warn("the HA cycle took {:.1f} s", epoch_now() - started);
    if (stop_ || fatal_) break;
    if (cycle_again_) {
      cycle_again_ = false;
      continue;
    }
    const double now = epoch_now();
    NextRun nr = next_run(scheduled_run_, settings_.loop_wait, now);
    if (nr.overran)
      spdlog::warn("Loop time exceeded, rescheduling immediately.");
    {
      std::lock_guard lk(snap_mu_);
      snapshot_.next_run = nr.at;
    }
    wait_until(nr.at);
    if (epoch_now() > nr.at + 2) spdlog::warn("woke up {:.1f} s after the scheduled time", epoch_now() - nr.at);
    // Woken early (leader change, postmaster death, async task done, REST): this early cycle
    // becomes the anchor of the schedule.
    scheduled_run_ = std::min(nr.at, epoch_now());
  }
  if (fatal_) {
    spdlog::critical("{}", *fatal_);
    if (rest_) rest_->stop();
    return 1;
  }
  shutdown();
  return 0;
}

void Agent::wait_until(double deadline) {
  // Every node but the lock holder watches the leader key: a replica reacts at once to the
  // leader going away, and a node waiting for the leader to bootstrap (or for anyone to win the
  // race) acts at once when the key appears, instead of a loop_wait later. The lock holder and a
  // node with an async task sleep interruptibly.
  const bool watch = view_ && !holds_lock_in_view() && !worker_->busy();
  {
    std::unique_lock lk(wait_mu_);
    if (woken_) {
      woken_ = false;
      return;
    }
  }
  double left = deadline - epoch_now();
  if (left <= 0) return;
  if (watch) {
    auto ms = std::chrono::milliseconds(static_cast<int64_t>(left * 1000) + 500);
    std::optional<dcs::Version> leader_version;
    if (view_->leader()) leader_version = view_->leader()->version;
    auto outcome = dcs_->watch(leader_version, ms);
    std::lock_guard lk(wait_mu_);
    woken_ = false;
    if (outcome == dcs::WatchOutcome::kChanged) spdlog::debug("leader key changed: running a cycle now");
    return;
  }
  std::unique_lock lk(wait_mu_);
  wait_cv_.wait_for(lk, std::chrono::milliseconds(static_cast<int64_t>(left * 1000)), [&] { return woken_ || stop_; });
  woken_ = false;
}

void Agent::arm_death_watcher() {
  auto pid = pg_->postmaster_pid();
  if (pid == watched_pid_) return;
  death_watcher_.reset();
  watched_pid_ = pid;
  if (pid) {
    const pid_t p = *pid;
    death_watcher_ = std::make_unique<postgres::DeathWatcher>(p, [this, p] {
      spdlog::warn("postmaster (pid {}) terminated", p);
      wake();
    });
  }
}

void Agent::set_pg_state(const std::string& state) {
  if (state != pg_state_) {
    pg_state_ = state;
    pg_state_since_ = epoch_now();
  }
}

void Agent::arm_rewind_check() {
  if (local_.can_rewind || settings_.remove_data_directory_on_diverged_timelines) local_.rewind = ha::RewindState::check;
}

// ---------------------------------------------------------------------------------------------
void Agent::apply_async_outcome(const AsyncOutcome& o) {
  using K = ha::AsyncKind;
  spdlog::info("{} {}", o.task.display_name(), o.ok ? "finished" : "failed: " + o.error);
  if (o.task.kind == ha::AsyncKind::restart) {
    leaving_sync_ = false;  // back in the sync candidates
    record_restart_outcome(o.ok, o.error);
  }
  switch (o.task.kind) {
    case K::bootstrap:
    case K::bootstrap_standby_leader:
      if (!o.ok) local_.bootstrap_result = ha::BootstrapResult::failed;
      set_pg_state(o.ok ? "running" : "initdb failed");
      break;
    case K::post_bootstrap:
      local_.bootstrap_result = o.ok ? ha::BootstrapResult::succeeded : ha::BootstrapResult::failed;
      // The cycle that finishes the bootstrap returns early (spec/ha.md §2.8); the next one
      // creates the replicas' slots, so run it at once rather than a loop_wait later: replicas
      // cloning meanwhile cannot stream without their slot.
      cycle_again_ = o.ok;
      break;
    case K::clone:
    case K::reinitialize:
      set_pg_state(o.ok ? "starting" : "stopped");
      if (o.ok) local_.role = ha::Role::replica;
      break;
    case K::promote:
      if (o.ok) {
        local_.role = ha::Role::primary;
        checkpoint_after_promote_pending_ = false;
      } else {
        local_.role = ha::Role::replica;
      }
      break;
    case K::demote:
      break;
    case K::start_primary:
    case K::restart:
    case K::restart_after_failure:
      set_pg_state(o.ok ? "running" : (o.task.kind == K::restart ? "restart failed (running)" : "start failed"));
      local_.recovering = true;
      break;
    case K::crash_recovery:
      set_pg_state("stopped");
      arm_rewind_check();
      break;
    case K::rewind:
      local_.rewind_executed = true;
      local_.rewind = o.ok ? ha::RewindState::success : ha::RewindState::failed;
      if (!o.ok && (settings_.remove_data_directory_on_rewind_failure ||
                    settings_.remove_data_directory_on_diverged_timelines)) {
        auto moved = pg_->move_data_dir_aside("failed_rewind." + std::to_string(static_cast<int64_t>(epoch_now())));
        if (!moved) spdlog::error("{}", moved.error());
        local_.rewind = ha::RewindState::initial;
      }
      break;
    default:
      break;
  }
  arm_death_watcher();
}

ha::LocalState Agent::collect_local_state(double now) {
  ha::LocalState& l = local_;
  {
    std::lock_guard lk(config_mu_);
    l.tags = tags_from_config(config_.tags());
  }
  l.async = worker_->current();
  if (l.async) {
    // The worker owns PostgreSQL meanwhile: keep the last known facts.
    return l;
  }
  l.data_dir = pg_->data_dir_state();
  l.process = l.data_dir == ha::DataDir::present ? pg_->process_state() : ha::PgProcess::stopped;
  // pg_controldata is a fork+exec: while the same postmaster runs, what the decision reads from
  // it (system identifier, wal_log_hints/checksums) cannot change and the cluster state is only
  // consulted when PostgreSQL is not running, so the copy read when it started is reused.
  std::optional<postgres::ControlData> cd;
  if (l.data_dir == ha::DataDir::present) {
    const auto pid = pg_->postmaster_pid();
    if (l.process == ha::PgProcess::running && pid && pid == controldata_pid_ && controldata_) {
      cd = controldata_;
    } else {
      cd = pg_->controldata();
      controldata_ = cd;
      controldata_pid_ = l.process == ha::PgProcess::running ? pid : std::nullopt;
    }
  }
  l.sysid = cd ? cd->system_identifier().value_or("") : "";
  l.control_state = cd ? map_control_state(cd->cluster_state()) : ha::ControlState::unknown;
  {
    const std::string dd = pg_->settings().data_dir;
    l.recovery_conf_exists = postgres::has_standby_signal(dd) || postgres::has_recovery_signal(dd);
  }
  arm_death_watcher();
  status_.reset();
  if (l.process == ha::PgProcess::running) {
    auto s = pg_->query_status(std::chrono::milliseconds(static_cast<int>(std::max(1.0, settings_.retry_timeout / 2) * 1000)));
    if (s) {
      status_ = s.value();
      apply_server_status(l, s.value());
      set_pg_state("running");
      l.crash_recovery_started = 0;
    } else {
      spdlog::warn("status query failed: {}", s.error());
      l.process = pg_->process_state();
      if (l.process == ha::PgProcess::running) l.process = ha::PgProcess::starting;
    }
  }
  if (l.process == ha::PgProcess::starting) {
    if (pg_state_ != "starting" && pg_state_ != "restarting") set_pg_state("starting");
    // Not queryable yet: it comes up as a replica exactly when a recovery signal file exists.
    l.in_recovery = l.recovery_conf_exists;
  }
  l.state = pg_state_;
  l.state_since = pg_state_since_;
  if (l.process == ha::PgProcess::stopped && (pg_state_ == "running" || pg_state_ == "starting")) {
    // Crashed under us: decide sees the previous state ("running") and treats it as a crash.
    set_pg_state("crashed");
  }
  {
    const PgSettings s = pg_->settings();
    l.can_rewind = s.use_pg_rewind && cd && (cd->wal_log_hints() || cd->data_checksums());
  }
  l.pending_restart = !pending_restart_params_.empty();
  (void)now;
  return l;
}

bool Agent::needs_member_statuses(const dcs::Cluster& cluster, const ha::LocalState& local) const {
  if (cluster.is_unlocked()) return true;
  const bool has_lock = cluster.leader_name() && *cluster.leader_name() == local.name;
  if (!has_lock) return false;
  if (cluster.failover() && !cluster.failover()->is_empty()) return true;
  if (local.process != ha::PgProcess::running) return true;
  if (local.async && local.async->kind == ha::AsyncKind::crash_recovery) return true;
  return false;
}

ha::MemberStatuses Agent::fetch_member_statuses(const dcs::Cluster& cluster) {
  std::map<std::string, std::string> urls;
  auto add = [&](const dcs::Cluster& c) {
    for (const auto& m : c.members())
      if (m.name() != local_.name && m.api_url()) urls[m.name()] = *m.api_url();
  };
  if (old_cluster_) add(*old_cluster_);
  add(cluster);
  for (const auto& [name, url] : cluster.failsafe_members())
    if (name != local_.name && !urls.count(name)) urls[name] = url;
  return query_members(urls);
}

ha::MemberStatuses Agent::query_members(const std::map<std::string, std::string>& urls) {
  std::vector<std::future<ha::MemberStatus>> futures;
  for (const auto& [name, url] : urls) {
    futures.push_back(std::async(std::launch::async, [this, name = name, url = url] {
      net::HttpRequest req;
      req.url = url;
      auto r = http_->request(req, 2s);
      if (!r || r->status != 200) {
        ha::MemberStatus st;
        st.name = name;
        spdlog::debug("GET {} failed: {}", url, r ? std::to_string(r->status) : r.error().describe());
        return st;
      }
      return member_status_from_patroni(name, r->body);
    }));
  }
  ha::MemberStatuses out;
  for (auto& f : futures) out.push_back(f.get());
  return out;
}

void Agent::run_rewind_check(const dcs::Cluster& cluster) {
  if (local_.rewind != ha::RewindState::check || local_.async) return;
  auto leader = cluster.leader();
  if (!leader || leader->name() == local_.name) return;
  auto member = cluster.get_member(leader->name(), false);
  if (!member || !member->is_primary()) return;
  auto up = upstream_of(*member);
  if (!up) return;
  if (!local_.can_rewind && !settings_.remove_data_directory_on_diverged_timelines) {
    local_.rewind = ha::RewindState::not_needed;
    return;
  }
  auto verdict = pg_->check_diverged(*up, local_.process == ha::PgProcess::running, status_ ? &*status_ : nullptr);
  if (verdict == DivergeVerdict::need_rewind) local_.rewind = ha::RewindState::need;
  else if (verdict == DivergeVerdict::not_needed) local_.rewind = ha::RewindState::not_needed;
}

void Agent::cycle() {
  const double now = epoch_now();
  if (auto done = worker_->take_finished()) apply_async_outcome(*done);

  auto loaded = dcs_->get_cluster();
  std::optional<dcs::Cluster> cluster;
  if (loaded) {
    cluster = loaded.value();
    if (cluster->leader() || !old_cluster_) old_cluster_ = cluster;
    apply_dynamic_config(*cluster);
  } else {
    spdlog::error("failed to load the cluster from the DCS: {}", loaded.error().describe());
  }
  view_ = cluster;
  // REST requests (restart, reinitialize, scheduled restart) act on this cycle's view.
  drain_mailbox();

  ha::LocalState local = collect_local_state(now);
  if (cluster && !local.async) {
    if (local.rewind == ha::RewindState::check) {
      run_rewind_check(*cluster);
      local.rewind = local_.rewind;
    }
  }
  ha::DecisionInput in;
  in.cluster = cluster;
  in.old_cluster = old_cluster_;
  in.settings = settings_;
  in.now = now;
  in.random_seed = static_cast<std::size_t>(std::random_device{}());
  if (cluster && needs_member_statuses(*cluster, local)) in.members = fetch_member_statuses(*cluster);
  in.local = local;

  ha::Decision decision = ha::decide(in);
  std::string message;
  if (!execute(decision, message) && cluster) {
    spdlog::error("DCS error during the cycle: deciding again without the cluster view");
    in.cluster.reset();
    view_.reset();
    in.local = local_;
    decision = ha::decide(in);
    execute(decision, message);
  }
  local_.was_paused = settings_.pause;
  spdlog::info("{}", message);
  publish_snapshot(epoch_now());
  // patroni.dynamic.json, rewritten when the applied DCS `config` changed.
  if (applied_config_version_ && saved_config_version_ != applied_config_version_ &&
      pg_->data_dir_state() == ha::DataDir::present && !worker_->busy()) {
    std::lock_guard lk(config_mu_);
    auto st = config::save_dynamic_cache(config_.data_dir(), config_.dynamic());
    if (st) saved_config_version_ = applied_config_version_;
    else spdlog::warn("cannot save {}: {}", config::kDynamicCacheFileName, st.error());
  }
}

// ---------------------------------------------------------------------------------------------
void Agent::apply_dynamic_config(const dcs::Cluster& cluster) {
  const auto& cc = cluster.config();
  if (!cc || cc->data().empty()) return;
  if (applied_config_version_ && *applied_config_version_ == cc->version) return;
  applied_config_version_ = cc->version;
  PgSettings before = pg_->settings();
  {
    std::lock_guard lk(config_mu_);
    config_ = config_.with_dynamic(cc->data());
    settings_ = ha_settings_from_config(config_);
    pg_->set_settings(pg_settings_for(config_));
    for (const auto& w : config_.warnings()) spdlog::debug("config: {}", w);
  }
  warn_unsupported_features();
  dcs_->set_timing(dcs::DcsTiming{config_.ttl(), config_.loop_wait(), config_.retry_timeout()});
  apply_pg_settings_change(before);
}

void Agent::apply_pg_settings_change(const PgSettings& before) {
  PgSettings after = pg_->settings();
  if (before.conf_parameters != after.conf_parameters || before.command_line != after.command_line ||
      before.pg_hba != after.pg_hba || before.pg_ident != after.pg_ident) {
    if (local_.process == ha::PgProcess::running && !worker_->busy() && pg_->data_dir_state() == ha::DataDir::present) {
      try {
        pg_->rewrite_configuration();
      } catch (const std::exception& e) {
        spdlog::warn("cannot rewrite postgresql.conf: {}", e.what());
      }
      // A replica's recovery section is rewritten by the next follow step; reload now.
      pg_->reload();
      std::this_thread::sleep_for(200ms);
      pending_restart_params_ = pg_->pending_restart_parameters();
      if (before.command_line != after.command_line) pending_restart_params_.push_back("command line parameters");
      spdlog::info("reloaded the PostgreSQL configuration after a configuration change");
    }
  }
}

void Agent::reload_local_config() {
  if (config_path_.empty()) return;
  auto loaded = config::load_local_configuration(config_path_, config::EnvMap{});
  if (!loaded) {
    spdlog::error("cannot reload {}: {}", config_path_, loaded.error().to_string());
    return;
  }
  const PgSettings before = pg_->settings();
  {
    std::lock_guard lk(config_mu_);
    config_ = config_.with_local(loaded->local);
    settings_ = ha_settings_from_config(config_);
    pg_->set_settings(pg_settings_for(config_));
  }
  dcs_->set_timing(dcs::DcsTiming{config_.ttl(), config_.loop_wait(), config_.retry_timeout()});
  spdlog::info("reloaded the configuration from {}", config_path_);
  apply_pg_settings_change(before);
}

// ---------------------------------------------------------------------------------------------
bool Agent::duplicate_member_running(const dcs::Cluster& cluster) {
  auto m = cluster.get_member(local_.name, false);
  if (!m || !m->api_url()) return false;
  auto url = net::Url::parse(*m->api_url());
  if (!url) return false;
  net::HttpRequest req;
  req.url = url->origin() + "/liveness";
  auto r = http_->request(req, 3s);
  return r.ok();
}

void Agent::publish_snapshot(double now) {
  api::NodeSnapshot s;
  s.name = local_.name;
  {
    std::lock_guard lk(config_mu_);
    s.scope = config_.scope();
    s.ttl = config_.ttl();
    s.loop_wait = config_.loop_wait();
    s.tags = published_tags(config_.tags());
  }
  s.patroni_version = kPatroniCompatVersion;
  s.pg.state = pg_state_;
  s.pg.role = local_.role == ha::Role::primary ? "master" : std::string(ha::to_string(local_.role));
  if (status_) {
    fill_pg_status(s.pg, *status_, now);
    if (!status_->in_recovery && !worker_->busy()) {
      auto r = pg_->query(
          "SELECT usename, application_name, COALESCE(host(client_addr), ''), state, sync_state, sync_priority "
          "FROM pg_catalog.pg_stat_replication",
          {}, std::chrono::milliseconds(2000));
      if (r) {
        for (const auto& row : r->rows) {
          if (row.size() < 6) continue;
          api::ReplicationConnection c;
          c.usename = row[0].value_or("");
          c.application_name = row[1].value_or("");
          c.client_addr = row[2].value_or("");
          c.state = row[3].value_or("");
          c.sync_state = row[4].value_or("");
          try {
            c.sync_priority = row[5] ? std::stoi(*row[5]) : 0;
          } catch (...) {
          }
          s.pg.replication.push_back(std::move(c));
        }
      }
    }
  }
  if (view_) {
    s.cluster = view_;
    s.cluster_loaded_at = now;
  } else {
    std::lock_guard lk(snap_mu_);
    s.cluster = snapshot_.cluster;
    s.cluster_loaded_at = snapshot_.cluster_loaded_at;
  }
  if (local_.last_lock_write) s.leader_lock_valid_until = *local_.last_lock_write + settings_.ttl;
  s.paused = settings_.pause;
  s.synchronous_mode = settings_.synchronous_mode;
  s.standby_cluster = settings_.is_standby_cluster();
  s.failsafe_mode = settings_.failsafe_mode;
  if (!local_.sysid.empty()) s.database_system_identifier = local_.sysid;
  s.pending_restart = !pending_restart_params_.empty();
  s.scheduled_restart = scheduled_restart_json();
  s.failsafe_mode_is_active = failsafe_active_;
  std::lock_guard lk(snap_mu_);
  s.next_run = snapshot_.next_run;
  snapshot_ = std::move(s);
}

api::NodeSnapshot Agent::snapshot() const {
  std::lock_guard lk(snap_mu_);
  return snapshot_;
}

void Agent::fill_pg_status(api::PgStatus& pg, const postgres::ServerStatus& st, double now) {
  pg.query_ok = true;
  pg.postmaster_start_time = st.postmaster_start_time;
  pg.server_version = st.server_version;
  pg.in_recovery = st.in_recovery;
  pg.flush_lsn = st.flush_lsn;
  pg.receive_lsn = st.receive_lsn;
  pg.replay_lsn = st.replay_lsn;
  pg.replay_paused = st.replay_paused;
  if (st.timeline > 0) pg.timeline = static_cast<int>(st.timeline);
  if (st.in_recovery) pg.replication_state = st.receive_lsn ? "streaming" : "in archive recovery";
  pg.sampled_at = now;
}

std::optional<api::PgStatus> Agent::live_pg_status(std::chrono::milliseconds timeout) {
  // The cycle's status is at most loop_wait old: answer from it when the cycle could query.
  api::PgStatus pg;
  {
    std::lock_guard lk(snap_mu_);
    if (snapshot_.pg.query_ok) return snapshot_.pg;
    pg = snapshot_.pg;
  }
  // The cycle's query failed (PostgreSQL was restarting, e.g. right after a switchover): ask
  // again now, bounded, so that another member checking us before a switchover or in a leader
  // race does not see us without a WAL position for a whole loop_wait.
  if (worker_->busy() || pg_->process_state() != ha::PgProcess::running) return std::nullopt;
  auto st = pg_->query_status(timeout);
  if (!st) return std::nullopt;
  fill_pg_status(pg, st.value(), epoch_now());
  return pg;
}

dcs::DcsResult<dcs::Cluster> Agent::fresh_cluster() { return dcs_->get_cluster_fresh(); }

// ---------------------------------------------------------------------------------------------
void Agent::shutdown() {
  spdlog::info("shutting down");
  if (rest_) rest_->stop();
  worker_->join();
  if (auto done = worker_->take_finished()) apply_async_outcome(*done);
  if (settings_.pause) {
    spdlog::info("paused: leaving PostgreSQL running and the leader lock in place");
    return;
  }
  death_watcher_.reset();
  const bool was_leader = local_.last_lock_write.has_value();
  const PgSettings s = pg_->settings();
  if (!was_leader && settings_.is_synchronous_mode())  // ha.md §6.4: leave the sync role first
    SyncReplication::leave_sync_role(*dcs_, local_.name, static_cast<int>(2 * settings_.loop_wait), [this] {
      leaving_sync_ = true;
      touch_member();
    });
  if (!pg_->stop(postgres::StopMode::Fast, std::chrono::seconds(s.pg_ctl_timeout))) {
    spdlog::error("PostgreSQL is still running after the stop: keeping the leader lock");
    return;
  }
  set_pg_state("stopped");
  if (was_leader) {
    std::optional<int64_t> lsn;
    if (auto cd = pg_->controldata()) lsn = cd->checkpoint_lsn();
    auto st = dcs_->delete_leader(lsn);
    if (st) spdlog::info("released the leader lock (last LSN {})", lsn.value_or(0));
    else spdlog::warn("could not release the leader lock: {}", st.error().describe());
    local_.last_lock_write.reset();
  }
  local_.role = ha::Role::demoted;
  touch_member();
}

}  // namespace custos::agent
