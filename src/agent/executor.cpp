#include "agent/executor.h"

#include "agent/agent_metrics.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <set>
#include <thread>

#include "agent/citus_worker_events.h"
#include "agent/postgres_mapping.h"
#include "agent/rejoin.h"
#include "agent/state_mapping.h"
#include "common/json_truth.h"
#include "common/time_format.h"
#include "common/version.h"
#include "dcs/history_value.h"
#include "dcs/member_value.h"
#include "dcs/slot_names.h"
#include "ha/bookkeeping.h"
#include "agent/scheduled_restart.h"
#include "ha/follow_target.h"
#include "ha/sync_selection.h"

namespace custos::agent {

using namespace std::chrono_literals;
using ha::Action;
namespace step = ha::step;

namespace {

std::chrono::milliseconds seconds_ms(double s) {
  return std::chrono::milliseconds(static_cast<int64_t>(std::max(0.0, s) * 1000));
}

postgres::StopMode stop_mode_of(ha::StopKind kind) {
  return kind == ha::StopKind::immediate ? postgres::StopMode::Immediate : postgres::StopMode::Fast;
}

}  // namespace

Executor::Executor(AgentServices& services, SettingsStore& settings, NodeMemory& memory, AsyncWorker& worker,
                   LoopWaker& waker, StateCollector& collector, DeathWatcher& death_watcher, FailsafeState& failsafe,
                   LeaseFence& fence, AgentMetrics& metrics)
    : services_(services),
      settings_(settings),
      memory_(memory),
      worker_(worker),
      waker_(waker),
      collector_(collector),
      death_watcher_(death_watcher),
      failsafe_(failsafe),
      fence_(fence),
      metrics_(metrics) {}

// ---- plan ---------------------------------------------------------------------------------------

ExecutionResult Executor::execute(const ha::Decision& decision) {
  const ha::Decision* d = &decision;
  while (true) {
    const ha::Decision* next = nullptr;
    for (std::size_t i = 0; i < d->steps.size(); ++i) {
      const ha::Step& s = d->steps[i];
      const Outcome out = run(s);
      if (out == Outcome::dcs_error) return ExecutionResult{"DCS error", true};
      if (memory_.fatal) return ExecutionResult{d->message.empty() ? *memory_.fatal : d->message, false};
      if (i + 1 == d->steps.size() && d->is_conditional() && ha::is_conditional(s.action()))
        next = out == Outcome::success ? &d->on_success() : &d->on_failure();
    }
    if (!next && d->is_conditional()) next = &d->on_failure();  // defensive: a malformed plan
    if (!next) return ExecutionResult{d->message, false};
    d = next;
  }
}

Executor::Outcome Executor::run(const ha::Step& s) {
  if (ha::is_bookkeeping(s.action())) {
    const ha::Role before = memory_.local.role;
    ha::apply_bookkeeping(s, memory_.local, settings()->ha, now());
    if (const auto* r = s.get<step::SetRole>()) {
      note_role_change(before, r->role);
      if (r->on_role_change) fire_callback(CallbackAction::on_role_change, r->role);
    } else if (s.get<step::FireOnStart>()) {
      // The first callback since the agent started (Patroni's cb_called): the bookkeeping set
      // on_start_fired already, so this one is fired directly.
      if (!memory_.local.bootstrapping) services_.hooks.fire(CallbackAction::on_start, memory_.local.role);
    } else if (const auto* f = s.get<step::SetFailsafeActive>()) {
      failsafe_.set_active(f->value ? std::optional<double>(now()) : std::nullopt);
    } else if (s.get<step::SetIsLeader>()) {
      refresh_fence();  // false: nothing to extend; true follows a lock write that set the lease
    }
    return Outcome::success;
  }
  return std::visit([this](const auto& payload) { return run(payload); }, s.payload);
}

template <class T>
Executor::Outcome Executor::run(const T&) {
  // Every bookkeeping step is applied by ha::apply_bookkeeping before the visit.
  return Outcome::success;
}

// ---- DCS writes ---------------------------------------------------------------------------------

namespace {
void warn_failed(const char* what, const dcs::DcsStatus& st) {
  if (!st) spdlog::warn("{} failed: {}", what, st.error().describe());
}
}  // namespace

Executor::Outcome Executor::run(const step::TouchMember&) {
  touch_member();
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::WriteInitialize& s) {
  if (!memory_.local.sysid.empty())
    warn_failed("write initialize", services_.dcs.initialize(s.create_new, memory_.local.sysid));
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::WriteConfig&) {
  nlohmann::json dyn = settings()->config.dynamic();
  if (!dyn.is_object()) dyn = nlohmann::json::object();
  auto r = services_.dcs.set_config_value(dyn.dump(), std::nullopt);
  if (!r) spdlog::warn("write config failed: {}", r.error().describe());
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::ReloadCluster&) {
  // After a lock change: the winner's key may be milliseconds old, read past the cache.
  auto c = services_.dcs.get_cluster_fresh();
  if (c) {
    memory_.view = std::move(c).value();
    if (memory_.view->leader()) memory_.old_cluster = memory_.view;
  } else {
    spdlog::warn("re-reading the cluster failed: {}", c.error().describe());
  }
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::ReleaseLock& s) {
  if (memory_.local.state == ha::PgState::stop_failed && services_.pg.postmaster_pid()) {
    // The plan stopped PostgreSQL first, and that failed: releasing the lock now would let
    // another member promote while this one may still accept writes.
    spdlog::error("PostgreSQL did not stop: keeping the leader lock");
    return Outcome::success;
  }
  auto released = services_.dcs.delete_leader(last_lsn_for_status());
  warn_failed("release the leader lock", released);
  if (released && s.voluntarily) spdlog::info("Leader key released");
  memory_.local.last_lock_write.reset();
  refresh_fence();
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::ClearFailoverKey& s) {
  std::optional<dcs::Version> v;
  if (!s.unconditional && memory_.view && memory_.view->failover()) v = memory_.view->failover()->version;
  auto r = services_.dcs.set_failover_value("{}", v);
  if (!r) spdlog::info("clearing the failover key failed: {}", r.error().describe());
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::RewriteFailoverKey& s) {
  nlohmann::json f = {{"member", s.candidate}};
  std::optional<dcs::Version> v;
  if (memory_.view && memory_.view->failover()) v = memory_.view->failover()->version;
  auto r = services_.dcs.set_failover_value(f.dump(), v);
  if (!r) spdlog::info("rewriting the failover key failed: {}", r.error().describe());
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::CancelInitialization&) {
  warn_failed("delete initialize", services_.dcs.cancel_initialization());
  return Outcome::success;
}

// ---- conditional steps --------------------------------------------------------------------------

Executor::Outcome Executor::run(const step::AcquireLock&) {
  const double at = now();
  auto st = services_.dcs.attempt_to_acquire_leader();
  if (st) {
    note_lease(at);
    spdlog::info("acquired the leader lock");
    // Patroni 4 member_slots_ttl: the slots the last leader retained count from now.
    const auto& view = memory_.view ? memory_.view : memory_.old_cluster;
    memory_.retained_slots.seed(view && view->status().retain_slots ? *view->status().retain_slots
                                                                     : std::vector<std::string>{},
                                now());
    return Outcome::success;
  }
  if (!st.error().is(dcs::DcsErrorKind::kLockOwnedByOther))
    spdlog::warn("attempt to acquire the leader lock failed: {}", st.error().describe());
  return Outcome::failure;
}

Executor::Outcome Executor::run(const step::UpdateLock& s) {
  const double at = now();
  dcs::LeaderRefresh refresh;
  refresh.last_lsn = last_lsn_for_status();
  // /status carries the positions of the permanent slots (ha.md §10), read only when some are
  // configured; with member_slots_ttl (Patroni 4) those of every slot, and the member slots
  // retained.
  const int64_t member_slots_ttl = settings()->ha.member_slots_ttl;
  if (refresh.last_lsn && memory_.view && memory_.status) {
    const dcs::Cluster& view = *memory_.view;
    const int version = memory_.status->server_version;
    refresh.slots = view.filter_permanent_slots(own_slot_positions(member_slots_ttl <= 0),
                                                settings()->ha.is_standby_cluster(), version, member_slots_ttl);
    if (member_slots_ttl > 0 && version >= dcs::kSlotAdvanceAvailableVersion && view.use_slots())
      refresh.retain_slots = retained_slot_names(refresh.slots, static_cast<double>(member_slots_ttl));
  }
  if (s.write_failsafe) refresh.failsafe = failsafe_map();
  auto st = services_.dcs.update_leader(refresh);
  metrics_.lock_refreshed(st.ok());
  if (st) {
    note_lease(at);
    return Outcome::success;
  }
  if (st.error().is(dcs::DcsErrorKind::kLockOwnedByOther)) {
    spdlog::error("the leader lock is no longer ours");
    memory_.local.last_lock_write.reset();
    refresh_fence();  // the deadline of the lease we had stays until PostgreSQL is demoted
    return Outcome::failure;
  }
  spdlog::error("refreshing the leader lock failed: {}", st.error().describe());
  return Outcome::dcs_error;
}

Executor::Outcome Executor::run(const step::RaceInitialize&) {
  auto st = services_.dcs.initialize(true, "");
  if (st) return Outcome::success;
  if (!st.error().is(dcs::DcsErrorKind::kCasConflict)) spdlog::warn("initialize race failed: {}", st.error().describe());
  return Outcome::failure;
}

Executor::Outcome Executor::run(const step::TakeLeader&) {
  const double at = now();
  auto st = services_.dcs.take_leader();
  if (st) {
    note_lease(at);
    return Outcome::success;
  }
  spdlog::error("writing the leader lock failed: {}", st.error().describe());
  return Outcome::failure;
}

Executor::Outcome Executor::run(const step::WriteSyncState& s) {
  nlohmann::json v = s.value.empty() ? nlohmann::json{{"leader", memory_.local.name}, {"sync_standby", nullptr}}
                                     : nlohmann::json::parse(s.value, nullptr, false);
  std::optional<dcs::Version> ver;
  if (memory_.view && memory_.view->sync().version) ver = memory_.view->sync().version;
  auto r = services_.dcs.set_sync_state_value(v.dump(), ver);
  return r ? Outcome::success : Outcome::failure;
}

Executor::Outcome Executor::run(const step::CheckFailsafeTopology&) {
  // ha.md §7: the primary may go on without the DCS only when every other member of the last
  // known /failsafe map accepts it as the leader.
  const auto& known = memory_.old_cluster;
  if (!known || !known->failsafe() || !known->failsafe()->contains(memory_.local.name)) return Outcome::failure;
  std::map<std::string, std::string> others;
  for (const auto& [name, url] : known->failsafe_members())
    if (name != memory_.local.name) others[name] = url;
  const auto current = settings();
  nlohmann::json body = {{"name", memory_.local.name},
                         {"conn_url", current->pg.conn_url()},
                         {"api_url", current->pg.api_url}};
  // Our slot positions: Patroni sends the slots it has and its own slot name with its last LSN
  // (replicas advance permanent physical slots with them while the DCS is away).
  nlohmann::json slots = nlohmann::json::object();
  for (const auto& [name, lsn] : own_slot_positions(false)) slots[name] = lsn;
  body["slots"] = slots;
  const double asked_at = now();
  bool all = true;
  if (!others.empty()) {
    for (const auto& a : services_.members.post_failsafe(others, body.dump()))
      if (!a.accepted) all = false;
  }
  if (!all) return Outcome::failure;
  // Every member accepted us as the leader for ttl from (at the earliest) this moment: our lease
  // runs from when we asked, and the fence counts from there.
  memory_.local.last_lock_write = asked_at;
  memory_.lease_fence_deadline = asked_at + settings()->ha.ttl - kLeaseFenceMargin;
  refresh_fence();
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::ActivateWatchdog&) {
  // Without a watchdog configured (mode off) there is nothing to arm: that is a success.
  if (!settings()->ha.watchdog_enabled) return Outcome::success;
  return services_.watchdog.activate() ? Outcome::success : Outcome::failure;
}

// ---- PostgreSQL actions -------------------------------------------------------------------------

bool Executor::start_async(ha::AsyncKind kind, std::string name, AsyncWorker::Task fn) {
  ha::AsyncTask task{kind, std::move(name)};
  if (waker_.stop_requested()) {
    spdlog::info("not starting {}: shutting down", task.display_name());
    return false;
  }
  if (!worker_.start(task, std::move(fn))) {
    spdlog::warn("cannot start {}: another action is running", task.display_name());
    return false;
  }
  memory_.local.async = task;
  spdlog::info("started {}", task.display_name());
  return true;
}

std::optional<postgres::Upstream> Executor::remote_upstream() const {
  const auto current = settings();
  return remote_upstream_of(current->pg, current->ha);
}

Executor::Outcome Executor::run(const step::Bootstrap& s) {
  ha::LocalState& l = memory_.local;
  if (s.standby_leader) {
    // ha.md §3.1/§8: the winner of the initialize race copies the remote primary (with
    // standby_cluster.create_replica_methods) and follows it as the standby leader; the
    // post-bootstrap steps then take the lock as after a new cluster's bootstrap.
    l.bootstrapping = true;
    l.bootstrap_result = ha::BootstrapResult::pending;
    l.role = ha::Role::uninitialized;
    ha::set_pg_state(l, ha::PgState::creating_replica, now());
    start_async(ha::AsyncKind::bootstrap_standby_leader, "",
                [&pg = services_.pg, up = remote_upstream()](const CancelToken& cancel) {
                  auto r = pg.clone(up, cancel, postgres::PostgresNode::CloneMethods::kConfigured);
                  return r ? std::string() : r.error();
                });
    return Outcome::success;
  }
  l.bootstrapping = true;
  l.bootstrap_result = ha::BootstrapResult::pending;
  l.role = ha::Role::uninitialized;
  ha::set_pg_state(l,
                   settings()->pg.bootstrap_method.empty() ? ha::PgState::initializing_new_cluster
                                                           : ha::PgState::running_custom_bootstrap_script,
                   now());
  start_async(ha::AsyncKind::bootstrap, "", [&pg = services_.pg](const CancelToken& cancel) {
    auto r = pg.bootstrap(cancel);
    return r ? std::string() : r.error();
  });
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::PostBootstrap&) {
  start_async(ha::AsyncKind::post_bootstrap, "", [&pg = services_.pg](const CancelToken&) {
    auto r = pg.post_bootstrap();
    return r ? std::string() : r.error();
  });
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::Clone& s) {
  std::optional<dcs::Member> m;
  if (memory_.view && !s.member.empty()) m = memory_.view->get_member(s.member, false);
  std::optional<postgres::Upstream> up = m ? upstream_of(*m) : std::nullopt;
  // An empty member: a replica method that works without a leader (no_leader), ha.md §3.1; in a
  // standby cluster the remote primary is the source then (Patroni's get_remote_member()).
  if (s.member.empty()) up = remote_upstream();
  if (!up && !s.member.empty()) {
    spdlog::error("cannot clone: member '{}' has no conn_url", s.member);
    return Outcome::success;
  }
  ha::set_pg_state(memory_.local, ha::PgState::creating_replica, now());
  memory_.local.role = ha::Role::uninitialized;
  memory_.pending_start_callback = std::make_pair(CallbackAction::on_start, ha::Role::replica);
  const bool from_leader = memory_.view && memory_.view->leader_name() == s.member;
  const std::string name = s.member.empty() ? std::string("bootstrap (without leader)")
                                            : std::string("bootstrap from ") + (from_leader ? "leader" : "replica") +
                                                  " '" + s.member + "'";
  start_async(ha::AsyncKind::clone, name, [&pg = services_.pg, up](const CancelToken& cancel) {
    auto r = pg.clone(up, cancel, postgres::PostgresNode::CloneMethods::kConfigured);
    return r ? std::string() : r.error();
  });
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::Promote&) {
  memory_.local.role = ha::Role::promoted;
  memory_.local.checkpoint_after_promote_pending = true;
  const auto wait = seconds_ms(std::max(10.0, settings()->ha.loop_wait));
  // The slots the other members will stream from once we are primary are created before the
  // promotion (physical slots can be made on a standby and survive it): a replica that follows
  // us right away must not find its slot missing (its WAL receiver would then wait
  // wal_retrieve_retry_interval, 5 s by default, before trying again).
  // Still a standby: nothing is dropped and logical slots cannot be made here (copied ones stay).
  auto slots = slot_request(true);
  if (slots) {
    slots->primary = false;
    slots->drop_unknown = false;
    slots->advance = false;  // a logical advance decodes WAL: nothing may delay the promotion
    std::erase_if(slots->expected, [](const auto& kv) { return kv.second.logical; });
  }
  memory_.local.on_start_fired = true;  // on_role_change follows (Patroni's cb_called)
  start_async(ha::AsyncKind::promote, "",
              [&pg = services_.pg, &hooks = services_.hooks, wait, slots,
               citus = citus_notifier(mpp::CitusEvent::before_promote)](const CancelToken& cancel) {
                if (auto pre = hooks.pre_promote(cancel); !pre) return "pre_promote: " + pre.error();
                citus();
                if (slots) (void)pg.sync_slots(*slots);
                auto r = pg.promote(wait);
                if (!r) return r.error();
                // As Patroni: on_role_change as soon as PostgreSQL runs as the primary, not after
                // the CHECKPOINT below (a callback moving a VIP must not wait for it). The
                // checkpoint is what pg_rewind of the old primary needs; until it is done the
                // member key says checkpoint_after_promote: false.
                hooks.fire(CallbackAction::on_role_change, ha::Role::primary);  // Patroni: "master"
                if (auto cp = pg.checkpoint(60s); !cp) spdlog::warn("post-promote CHECKPOINT failed: {}", cp.error());
                return std::string();
              });
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::Demote& s) {
  demote(s.mode, s.task_name);
  return Outcome::success;
}

void Executor::demote(ha::DemoteMode mode, const std::string& task_name) {
  spdlog::info("Demoting self ({})", ha::to_string(mode));
  const auto current = settings();
  const auto stop_timeout = primary_stop_timeout(*current);
  ha::LocalState& l = memory_.local;
  const ha::Role was = l.role;  // on_stop is fired with the role it stopped in
  l.role = ha::Role::demoted;
  l.checkpoint_after_promote_pending = false;
  // ha.md §3.13: in synchronous mode synchronous_standby_names is cleared before the stop.
  if (current->ha.is_synchronous_mode())
    sync_.set_names("", [this](const std::optional<std::string>& v) { apply_synchronous_standby_names(v); });
  if (mode == ha::DemoteMode::graceful) {
    // One pass (agent/rejoin.h): stop, release the lock, then follow the new leader, rewinding
    // first when the timelines diverged, all in this task.
    RejoinRequest rejoin;
    rejoin.my_name = l.name;
    rejoin.can_rewind = l.can_rewind;
    rejoin.reinitialize_on_divergence = current->ha.remove_data_directory_on_diverged_timelines;
    rejoin.wait = seconds_ms(current->ha.retry_timeout);
    rejoin.ready_wait = std::chrono::seconds(current->pg.pg_ctl_timeout);
    if (current->pg.use_slots) rejoin.slot = current->pg.slot_name;
    start_async(ha::AsyncKind::demote, task_name.empty() ? std::string("manual failover: demote") : task_name,
                [&pg = services_.pg, &dcs = services_.dcs, &hooks = services_.hooks, &clock = services_.clock,
                 stop_timeout, rejoin, was,
                 citus = citus_notifier(mpp::CitusEvent::before_demote)](const CancelToken& cancel) -> AsyncWorker::TaskResult {
                  if (auto cp = pg.checkpoint(60s); !cp) spdlog::warn("CHECKPOINT before demote failed: {}", cp.error());
                  hooks.before_stop();
                  citus();  // the coordinator pauses writes to this group until the new primary is in
                  if (!pg.stop(postgres::StopMode::Fast, stop_timeout)) {
                    spdlog::warn("pg_ctl stop failed");
                    return std::string(ha::kStopFailed);
                  }
                  hooks.fire(CallbackAction::on_stop, was);
                  std::optional<int64_t> lsn;
                  if (auto cd = pg.controldata()) lsn = cd->checkpoint_lsn();
                  auto st = dcs.delete_leader(lsn);
                  if (!st) spdlog::warn("release of the leader lock failed: {}", st.error().describe());
                  else spdlog::info("Leader key released");
                  const RejoinOutcome joined = rejoin_new_leader(rejoin, pg, dcs, clock, cancel);
                  // The demoted primary follows: its role changes (Patroni's follow after demote).
                  if (joined.started) hooks.fire(CallbackAction::on_role_change, ha::Role::replica);
                  AsyncWorker::TaskResult out(joined.error);
                  out.rewind = joined.rewind;
                  out.started_replica = joined.started;
                  if (joined.started)
                    spdlog::info("rejoined as a replica of {}", joined.leader.value_or("nobody (no leader yet)"));
                  return out;
                });
    l.last_lock_write.reset();
    ha::set_pg_state(l, ha::PgState::stopping, now());
    ha::arm_rewind_check(l, current->ha);
    return;
  }
  const auto stop_mode = mode == ha::DemoteMode::offline ? postgres::StopMode::Fast : postgres::StopMode::Immediate;
  services_.hooks.before_stop();
  if (!services_.pg.stop(stop_mode, stop_timeout)) {
    spdlog::error("PostgreSQL did not stop: it keeps running");
    spdlog::warn("pg_ctl stop failed");  // Patroni's line
    ha::set_pg_state(l, ha::PgState::stop_failed, now());
    return;
  }
  ha::set_pg_state(l, ha::PgState::stopped, now());
  l.process = ha::PgProcess::stopped;
  memory_.status.reset();  // the last status query described a primary that no longer runs
  fire_callback(CallbackAction::on_stop, was);
  services_.watchdog.disable();  // only once no postmaster runs (ha.md §3.13: the safepoint)
  if (mode == ha::DemoteMode::immediate) {
    // The others race as soon as the key is gone and ask this node's /patroni: it must say
    // stopped and demoted then, not what the last cycle published (a running primary, which
    // makes every candidate wait a cycle: "primary still alive").
    if (state_publisher_) state_publisher_();
    auto released = services_.dcs.delete_leader(std::nullopt);
    warn_failed("release of the leader lock", released);
    if (released) spdlog::info("Leader key released");
  }
  if (mode != ha::DemoteMode::offline) l.last_lock_write.reset();
  ha::arm_rewind_check(l, current->ha);
  if (l.rewind == ha::RewindState::check && mode != ha::DemoteMode::offline) {
    // pg_rewind may be needed: start on the next cycle, after the check (ha.md §3.13).
    watch_postmaster();
    return;
  }
  std::optional<postgres::Upstream> upstream;
  const auto& view = memory_.view;
  if (mode != ha::DemoteMode::offline && view && view->leader() && view->leader()->name() != l.name) {
    if (auto m = view->get_member(view->leader()->name(), false)) upstream = upstream_of(*m);
  }
  const bool change_role = callback_role_change(l.role, ha::Role::replica);
  l.role = ha::Role::replica;
  if (mode == ha::DemoteMode::offline) {
    // Patroni starts it in the cycle itself (the DCS is away: nothing else to wait for).
    auto r = services_.pg.start(true, upstream);
    if (!r) spdlog::error("cannot start PostgreSQL as a replica: {}", r.error());
    else ha::set_pg_state(l, ha::PgState::starting, now());
    if (r && change_role) fire_callback(CallbackAction::on_role_change, ha::Role::replica);
    watch_postmaster();
    return;
  }
  // Patroni fires on_role_change as the start begins, on_start once it is ready.
  if (change_role) fire_callback(CallbackAction::on_role_change, ha::Role::replica);
  start_replica_async(ha::AsyncKind::start_after_demotion, upstream, static_cast<double>(current->pg.pg_ctl_timeout),
                      change_role ? std::nullopt : std::optional<CallbackAction>(CallbackAction::on_start));
}

void Executor::start_replica_async(ha::AsyncKind kind, const std::optional<postgres::Upstream>& upstream,
                                   double wait_seconds, std::optional<CallbackAction> on_ready) {
  ha::LocalState& l = memory_.local;
  if (on_ready) memory_.pending_start_callback = std::make_pair(*on_ready, ha::Role::replica);
  else memory_.pending_start_callback.reset();
  ha::set_pg_state(l, ha::PgState::starting, now());
  l.process = ha::PgProcess::starting;
  const auto wait = seconds_ms(std::max(1.0, wait_seconds));
  const bool started =
      start_async(kind, "", [&pg = services_.pg, upstream, wait](const CancelToken& cancel) -> AsyncWorker::TaskResult {
        auto st = pg.start(true, upstream, cancel);
        if (!st) return "cannot start PostgreSQL: " + st.error();
        const auto r = pg.wait_ready(wait, cancel);
        if (r == postgres::ServerProcess::running) return std::string();
        if (r == postgres::ServerProcess::starting) return std::string(ha::kRestartStartTimedOut);
        return std::string("the postmaster exited during start");
      });
  if (!started) {
    ha::set_pg_state(l, ha::PgState::start_failed, now());
    l.process = ha::PgProcess::stopped;
  }
}

Executor::Outcome Executor::run(const step::Follow& s) {
  const auto current = settings();
  ha::LocalState& l = memory_.local;
  std::string target = s.member;
  bool remote = s.remote;
  if (s.refresh_target) {
    auto c = services_.dcs.get_cluster_fresh();
    if (c) memory_.view = std::move(c).value();
    if (memory_.view) {
      auto t = ha::node_to_follow(*memory_.view, l, current->ha, memory_.holds_lock_in_view());
      target = t ? t->name : "";
      remote = t ? t->remote : false;
    }
  }
  std::optional<postgres::Upstream> upstream;
  if (remote) {
    upstream = remote_upstream();
  } else if (!target.empty() && memory_.view) {
    if (auto m = memory_.view->get_member(target, false)) upstream = upstream_of(*m);
    if (!upstream) spdlog::info("member '{}' to follow has no conn_url yet", target);
  }
  note_role_change(memory_.local.role, s.role);
  const bool change_role = callback_role_change(l.role, s.role);
  l.role = s.role;

  if (l.process == ha::PgProcess::stopped) {
    // Patroni's 'restarting after failure': the start and the wait for it run as the async
    // action, so the cycles meanwhile say '... in progress' (or refresh the lock).
    l.recovering = true;
    l.start_timeout = s.start_timeout > 0 ? std::optional<double>(s.start_timeout) : std::nullopt;
    const double wait = s.start_timeout > 0 ? s.start_timeout : static_cast<double>(current->pg.pg_ctl_timeout);
    if (change_role) fire_callback(CallbackAction::on_role_change, s.role);
    start_replica_async(ha::AsyncKind::restart_after_failure, upstream, wait,
                        change_role ? std::nullopt : std::optional<CallbackAction>(CallbackAction::on_start));
    if (memory_.pending_start_callback) memory_.pending_start_callback->second = s.role;
    return Outcome::success;
  }
  // Running: follow the new target. A known target without an address keeps what is configured.
  if (!target.empty() && !upstream) return Outcome::success;
  auto r = services_.pg.follow(upstream);
  if (!r) {
    spdlog::error("cannot apply the recovery configuration: {}", r.error());
    return Outcome::success;
  }
  if (r.value() == postgres::FollowOutcome::reconfigured) {
    spdlog::info("changed primary_conninfo to follow {}", upstream ? upstream->name : std::string("nobody"));
    ha::arm_rewind_check(l, current->ha);
    // Patroni follows by reload: on_reload, or on_role_change when the role changed.
    fire_callback(change_role ? CallbackAction::on_role_change : CallbackAction::on_reload, s.role);
  } else if (change_role && s.role == ha::Role::standby_leader) {
    fire_callback(CallbackAction::on_role_change, s.role);  // replica -> standby_leader in place
  }
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::StartPrimary& s) {
  memory_.local.start_timeout = s.timeout;
  memory_.pending_start_callback = std::make_pair(CallbackAction::on_start, ha::Role::primary);
  ha::set_pg_state(memory_.local, ha::PgState::starting, now());
  const auto timeout = seconds_ms(std::max(1.0, s.timeout));
  start_async(ha::AsyncKind::start_primary, "", [&pg = services_.pg, timeout](const CancelToken& cancel) {
    // Right after a crash the old backends may still hold the shared memory for a moment: a
    // postmaster that exits at once is started again, until the start timeout.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string error = "PostgreSQL did not start in time";
    for (int attempt = 1; std::chrono::steady_clock::now() < deadline && !cancel.cancelled(); ++attempt) {
      auto st = pg.start(false, std::nullopt, cancel);
      if (!st) {
        error = st.error();
      } else {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        const auto r = pg.wait_ready(std::max(left, std::chrono::milliseconds(1)), cancel);
        if (r == postgres::ServerProcess::running) return std::string();
        if (r == postgres::ServerProcess::starting) break;  // still starting at the deadline
        error = "the postmaster exited during start";
      }
      if (attempt >= 5) break;
      spdlog::warn("starting the primary failed ({}), retrying", error);
      for (int i = 0; i < 10 && !cancel.cancelled(); ++i) std::this_thread::sleep_for(100ms);
    }
    return error;
  });
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::CrashRecovery&) {
  memory_.local.crash_recovery_started = now();
  start_async(ha::AsyncKind::crash_recovery, "", [&pg = services_.pg](const CancelToken& cancel) {
    auto r = pg.crash_recovery(cancel);
    return r ? std::string() : r.error();
  });
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::Rewind& s) {
  std::optional<postgres::Upstream> up;
  if (s.remote) {
    // A standby leader rewinds from the remote primary it is to follow (ha.md §8).
    up = remote_upstream();
    if (up && up->host.empty()) up.reset();
  } else if (auto m = memory_.view ? memory_.view->get_member(s.member, false) : std::nullopt) {
    up = upstream_of(*m);
  }
  if (!up) {
    spdlog::warn("cannot rewind: leader '{}' has no conn_url", s.member);
    return Outcome::success;
  }
  // pg_rewind reads the source's timeline from its pg_control: a just promoted leader must have
  // run its post-promote CHECKPOINT first (ha.md §4); decided again next cycle.
  if (memory_.view->leader() && memory_.view->leader()->name() == s.member &&
      memory_.view->leader()->checkpoint_after_promote() == false) {
    spdlog::info("waiting for the checkpoint on {} before pg_rewind", s.member);
    return Outcome::success;
  }
  start_async(ha::AsyncKind::rewind, "running pg_rewind from " + s.member, [&pg = services_.pg, u = *up](const CancelToken& cancel) {
    auto r = pg.rewind(u, cancel);
    return r ? std::string() : r.error();
  });
  return Outcome::success;
}

bool Executor::start_reinitialize(const std::string& member, bool from_leader) {
  std::optional<dcs::Member> m = memory_.view ? memory_.view->get_member(member, true) : std::nullopt;
  std::optional<postgres::Upstream> up = m ? upstream_of(*m) : std::nullopt;
  if (!up) {
    spdlog::warn("cannot reinitialize: member '{}' has no conn_url", member);
    return false;
  }
  const bool ok = start_async(
      ha::AsyncKind::reinitialize, "",
      [&pg = services_.pg, &hooks = services_.hooks, u = *up, role = memory_.local.role,
       from_leader](const CancelToken& cancel) {
        // As Patroni: PostgreSQL stopped, the data directory left where it is for the replica
        // methods (basebackup and a method without keep_data empty it first; one with keep_data,
        // such as `pgbackrest --delta restore`, restores into it). Never under a live postmaster.
        const bool was_running = pg.postmaster_pid().has_value();
        if (!pg.stop(postgres::StopMode::Immediate, 30s))
          return std::string("PostgreSQL did not stop: the data directory is left in place");
        if (was_running) hooks.fire(CallbackAction::on_stop, role);
        if (cancel.cancelled()) return std::string("cancelled");
        auto r = pg.clone(std::optional<postgres::Upstream>(u), cancel,
                          from_leader ? postgres::PostgresNode::CloneMethods::kBasebackupOnly
                                      : postgres::PostgresNode::CloneMethods::kConfigured);
        return r ? std::string() : r.error();
      });
  if (ok) {
    ha::set_pg_state(memory_.local, ha::PgState::creating_replica, now());
    memory_.pending_start_callback = std::make_pair(CallbackAction::on_start, ha::Role::replica);
  }
  return ok;
}

Executor::Outcome Executor::run(const step::Reinitialize& s) {
  start_reinitialize(s.member, false);
  return Outcome::success;
}

bool Executor::start_restart(std::optional<int> timeout) {
  if (worker_.busy()) return false;
  const auto current = settings();
  ha::LocalState& l = memory_.local;
  const bool replica = l.in_recovery;
  std::optional<postgres::Upstream> upstream;
  const auto& view = memory_.view;
  if (replica && view && view->leader()) {
    if (auto m = view->get_member(view->leader()->name(), false)) upstream = upstream_of(*m);
  }
  // ha.md §3.16/§6.4: in synchronous mode a replica publishes nosync before the restart (so that
  // the primary neither keeps nor picks it) and, if it is a synchronous standby, waits for the
  // primary to pick another.
  const bool leave_sync = replica && current->ha.is_synchronous_mode() && !l.tags.nosync;
  bool nosync_published = false;
  if (leave_sync) {
    memory_.leaving_sync = true;
    nosync_published = touch_member();
  }
  const int sync_wait = static_cast<int>(2 * current->ha.loop_wait);
  const auto stop_timeout = std::chrono::seconds(current->pg.pg_ctl_timeout);
  const auto start_timeout = std::chrono::seconds(timeout.value_or(current->pg.pg_ctl_timeout));
  const bool started = start_async(
      ha::AsyncKind::restart, "",
      [&pg = services_.pg, &dcs = services_.dcs, &clock = services_.clock, replica, upstream, leave_sync,
       nosync_published, sync_wait, stop_timeout,
       start_timeout, name = l.name, before = citus_notifier(mpp::CitusEvent::before_demote),
       after = citus_notifier(mpp::CitusEvent::after_promote)](const CancelToken& cancel) {
        if (leave_sync)
          SyncReplication::leave_sync_role(
              dcs, clock, name, sync_wait, [nosync_published] { return nosync_published; }, &cancel);
        if (!replica) before();  // a Citus worker's primary: the coordinator pauses writes
        if (!pg.stop(postgres::StopMode::Fast, stop_timeout)) {
          spdlog::warn("pg_ctl stop failed");
          return std::string(ha::kStopFailed);
        }
        auto st = pg.start(replica, upstream, cancel);
        if (!st) return st.error();
        if (pg.wait_ready(start_timeout, cancel) != postgres::ServerProcess::running)
          return std::string(ha::kRestartStartTimedOut);
        if (!replica) after();
        return std::string();
      });
  if (!started) {
    memory_.leaving_sync = false;
    if (nosync_published) touch_member();  // no restart after all: withdraw the hint
  } else {
    ha::set_pg_state(l, ha::PgState::restarting, now());
    memory_.pending_restart_params.clear();
    // Patroni blocks on_stop/on_start around a restart and fires on_restart once it is ready.
    memory_.pending_start_callback = std::make_pair(CallbackAction::on_restart, l.role);
  }
  return started;
}

Executor::Outcome Executor::run(const step::Restart&) {
  start_restart(std::nullopt);
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::StopPostgres& s) {
  ha::LocalState& l = memory_.local;
  if (l.process == ha::PgProcess::stopped && !services_.pg.postmaster_pid()) return Outcome::success;
  services_.hooks.before_stop();
  if (services_.pg.stop(stop_mode_of(s.kind), std::chrono::seconds(settings()->pg.pg_ctl_timeout))) {
    ha::set_pg_state(l, ha::PgState::stopped, now());
    l.process = ha::PgProcess::stopped;
    fire_callback(CallbackAction::on_stop, l.role);
  } else {
    spdlog::error("PostgreSQL did not stop ({})", ha::to_string(s.kind));
    spdlog::warn("pg_ctl stop failed");  // Patroni's line
    ha::set_pg_state(l, ha::PgState::stop_failed, now());
  }
  watch_postmaster();
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::CancelAsync& s) {
  worker_.cancel_current();
  spdlog::warn("cancelling {} (best effort)", s.what);
  return Outcome::success;
}

void Executor::fire_callback(CallbackAction action, ha::Role role) {
  ha::LocalState& l = memory_.local;
  if (l.bootstrapping) return;  // Patroni runs no callback while it bootstraps
  if (action != CallbackAction::on_reload) l.on_start_fired = true;
  services_.hooks.fire(action, role);
}

bool Executor::callback_role_change(ha::Role from, ha::Role to) const {
  if (!memory_.local.on_start_fired) return false;
  if (from == ha::Role::primary || from == ha::Role::promoted || from == ha::Role::demoted) return true;
  const bool between = (from == ha::Role::replica && to == ha::Role::standby_leader) ||
                       (from == ha::Role::standby_leader && to == ha::Role::replica);
  return between;
}

void Executor::note_role_change(ha::Role from, ha::Role to) {
  if (from == to) return;
  // In the presented generation's words ("primary" under 4.1), as the member key and REST say it.
  const PatroniGeneration presentation = settings()->config.presentation();
  spdlog::info("role: {} -> {}", role_text(from, presentation), role_text(to, presentation));
  metrics_.role_changed(from, to);
}

// ---- synchronous replication, history, slots ----------------------------------------------------

void Executor::apply_synchronous_standby_names(const std::optional<std::string>& value) {
  settings_.set_managed_synchronous_standby_names(value);
  services_.pg.set_settings(settings()->pg);
  const ha::LocalState& l = memory_.local;
  // Not running (or busy): the next start or follow writes postgresql.conf.
  if (l.process != ha::PgProcess::running || worker_.busy() || to_ha(services_.pg.data_dir_state()) != ha::DataDir::present)
    return;
  // A primary may have been adopted (nothing written by this process yet): write it in full.
  const auto st = memory_.status && !memory_.status->in_recovery ? services_.pg.write_primary_configuration()
                                                                 : services_.pg.rewrite_configuration();
  if (!st) {
    spdlog::warn("synchronous_standby_names: {}", st.error());
    return;
  }
  if (services_.pg.reload()) fire_callback(CallbackAction::on_reload, memory_.local.role);
}

Executor::Outcome Executor::run(const step::SetSynchronousStandbyNames& s) {
  sync_.set_names(s.value, [this](const std::optional<std::string>& v) { apply_synchronous_standby_names(v); });
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::ManageSyncReplication&) {
  if (memory_.view)
    sync_.manage(services_.dcs, *memory_.view, settings()->ha, memory_.local.name, services_.pg,
                 [this](const std::optional<std::string>& v) { apply_synchronous_standby_names(v); }, now());
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::UpdateHistory&) {
  const auto& st = memory_.status;
  if (!st || st->in_recovery || st->timeline <= 0 || !memory_.view) return Outcome::success;
  std::vector<dcs::HistorySwitch> switches;
  if (st->timeline > 1)
    for (const auto& s : services_.pg.timeline_history(st->timeline))
      switches.push_back(dcs::HistorySwitch{s.parent, s.switch_lsn, s.reason});
  const int64_t max_lines = memory_.view->config() ? memory_.view->config()->max_timelines_history() : 0;
  auto value = dcs::next_history_value(memory_.view->history(), st->timeline, switches,
                                       iso8601_local(services_.clock.wall_seconds()), memory_.local.name, max_lines);
  if (value) warn_failed("writing /history", services_.dcs.set_history_value(*value));
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::EnsureCheckpointAfterPromote&) {
  // The promote task runs the CHECKPOINT before it reports success, and its success clears
  // checkpoint_after_promote_pending (published until then): nothing is left to do here.
  return Outcome::success;
}

std::chrono::milliseconds primary_stop_timeout(const EffectiveSettings& s) {
  // primary_stop_timeout (synchronous mode only): the primary's stop is cut short after it (an
  // immediate shutdown, then SIGKILL) instead of waiting pg_ctl_timeout.
  if (s.ha.is_synchronous_mode() && s.ha.primary_stop_timeout > 0)
    return std::chrono::milliseconds(static_cast<int64_t>(s.ha.primary_stop_timeout * 1000));
  return std::chrono::seconds(s.pg.pg_ctl_timeout);
}

namespace {

// A string attribute of a slot or matcher ("" when absent or falsy); a truthy value of another
// type is kept in a form no slot attribute can equal (Patroni compares it with ==).
std::string slot_attribute(const nlohmann::json& o, const char* key) {
  if (!o.is_object() || !o.contains(key)) return "";
  const nlohmann::json& v = o[key];
  if (v.is_string()) return v.get<std::string>();
  return python_truthy(v) ? "\x01" + v.dump() : "";
}

// ignore_slots as matching rules (Patroni: `name` compared when not null, the others when truthy).
std::vector<postgres::SlotIgnoreRule> ignore_rules(const dcs::Cluster& view) {
  std::vector<postgres::SlotIgnoreRule> out;
  if (!view.config()) return out;
  for (const auto& m : view.config()->ignore_slots_matchers()) {
    if (!m.is_object()) continue;
    postgres::SlotIgnoreRule r;
    if (m.contains("name") && !m["name"].is_null())
      r.name = m["name"].is_string() ? m["name"].get<std::string>() : "\x01" + m["name"].dump();
    r.type = slot_attribute(m, "type");
    r.database = slot_attribute(m, "database");
    r.plugin = slot_attribute(m, "plugin");
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

std::optional<postgres::SlotSyncRequest> Executor::slot_request(bool as_primary, const dcs::Cluster* cluster) const {
  const dcs::Cluster* view = cluster ? cluster : (memory_.view ? &*memory_.view : nullptr);
  const auto& st = memory_.status;
  if (!view || memory_.local.process != ha::PgProcess::running || !st) return std::nullopt;
  const auto current = settings();
  if (!current->pg.use_slots || !view->use_slots()) return std::nullopt;
  // A standby leader keeps the slots of the members that cascade from it, as a primary does.
  const char* role = as_primary ? "master" : memory_.local.role == ha::Role::standby_leader ? "standby_leader" : "replica";
  auto slots = view->get_replication_slots(memory_.local.name, role,
                                           memory_.local.tags.is_nofailover(), st->server_version,
                                           current->ha.is_standby_cluster(), nullptr,
                                           current->ha.member_slots_ttl);
  postgres::SlotSyncRequest req;
  req.primary = as_primary;
  req.drop_unknown = !current->ha.pause;
  req.ignore = ignore_rules(*view);
  if (current->pg.citus) req.citus_database = current->pg.citus->database;
  for (const auto& [name, attrs] : slots) {
    postgres::ExpectedSlot e;
    e.logical = attrs.is_object() && attrs.contains("type") && attrs["type"] == "logical";
    if (e.logical) {
      e.database = slot_attribute(attrs, "database");
      e.plugin = slot_attribute(attrs, "plugin");
    }
    // Permanent slots carry the position the cluster published for them ("lsn").
    if (attrs.is_object() && attrs.contains("lsn") && attrs["lsn"].is_number_integer()) e.lsn = attrs["lsn"].get<int64_t>();
    req.expected[name] = std::move(e);
  }
  return req;
}

std::vector<std::string> Executor::retained_slot_names(const std::map<std::string, int64_t>& published, double ttl) {
  const dcs::Cluster& view = *memory_.view;
  std::set<std::string> in_use;
  const std::string mine = dcs::slot_name_from_member_name(memory_.local.name);
  const auto permanent = view.permanent_slots();
  for (const auto& m : view.members()) {
    const std::string slot = dcs::slot_name_from_member_name(m.name());
    if (m.nostream() || !published.count(slot)) continue;
    // A permanent physical slot of that name is kept anyway.
    if (auto p = permanent.find(slot); p != permanent.end() && !(p->second.is_object() && p->second.value("type", "") == "logical"))
      continue;
    in_use.insert(slot);
  }
  in_use.insert(mine);
  std::vector<std::string> expired;
  auto kept = memory_.retained_slots.update(in_use, now(), ttl, &expired);
  for (const auto& name : expired)
    spdlog::info("Replication slot '{}' for absent cluster member is expired after {} sec.", name,
                 static_cast<int64_t>(ttl));
  return kept;
}

std::map<std::string, int64_t> Executor::own_slot_positions(bool only_with_permanent_slots) const {
  std::map<std::string, int64_t> out;
  const auto& view = memory_.view ? memory_.view : memory_.old_cluster;
  const bool permanent = view && !view->permanent_slots().empty();
  if (permanent || !only_with_permanent_slots) out = services_.pg.slot_positions();
  if (auto lsn = last_lsn_for_status()) out[dcs::slot_name_from_member_name(memory_.local.name)] = *lsn;
  return out;
}

void Executor::sync_slots() {
  // Not while promoting (the promote task made the slots the others need; this cycle's status
  // still says "in recovery") or while any other task works on PostgreSQL.
  if (memory_.local.role == ha::Role::promoted || memory_.local.async) return;
  const bool primary = memory_.status && !memory_.status->in_recovery;
  auto req = slot_request(primary);
  if (!req) return;
  req->routine = true;  // may be skipped while nothing it depends on changes
  const std::vector<std::string> to_copy = services_.pg.sync_slots(*req);
  const auto& view = memory_.view;
  if (!primary && view) {
    // hot_standby_feedback keeps the primary from removing catalog rows the logical slots here
    // (or on a member cascading from here) still need.
    services_.pg.set_enforce_hot_standby_feedback(
        view->should_enforce_hot_standby_feedback(memory_.local.name, memory_.local.tags.is_nofailover()));
  }
  // A replica takes the permanent logical slots it lacks from the primary (a restart).
  if (primary || to_copy.empty() || !view || !view->leader() || memory_.local.role == ha::Role::standby_leader ||
      view->leader()->name() == memory_.local.name)
    return;
  auto leader = view->get_member(view->leader()->name(), false);
  auto up = leader ? upstream_of(*leader) : std::nullopt;
  if (!up) return;
  std::map<std::string, postgres::ExpectedSlot> logical;
  for (const auto& name : to_copy)
    if (auto it = req->expected.find(name); it != req->expected.end()) logical[name] = it->second;
  if (auto st = services_.pg.copy_logical_slots(*up, to_copy, logical); !st) spdlog::error("{}", st.error());
}

Executor::Outcome Executor::run(const step::SyncReplicationSlots& s) {
  if (!s.dcs_failed) {
    sync_slots();
    return Outcome::success;
  }
  // ha.md §7: the DCS is unreachable. A replica that hears from the failsafe primary moves its
  // permanent slots forward to the positions the primary sent, so that pg_wal does not grow
  // without bound during the outage; without failsafe nothing is touched.
  const auto current = settings();
  const auto& fl = memory_.local.failsafe_leader;
  if (!current->ha.failsafe_mode || !fl || !memory_.old_cluster || memory_.local.is_leader(now(), current->ha.ttl) ||
      fl->received_at + current->ha.ttl <= now())
    return Outcome::success;
  const dcs::Cluster& c = *memory_.old_cluster;
  const dcs::ClusterStatus status(c.status().last_lsn, fl->slots);
  const dcs::Cluster with_leader_slots(c.initialize(), c.config(), c.leader(), status, c.members(), c.failover(),
                                       c.sync(), c.history(), c.failsafe());
  if (auto req = slot_request(false, &with_leader_slots)) (void)services_.pg.sync_slots(*req);
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::RemoveDataDirectory&) {
  auto moved = services_.pg.move_data_dir_aside("removed." + std::to_string(static_cast<int64_t>(services_.clock.wall_seconds())));
  if (!moved) spdlog::error("{}", moved.error());
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::RenameDataDirectory&) {
  // Nothing was made (a script or a copy that failed before writing anything): nothing to move.
  if (services_.pg.data_dir_state() == postgres::DataDirState::empty) return Outcome::success;
  auto moved = services_.pg.move_data_dir_aside("failed");
  if (!moved) spdlog::error("{}", moved.error());
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::WatchdogKeepalive&) {
  services_.watchdog.keepalive();
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::WatchdogDisable&) {
  services_.watchdog.disable();
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::SanityChecks&) {
  // Leaving pause: the system identifier and version are read again from pg_controldata and the
  // status query; the slots are synced by this cycle's sync_replication_slots step.
  collector_.forget_controldata();
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::Sleep& s) {
  waker_.sleep_until(services_.clock.now() + seconds_ms(s.seconds));
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::Log& s) {
  switch (s.level) {
    case ha::step::LogLevel::info: spdlog::info("{}", s.line); break;
    case ha::step::LogLevel::warning: spdlog::warn("{}", s.line); break;
    case ha::step::LogLevel::error: spdlog::error("{}", s.line); break;
  }
  return Outcome::success;
}

Executor::Outcome Executor::run(const step::FatalExit& s) {
  memory_.fatal = s.reason;
  return Outcome::success;
}

// ---- member key, async results, fencing ---------------------------------------------------------

nlohmann::json Executor::failsafe_map() const {
  nlohmann::json m = nlohmann::json::object();
  if (memory_.view)
    for (const auto& member : memory_.view->members())
      if (member.api_url() && !member.api_url()->empty()) m[member.name()] = *member.api_url();
  if (!m.contains(memory_.local.name)) m[memory_.local.name] = settings()->pg.api_url;
  return m;
}

void Executor::refresh_fence() {
  const auto s = settings();
  const ha::LocalState& l = memory_.local;
  // In pause the operator runs PostgreSQL; a standby leader accepts no writes.
  if (s->ha.pause || s->ha.is_standby_cluster()) {
    fence_.disarm();
    return;
  }
  // Nothing to fence while PostgreSQL cannot take writes (stopped, or a replica that is not
  // being promoted); the next lock write arms the fence again.
  const bool promoting = l.async && l.async->kind == ha::AsyncKind::promote;
  const bool may_write = l.process != ha::PgProcess::stopped &&
                         (!l.in_recovery || l.role == ha::Role::primary || l.role == ha::Role::promoted || promoting);
  if (!may_write) {
    fence_.disarm();
    return;
  }
  // The deadline of the last lease we had, also once the lock is lost: it stays until
  // PostgreSQL can no longer accept writes (the loop demotes it meanwhile; if it cannot, the
  // fence does).
  if (memory_.lease_fence_deadline) fence_.arm(mono_time(*memory_.lease_fence_deadline));
}

void Executor::note_lease(double at) {
  // The lease runs from the backend's last refresh of it (never later than this call started)
  // for the TTL it was granted with (a new ttl takes effect with the next grant).
  double from = at;
  double ttl = settings()->ha.ttl;
  if (auto li = services_.dcs.lease_info()) {
    from = std::min(from, mono_seconds(li->refreshed_at));
    ttl = std::min(ttl, static_cast<double>(li->ttl));
  }
  memory_.local.last_lock_write = at;
  memory_.lease_fence_deadline = from + ttl - kLeaseFenceMargin;
  refresh_fence();
}

std::optional<int64_t> Executor::last_lsn_for_status() const {
  const auto& st = memory_.status;
  if (st && !st->in_recovery && st->flush_lsn) return st->flush_lsn;
  return std::nullopt;
}

nlohmann::json Executor::member_value() const {
  const auto current = settings();
  const ha::LocalState& l = memory_.local;
  dcs::MemberValue m;
  m.conn_url = current->pg.conn_url();
  m.api_url = current->pg.api_url;
  m.proxy_url = current->pg.proxy_url;
  m.state = std::string(ha::to_string(l.state));
  const PatroniGeneration presentation = current->config.presentation();
  m.role = role_text(l.role, presentation);
  m.version = std::string(announced_patroni_version(presentation));
  m.tags = current->config.tags();
  if (memory_.leaving_sync) {
    if (!m.tags.is_object()) m.tags = nlohmann::json::object();
    m.tags["nosync"] = true;
    // Patroni 4.1 publishes both while a standby leaves the role; 3.3 knows only nosync.
    if (presentation == PatroniGeneration::v4_1) m.tags["sync_priority"] = 0;
  }
  const auto& st = memory_.status;
  const bool async_blocks = l.async && l.async->kind != ha::AsyncKind::promote;
  if (st && !async_blocks) {
    m.xlog_location = st->wal_position();
    if (st->timeline > 0) m.timeline = st->timeline;
    if (st->in_recovery) {
      m.replication_state = st->receiver_streaming ? "streaming" : "in archive recovery";
      if (presentation == PatroniGeneration::v4_1) {
        if (st->receive_lsn || st->written_lsn)
          m.receive_lsn = std::max(st->receive_lsn.value_or(0), st->written_lsn.value_or(0));
        m.replay_lsn = st->replay_lsn;
      }
    }
  }
  m.pending_restart = !memory_.pending_restart_params.empty();
  m.checkpoint_after_promote_pending = l.checkpoint_after_promote_pending;
  m.paused = current->ha.pause;
  if (l.scheduled_restart) m.scheduled_restart = scheduled_restart_value(*l.scheduled_restart);
  return dcs::member_value_json(m);
}

bool Executor::touch_member() {
  const nlohmann::json value = member_value();
  auto st = services_.dcs.touch_member(value);
  if (!st) {
    spdlog::warn("failed to update the member key: {}", st.error().describe());
    return false;
  }
  // A Citus worker tells its coordinator once it publishes that it runs as the primary (also
  // the first time after start-up), as Patroni does.
  const std::string state = value.value("state", "");
  const std::string role = value.value("role", "");
  const bool running_primary = state == "running" && dcs::is_primary_role(role);
  if (running_primary && memory_.published_state != std::make_pair(state, role)) citus_notifier(mpp::CitusEvent::after_promote)();
  memory_.published_state = std::make_pair(state, role);
  return true;
}

std::function<void()> Executor::citus_notifier(mpp::CitusEvent event) const {
  if (!services_.citus_events) return [] {};
  const auto current = settings();
  return [events = services_.citus_events, event, name = memory_.local.name, ttl = static_cast<int>(current->ha.ttl),
          retry = static_cast<int>(current->ha.retry_timeout)] { events->notify(event, name, ttl, retry); };
}

void Executor::apply_async_result(const ha::AsyncResult& r) {
  spdlog::info("{} {}", r.task.display_name(), r.ok ? "finished" : "failed: " + r.error);
  if (r.task.kind == ha::AsyncKind::restart) {
    memory_.leaving_sync = false;  // back among the sync candidates
    if (restart_listener_) restart_listener_(r.ok, r.error);
  }
  const auto follow_up = ha::apply_async_result(r, memory_.local, settings()->ha, now());
  if (follow_up.move_data_dir_aside) {
    auto moved = services_.pg.move_data_dir_aside("failed_rewind." +
                                                  std::to_string(static_cast<int64_t>(services_.clock.wall_seconds())));
    if (!moved) spdlog::error("{}", moved.error());
  }
  if (follow_up.run_next_cycle_now) memory_.run_next_cycle_now = true;
  // The callback of a start that is now ready (on_start, on_restart); none when it failed.
  if (memory_.pending_start_callback) {
    const bool start_kind = r.task.kind == ha::AsyncKind::restart || r.task.kind == ha::AsyncKind::start_primary ||
                            r.task.kind == ha::AsyncKind::restart_after_failure ||
                            r.task.kind == ha::AsyncKind::start_after_demotion ||
                            r.task.kind == ha::AsyncKind::reinitialize || r.task.kind == ha::AsyncKind::clone;
    if (start_kind) {
      const auto [action, role] = *memory_.pending_start_callback;
      memory_.pending_start_callback.reset();
      if (r.ok) fire_callback(action, r.task.kind == ha::AsyncKind::restart ? memory_.local.role : role);
    }
  }
  if (r.task.kind == ha::AsyncKind::demote && r.ok) memory_.local.on_start_fired = true;
  // A graceful demote stopped PostgreSQL in its task: the watchdog goes once that is done.
  if (r.task.kind == ha::AsyncKind::demote) services_.watchdog.disable();
  watch_postmaster();
}

void Executor::watch_postmaster() { death_watcher_.watch(services_.pg.postmaster_pid()); }

bool Executor::fence(const std::string& why) {
  spdlog::critical("fencing: {}: stopping PostgreSQL so that it accepts no writes", why);
  ha::LocalState& l = memory_.local;
  // A running task (a restart, a start after a crash) is cancelled first: its token makes any
  // later start of PostgreSQL by it fail, and starts and stops never interleave.
  worker_.cancel_current();
  worker_.wait_idle(2s);
  services_.hooks.before_stop();
  bool stopped = false;
  try {
    stopped = services_.pg.stop(postgres::StopMode::Immediate, 5s);
  } catch (const std::exception& e) {
    spdlog::critical("fencing: stopping PostgreSQL failed: {}", e.what());
  }
  if (stopped) {
    l.process = ha::PgProcess::stopped;
    ha::set_pg_state(l, ha::PgState::stopped, now());
    l.role = ha::Role::demoted;
  } else {
    spdlog::warn("pg_ctl stop failed");  // Patroni's line
    ha::set_pg_state(l, ha::PgState::stop_failed, now());
  }
  try {
    // With PostgreSQL down the lock is of no use; releasing it lets a replica take over now
    // instead of after the ttl. Never released while PostgreSQL might still accept writes.
    if (stopped) warn_failed("fencing: release of the leader lock", services_.dcs.delete_leader(std::nullopt));
  } catch (const std::exception& e) {
    spdlog::critical("fencing: releasing the leader lock failed: {}", e.what());
  }
  if (stopped) l.last_lock_write.reset();
  try {
    watch_postmaster();
  } catch (...) {
  }
  return stopped;
}

}  // namespace custos::agent
