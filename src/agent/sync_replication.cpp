#include "agent/sync_replication.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/clock_sleep.h"
#include "ha/quorum_state.h"
#include "ha/sync_selection.h"
#include "postgres/lsn.h"
#include "postgres/sync_status.h"

namespace custos::agent {

namespace {

constexpr std::chrono::milliseconds kStatementTimeout{5000};

// "a, b" for the log lines (Patroni's words print the names this way).
template <typename Names>
std::string names_text(const Names& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string join(const std::vector<std::string>& names) { return "[" + names_text(names) + "]"; }

}  // namespace

struct SyncReplication::Evaluation {
  postgres::SyncStatus status;
  ha::SyncSelection selection;
};

bool SyncReplication::set_names(const std::string& value, const ApplyFn& apply) {
  quorum_since_.reset();
  return apply_names(value, apply);
}

void SyncReplication::adopt(const std::string& running, const ApplyFn& apply) {
  if (managed_) return;
  // Adopted (an agent restart under a running primary): start from what runs, and make it the
  // value every later rewrite of postgresql.conf keeps.
  managed_ = running;
  apply(managed_);
}

bool SyncReplication::apply_names(const std::string& value, const ApplyFn& apply) {
  if (managed_ && *managed_ == value) return false;
  managed_ = value;
  spdlog::info("synchronous_standby_names set to '{}'", value);
  apply(managed_);
  return true;
}

std::optional<SyncReplication::Evaluation> SyncReplication::evaluate(const dcs::Cluster& cluster,
                                                                     const ha::HaSettings& settings,
                                                                     const std::string& my_name,
                                                                     postgres::PostgresNode& pg) {
  auto r = pg.query(postgres::kSyncStatusQuery, {}, kStatementTimeout);
  if (!r) {
    spdlog::warn("synchronous replication: cannot read pg_stat_replication: {}", r.error());
    return std::nullopt;
  }
  auto status = postgres::parse_sync_status(*r);
  if (!status) {
    spdlog::warn("synchronous replication: unexpected pg_stat_replication result: {}", status.error());
    return std::nullopt;
  }
  ha::SyncSelectionInput in;
  in.my_name = my_name;
  for (const auto& w : status->senders)
    in.rows.push_back({w.pid, w.application_name, w.state, w.sync_state, w.write_lsn, w.flush_lsn, w.replay_lsn});
  in.synchronous_commit = status->synchronous_commit;
  in.synchronous_node_count = settings.synchronous_node_count;
  in.maximum_lag_on_syncnode = settings.maximum_lag_on_syncnode;
  in.server_version = status->server_version;
  in.my_flush_lsn = status->flush_lsn;
  in.flush_lsn_at_ssn_change = flush_lsn_at_change_;
  if (auto parsed = ha::parse_synchronous_standby_names(status->synchronous_standby_names)) {
    for (const auto& n : parsed->names)
      if (n != "*") in.ssn_members.push_back(n);
    in.trust_sync_key = !parsed->any;
  } else {
    spdlog::warn("synchronous replication: cannot parse synchronous_standby_names '{}'",
                 status->synchronous_standby_names);
  }
  in.ready = ready_;
  in.quorum = settings.is_quorum_commit_mode();
  // Quorum mode: the position recorded counts only for the value in force when it was recorded.
  if (in.quorum && position_names_ != status->synchronous_standby_names) in.flush_lsn_at_ssn_change = 0;
  Evaluation e{std::move(*status), ha::select_sync_candidates(cluster, in)};
  ready_ = e.selection.ready;
  return e;
}

bool SyncReplication::after_change(postgres::PostgresNode& pg, const std::optional<std::string>& expected,
                                   std::chrono::steady_clock::time_point deadline) {
  // Give the reload a moment (or wait until PostgreSQL reports the expected value), then record
  // where WAL ends now, and for which synchronous_standby_names, and write a little more so
  // that the standbys confirm a position past it. On failure the last position stays (plain
  // mode keeps using it; quorum mode counts it only for the value it was recorded with).
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto wait_until = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(2));
  auto timeout = [&] {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return std::clamp(left, std::chrono::milliseconds(100), kStatementTimeout);
  };
  std::optional<std::string> in_force;
  for (;;) {
    auto r = pg.query(postgres::kSynchronousStandbyNamesQuery, {}, timeout());
    if (r && !r->rows.empty() && !r->rows[0].empty() && r->rows[0][0]) in_force = *r->rows[0][0];
    if (!expected || (in_force && *in_force == *expected) || std::chrono::steady_clock::now() >= wait_until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!in_force || (expected && *in_force != *expected)) {
    if (expected)
      spdlog::warn("synchronous replication: PostgreSQL does not run synchronous_standby_names '{}' yet", *expected);
    return false;
  }
  auto r = pg.query(postgres::kFlushLsnQuery, {}, timeout());
  if (r && !r->rows.empty() && !r->rows[0].empty() && r->rows[0][0]) {
    if (auto lsn = postgres::parse_lsn(*r->rows[0][0])) {
      flush_lsn_at_change_ = *lsn;
      position_names_ = *in_force;
    }
  } else if (!r) {
    spdlog::warn("synchronous replication: cannot read the flush LSN: {}", r.error());
  }
  auto w = pg.query(postgres::kTinyWalWriteQuery, {}, timeout());
  if (!w) spdlog::warn("synchronous replication: WAL write after the change failed: {}", w.error());
  return position_names_.has_value();
}

void SyncReplication::disable(dcs::Dcs& dcs, const dcs::Cluster& cluster, const ApplyFn& apply) {
  ready_.clear();
  if (!cluster.sync().is_empty()) {
    auto st = dcs.delete_sync_state(cluster.sync().version);
    if (!st) {
      spdlog::warn("synchronous replication: removing the sync key failed: {}", st.error().describe());
      return;  // keep the PostgreSQL value until /sync is gone
    }
    spdlog::info("Disabled synchronous replication");
  }
  if (managed_) {
    managed_.reset();
    apply(std::nullopt);  // the user's own synchronous_standby_names (if any) applies again
  }
}

bool SyncReplication::leave_sync_role(dcs::Dcs& dcs, Clock& clock, const std::string& name, int wait_seconds,
                                      const std::function<bool()>& publish_nosync, const CancelToken* cancel) {
  if (!publish_nosync()) {
    spdlog::warn("Updating member state failed, skipping synchronous standby disable");
    return false;
  }
  const MonoTime deadline = clock.now() + std::chrono::seconds(std::max(0, wait_seconds));
  bool waited = false;
  for (;;) {
    auto cluster = dcs.get_cluster();
    if (!cluster) {
      spdlog::warn("could not read the cluster: {}", cluster.error().describe());
      spdlog::warn("Could not get cluster state, skipping synchronous standby disable");
      return false;
    }
    if (!ha::is_sync_standby(*cluster, name)) {
      if (waited) spdlog::info("no longer a synchronous standby");
      return true;
    }
    const MonoTime now = clock.now();
    if (now >= deadline) break;
    if (cancel && cancel->cancelled()) return false;
    spdlog::info("Waiting for primary to release us from synchronous standby");
    waited = true;
    sleep_on(clock, std::min<MonoTime>(now + std::chrono::seconds(2), deadline));
  }
  spdlog::warn("still listed as a synchronous standby after {} s; stopping anyway", wait_seconds);
  return false;
}

void SyncReplication::manage(dcs::Dcs& dcs, const dcs::Cluster& cluster, const ha::HaSettings& settings,
                             const std::string& my_name, postgres::PostgresNode& pg, const ApplyFn& apply,
                             double now) {
  if (!settings.is_synchronous_mode()) {
    quorum_since_.reset();
    disable(dcs, cluster, apply);
    return;
  }
  if (settings.is_quorum_commit_mode()) {
    manage_quorum(dcs, cluster, settings, my_name, pg, apply, now);
    return;
  }
  quorum_since_.reset();
  dcs::SyncState sync = cluster.sync();
  if (sync.is_empty()) {
    auto v = dcs.set_sync_state_value(ha::sync_state_value(my_name, {}), sync.version);
    if (!v) {
      spdlog::info("Synchronous replication key updated by someone else ({})", v.error().describe());
      return;
    }
    spdlog::info("Enabled synchronous replication");
    sync = dcs::SyncState(*v, my_name, std::nullopt);
  }
  auto e = evaluate(cluster, settings, my_name, pg);
  if (!e) return;
  adopt(e->status.synchronous_standby_names, apply);

  const std::vector<std::string> current = sync.members();
  const ha::SyncProtocolPlan plan =
      ha::plan_sync_protocol(current, e->selection, settings.is_synchronous_mode_strict());
  auto write_sync = [&](const std::vector<std::string>& names) -> bool {
    auto v = dcs.set_sync_state_value(ha::sync_state_value(my_name, names), sync.version);
    if (!v) {
      spdlog::info("Synchronous replication key updated by someone else ({})", v.error().describe());
      return false;
    }
    sync = dcs::SyncState(*v, my_name, std::nullopt);
    return true;
  };
  if (plan.rewrite_to_allow_promote) {
    spdlog::warn("Inconsistent state between synchronous_standby_names and /sync {} detected, updating "
                 "the synchronous replication key to {}",
                 join(current), join(e->selection.allow_promote));
    write_sync(e->selection.allow_promote);
    return;
  }
  if (!plan.change) return;
  if (plan.shrink_first) {
    spdlog::info("Updating synchronous privilege temporarily from {} to {}", join(current), join(plan.shrunk));
    if (!write_sync(plan.shrunk)) return;
  }
  if (plan.ssn_star) spdlog::warn("No standbys available!");
  spdlog::info("Assigning synchronous standby status to {}",
               plan.ssn_star ? std::string("[*]") : join(plan.ssn_names));
  const std::string value =
      ha::render_synchronous_standby_names(plan.ssn_names, plan.ssn_star, e->status.server_version);
  std::vector<std::string> allow = e->selection.allow_promote;
  if (apply_names(value, apply)) {
    if (!plan.ssn_star) after_change(pg, std::nullopt, std::chrono::steady_clock::now() + std::chrono::seconds(10));
    if (!plan.ssn_star && !plan.ssn_names.empty() && !ha::same_names(allow, plan.ssn_names)) {
      // Wait for PostgreSQL to apply it and see whether the standbys already confirm.
      std::this_thread::sleep_for(std::chrono::seconds(2));
      if (auto again = evaluate(cluster, settings, my_name, pg)) allow = again->selection.allow_promote;
    }
  }
  if (auto names = ha::final_sync_write(plan.shrunk, allow)) {
    if (write_sync(*names)) spdlog::info("Synchronous standby status assigned to {}", join(*names));
  }
}


void SyncReplication::manage_quorum(dcs::Dcs& dcs, const dcs::Cluster& cluster, const ha::HaSettings& settings,
                                    const std::string& my_name, postgres::PostgresNode& pg, const ApplyFn& apply,
                                    double now) {
  dcs::SyncState sync = cluster.sync();
  auto write_sync = [&](const ha::QuorumState& st) -> bool {
    const std::vector<std::string> voters(st.voters.begin(), st.voters.end());
    auto v = dcs.set_sync_state_value(ha::quorum_sync_state_value(st.leader, st.quorum, voters), sync.version);
    if (!v) {
      spdlog::info("Synchronous replication key updated by someone else ({})", v.error().describe());
      return false;
    }
    std::optional<std::string> joined;
    for (const auto& n : voters) joined = joined ? *joined + "," + n : n;
    sync = dcs::SyncState(*v, st.leader, joined, st.quorum);
    return true;
  };
  if (sync.is_empty()) {
    if (!write_sync(ha::QuorumState{my_name, 0, {}, 0, {}})) return;
    spdlog::info("Enabled synchronous replication");
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(std::max(1.0, settings.loop_wait)));
  if (!quorum_since_) {
    // Managing as primary starts here: nobody is known to hold the commits acknowledged so far
    // until it has caught up with the position now.
    position_names_.reset();
    if (!after_change(pg, std::nullopt, deadline)) return;
    quorum_since_ = now;
  }
  // Right after the promotion only /sync changes hands (and a /sync that does not fit what
  // runs is made safe); the standbys get loop_wait to reconnect before the rest, so that
  // synchronous replication is not given up for want of them.
  const bool settling = now - *quorum_since_ < settings.loop_wait;
  const int min_sync = settings.min_synchronous_nodes();
  for (int round = 0; round < 8 && std::chrono::steady_clock::now() < deadline; ++round) {
    auto e = evaluate(cluster, settings, my_name, pg);
    if (!e) return;
    const std::string running = e->status.synchronous_standby_names;
    adopt(running, apply);
    if (position_names_ != running) {
      // synchronous_standby_names changed without a position recorded for it (a reload that
      // came late, a rewrite by others): nobody counts as confirmed until one is.
      if (!after_change(pg, running, deadline)) return;
      continue;
    }
    const ha::QuorumState current = ha::read_quorum_state(sync.leader.value_or(""), static_cast<int>(sync.quorum),
                                                          sync.members(), running);
    ha::QuorumGoal goal;
    goal.leader = my_name;
    goal.active.insert(e->selection.picked.begin(), e->selection.picked.end());
    goal.confirmed.insert(e->selection.confirmed.begin(), e->selection.confirmed.end());
    goal.sync_wanted = std::max(1, settings.synchronous_node_count);
    const auto plan = ha::plan_quorum_transitions(current, goal);
    if (plan.empty()) return;
    const ha::QuorumTransition& t = plan.front();
    const bool hand_over = t.side == ha::QuorumSide::quorum && !sync.leader_matches(my_name);
    if (settling && !hand_over && !ha::quorum_violation(current)) return;
    if (t.side == ha::QuorumSide::quorum) {
      spdlog::info("Setting leader to {}, quorum to {} of {} ({})", t.state.leader, t.state.quorum,
                   t.state.voters.size(), names_text(t.state.voters));
      if (!write_sync(t.state)) return;
      continue;
    }
    spdlog::info("Setting synchronous replication to {} of {} ({})", t.state.numsync, t.state.sync.size(),
                 names_text(t.state.sync));
    if (t.state.numsync < min_sync)
      spdlog::warn("Replication factor {} requested, but {} synchronous standbys available. Commits will be delayed.",
                   min_sync + 1, t.state.numsync);
    const std::string value = ha::render_quorum_standby_names(t.state.numsync, t.state.sync, min_sync);
    if (value == running && managed_ && *managed_ == value) return;  // nothing PostgreSQL does not run already
    managed_ = value;
    spdlog::info("synchronous_standby_names set to '{}'", value);
    flush_lsn_at_change_ = 0;  // nothing confirmed until the new value is in force
    position_names_.reset();
    apply(managed_);
    if (!after_change(pg, value, deadline)) return;
    // Give the standbys a moment to confirm the new position before /sync is written.
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace custos::agent
