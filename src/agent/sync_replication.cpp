#include "agent/sync_replication.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "ha/sync_selection.h"
#include "postgres/lsn.h"
#include "postgres/sync_status.h"

namespace custos::agent {

namespace {

constexpr std::chrono::milliseconds kStatementTimeout{5000};

std::string join(const std::vector<std::string>& names) {
  std::string out = "[";
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out + "]";
}

}  // namespace

struct SyncReplication::Evaluation {
  postgres::SyncStatus status;
  ha::SyncSelection selection;
};

bool SyncReplication::set_names(const std::string& value, const ApplyFn& apply) {
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
  } else {
    spdlog::warn("synchronous replication: cannot parse synchronous_standby_names '{}'",
                 status->synchronous_standby_names);
  }
  in.ready = ready_;
  Evaluation e{std::move(*status), ha::select_sync_candidates(cluster, in)};
  ready_ = e.selection.ready;
  return e;
}

void SyncReplication::after_change(postgres::PostgresNode& pg) {
  // Give the reload a moment, then record where WAL ends now and write a little more so that the
  // standbys confirm a position past it.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto r = pg.query(postgres::kFlushLsnQuery, {}, kStatementTimeout);
  if (r && !r->rows.empty() && !r->rows[0].empty() && r->rows[0][0]) {
    if (auto lsn = postgres::parse_lsn(*r->rows[0][0])) flush_lsn_at_change_ = *lsn;
  } else if (!r) {
    spdlog::warn("synchronous replication: cannot read the flush LSN: {}", r.error());
  }
  auto w = pg.query(postgres::kTinyWalWriteQuery, {}, kStatementTimeout);
  if (!w) spdlog::warn("synchronous replication: WAL write after the change failed: {}", w.error());
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

bool SyncReplication::leave_sync_role(dcs::Dcs& dcs, const std::string& name, int wait_seconds,
                                      const std::function<void()>& publish_nosync) {
  auto cluster = dcs.get_cluster();
  if (!cluster || !cluster->sync().matches(name)) return true;
  spdlog::info("leaving the synchronous standby role before stopping");
  publish_nosync();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::max(0, wait_seconds));
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    cluster = dcs.get_cluster();
    if (cluster && !cluster->sync().matches(name)) {
      spdlog::info("no longer a synchronous standby");
      return true;
    }
  }
  spdlog::warn("still listed as a synchronous standby after {} s; stopping anyway", wait_seconds);
  return false;
}

void SyncReplication::manage(dcs::Dcs& dcs, const dcs::Cluster& cluster, const ha::HaSettings& settings,
                             const std::string& my_name, postgres::PostgresNode& pg, const ApplyFn& apply) {
  if (!settings.is_synchronous_mode()) {
    disable(dcs, cluster, apply);
    return;
  }
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
  if (!managed_) managed_ = e->status.synchronous_standby_names;  // adopted: start from what runs

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
  if (set_names(value, apply)) {
    if (!plan.ssn_star) after_change(pg);
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

}  // namespace custos::agent
