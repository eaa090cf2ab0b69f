#include "ha/health.h"

#include <set>

namespace custos::ha {

MemberStatus status_of(const MemberStatuses& statuses, const std::string& name) {
  for (const MemberStatus& st : statuses)
    if (st.name == name) return st;
  MemberStatus unreachable;
  unreachable.name = name;
  unreachable.reachable = false;
  return unreachable;
}

bool is_lagging(const dcs::Cluster& cluster, const HaSettings& settings, int64_t wal_position) {
  return cluster.last_lsn() - wal_position > settings.maximum_lag_on_failover;
}

bool sync_mode_is_active(const dcs::Cluster& cluster, const HaSettings& settings) {
  return settings.is_synchronous_mode() && !cluster.sync().is_empty();
}

bool quorum_commit_mode_is_active(const dcs::Cluster& cluster, const HaSettings& settings) {
  // A /sync written in quorum mode (quorum > 0) keeps its rules after the mode was switched to
  // plain synchronous mode, until the primary rewrites it: its voters may lack commits that
  // only other voters acknowledged.
  return settings.is_synchronous_mode() && !cluster.sync().is_empty() &&
         (settings.quorum_commit || cluster.sync().quorum > 0);
}

namespace {

// Quorum commit: /sync's leader and voters vote in a leader race.
bool in_voting_set(const dcs::Cluster& cluster, const std::string& name) {
  return cluster.sync().matches(name, true);
}

bool check_timeline(const HaSettings& s) { return s.check_timeline; }

}  // namespace

bool is_failover_possible(const HealthContext& ctx, int64_t cluster_lsn,
                          bool exclude_failover_candidate, std::vector<std::string>* notes) {
  auto note = [notes](std::string line) {
    if (notes) notes->push_back(std::move(line));
  };
  const dcs::Cluster& c = ctx.cluster;
  const auto& failover = c.failover();
  const bool has_failover = failover && !failover->is_empty();
  std::optional<std::string> candidate = has_failover ? failover->candidate : std::nullopt;
  std::set<std::string> exclude = {ctx.local.name};
  if (exclude_failover_candidate && candidate) exclude.insert(*candidate);
  // Only the failover key's candidate, unless it is excluded.
  const bool only_candidate = candidate && !exclude_failover_candidate;
  // Sync mode and not a pure failover (switchover or no key): only /sync members.
  const bool sync_only = ctx.settings.is_synchronous_mode() && (!has_failover || failover->leader);

  int healthy = 0;
  const int cluster_timeline = c.timeline();
  for (const dcs::Member& m : c.members()) {
    if (exclude.count(m.name()) || m.nofailover() || !m.api_url()) continue;
    if (only_candidate && m.name() != *candidate) continue;
    if (sync_only && !c.sync().matches(m.name())) continue;
    MemberStatus st = status_of(ctx.statuses, m.name());
    if (const auto why = st.failover_limitation()) {
      note("Member " + m.name() + " is " + *why);
      continue;
    }
    if (cluster_lsn > 0 ? st.wal_position < cluster_lsn
                        : is_lagging(c, ctx.settings, st.wal_position)) {
      note("Member " + m.name() + " exceeds maximum replication lag");
      continue;
    }
    if (check_timeline(ctx.settings) && (!st.timeline || *st.timeline < cluster_timeline)) {
      note("Timeline " + (st.timeline ? std::to_string(*st.timeline) : std::string("None")) + " of member " +
           m.name() + " is behind the cluster timeline " + std::to_string(cluster_timeline));
      continue;
    }
    ++healthy;
  }
  // Quorum commit: enough healthy voters to reach the quorum, unless a candidate was named.
  const bool check_quorum = quorum_commit_mode_is_active(c, ctx.settings) && !(only_candidate);
  if (check_quorum && healthy - 1 < c.sync().quorum) {
    note("Quorum requirement " + std::to_string(c.sync().quorum) + " can not be reached");
    return false;
  }
  return healthy > 0;
}

HealthVerdict is_healthiest_among(const HealthContext& ctx, const std::vector<dcs::Member>& members,
                                  bool check_lag) {
  const dcs::Cluster& c = ctx.cluster;
  const int64_t my_wal = ctx.local.wal_position();
  if (check_lag && is_lagging(c, ctx.settings, my_wal))
    return {false, "my wal position exceeds maximum replication lag", {}, "My wal position exceeds maximum replication lag"};

  if (!ctx.settings.is_standby_cluster() && ctx.settings.check_timeline) {
    const int cluster_timeline = c.timeline();
    if (!ctx.local.timeline) return {false, "can not figure out my timeline", {}, "Can not figure out my timeline"};
    if (*ctx.local.timeline < cluster_timeline)
      return {false, "my timeline is behind last known cluster timeline", {},
              "My timeline " + std::to_string(*ctx.local.timeline) + " is behind last known cluster timeline " +
                  std::to_string(cluster_timeline)};
  }

  const bool sync_active = sync_mode_is_active(c, ctx.settings);
  // Quorum commit: the /sync leader and voters vote; a racer needs `quorum` votes of nodes that
  // are not ahead of it (itself counting when it votes), so that it knows quorum + 1 of them.
  const bool quorum_active = quorum_commit_mode_is_active(c, ctx.settings);
  const int64_t quorum = quorum_active ? c.sync().quorum : 0;
  int64_t votes = quorum_active && in_voting_set(c, ctx.local.name) ? 0 : -1;
  int nodes_ahead = 0;
  const int64_t my_priority = ctx.local.tags.priority();
  std::set<std::string> seen;
  for (const dcs::Member& m : members) {
    const bool voter = quorum_active && in_voting_set(c, m.name());
    // nofailover voters still vote (and their position still counts) in quorum mode.
    if (m.name() == ctx.local.name || (m.nofailover() && !voter) || !m.api_url()) continue;
    if (!seen.insert(m.name()).second) continue;
    MemberStatus st = status_of(ctx.statuses, m.name());
    if (!st.reachable || st.watchdog_failed) continue;
    if (st.nofailover && !voter) continue;
    if (!st.in_recovery)
      return {false, "primary (" + m.name() + ") is still alive", {}, "Primary (" + m.name() + ") is still alive", true};
    if (my_wal < st.wal_position) {
      ++nodes_ahead;
      // A nofailover voter ahead cannot win: it only withholds its vote (a racer with enough
      // votes holds every acknowledged commit anyway).
      if (st.nofailover) continue;
      // In sync mode the former leader may still be reachable and ahead of us.
      if (!sync_active || !c.sync().leader_matches(m.name()))
        return {false, "wal position of " + m.name() + " is ahead of my wal position", {},
                "Wal position of " + m.name() + " is ahead of my wal position"};
      continue;
    }
    if (my_wal == st.wal_position && my_priority < st.failover_priority && !st.nofailover &&
        (!sync_active || !quorum_active || voter))
      return {false, m.name() + " has equally tolerable WAL position and higher priority", {},
              m.name() + " has equally tolerable WAL position and priority " + std::to_string(st.failover_priority) +
                  ", while this node has priority " + std::to_string(my_priority)};
    if (voter && st.wal_position > 0) ++votes;  // only running PostgreSQL servers vote
  }
  if (quorum_active && votes < quorum && !(nodes_ahead == 0 && c.sync().leader_matches(ctx.local.name)))
    return {false, "quorum " + std::to_string(quorum) + " not reached (" + std::to_string(std::max<int64_t>(votes, 0)) +
                       " votes)",
            {}, {}};
  return {true, "healthiest", {}, {}, false};
}

std::optional<bool> manual_failover_no_leader(const HealthContext& ctx, std::vector<Step>& steps,
                                              std::string& reason) {
  const dcs::Cluster& c = ctx.cluster;
  const dcs::Failover& failover = *c.failover();
  const bool paused = ctx.settings.pause;
  if (failover.candidate) {
    const std::string& candidate = *failover.candidate;
    if (candidate == ctx.local.name) {
      reason = "manual failover to me";
      return true;
    }
    if (paused) {
      // Only the primary removes the key of a candidate that is gone.
      if (!c.get_member(candidate, false) && ctx.local.is_primary()) {
        steps.push_back(step::ClearFailoverKey{});
        reason = "manual failover: removing failover key because failover candidate is not running";
        return std::nullopt;
      }
      reason = "paused: failover to another candidate";
      return false;
    }
    // (In quorum mode any node may go on: it still has to win the quorum vote.)
    if (ctx.settings.is_synchronous_mode() && !ctx.settings.is_quorum_commit_mode() &&
        !c.sync().matches(ctx.local.name, true)) {
      reason = "synchronous mode and not in /sync";
      return false;
    }
    if (auto member = c.get_member(candidate, false)) {
      MemberStatus st = status_of(ctx.statuses, member->name());
      if (!st.failover_limitation()) {
        reason = "manual failover to healthy " + candidate;
        return false;
      }
    }
    // The candidate is unhealthy: proceed as without a candidate.
  } else if (paused) {
    reason = "paused: failover without candidate";
    return false;
  }

  if (failover.leader && *failover.leader == ctx.local.name) {
    if (is_failover_possible(ctx, 0, failover.candidate.has_value())) {
      reason = "I was the leader and failover is possible";
      return false;
    }
    reason = "I was the leader and the only healthy member";
    return true;
  }

  std::vector<dcs::Member> members;
  for (const dcs::Member& m : c.members())
    if (!failover.leader || m.name() != *failover.leader) members.push_back(m);
  HealthVerdict v = is_healthiest_among(ctx, members, false);
  reason = v.reason;
  return v.healthy;
}

HealthVerdict is_healthiest_node(const HealthContext& ctx) {
  const dcs::Cluster& c = ctx.cluster;
  const LocalState& me = ctx.local;
  const HaSettings& s = ctx.settings;
  const bool paused = s.pause;
  const bool nofailover = me.tags.is_nofailover();
  const auto& failover = c.failover();
  const bool has_failover = failover && !failover->is_empty();

  // 1. Backoff after releasing the lock because pre_promote failed.
  if (me.released_lock_after_pre_promote && ctx.now - *me.released_lock_after_pre_promote < s.ttl)
    return {false, "backoff after pre_promote failure", {}, {}, false};

  // 2. Paused with an unscheduled failover key.
  std::vector<Step> side;
  if (paused && !nofailover && has_failover && !failover->scheduled_at &&
      !failover->scheduled_at_invalid) {
    HealthVerdict v;
    std::optional<bool> r = manual_failover_no_leader(ctx, v.steps, v.reason);
    if (r) {
      v.healthy = *r;
      return v;
    }
    // Undecided: only the paused primary clears a stale key; it continues with rule 3.
    side = std::move(v.steps);
  }

  // 3. PostgreSQL runs as a primary.
  if (me.is_primary()) {
    if (paused) {
      const bool ok = !c.initialize() || c.initialize()->empty() || me.sysid == *c.initialize();
      return {ok, ok ? "paused primary with matching sysid" : "paused primary with other sysid",
              side, {}, false};
    }
    const int64_t my_tl = me.timeline.value_or(0);
    if (my_tl < c.timeline()) return {false, "primary timeline is behind the cluster timeline", {}, {}, false};
    return {true, "running primary", {}, {}, false};
  }

  // 4.
  if (paused) return {false, "paused", {}, {}, false};
  if (nofailover) return {false, "not allowed to promote", {}, {}, false};

  // 5. Failover key present.
  if (has_failover) {
    if (failover->leader && sync_mode_is_active(c, s) && !c.sync().matches(me.name, true))
      return {false, "switchover in synchronous mode and not in /sync", {}, {}, false};
    HealthVerdict v;
    std::optional<bool> r = manual_failover_no_leader(ctx, v.steps, v.reason);
    v.healthy = r.value_or(false);
    return v;
  }

  // 6.
  if (!me.watchdog_healthy) return {false, "watchdog device is not usable", {}, {}, false};

  // 7. Candidate set.
  std::vector<dcs::Member> all;
  if (ctx.old_cluster) all = ctx.old_cluster->members();
  if (s.failsafe_mode && c.failsafe()) {
    std::map<std::string, std::string> fs = c.failsafe_members();
    if (!c.failsafe()->empty() && !c.failsafe()->contains(me.name))
      return {false, "not in /failsafe", {}, {}, false};
    for (const auto& [name, url] : fs)
      all.emplace_back(name, 0, std::nullopt, nlohmann::json{{"api_url", url}});
  }
  all.insert(all.end(), c.members().begin(), c.members().end());
  if (sync_mode_is_active(c, s)) {
    // In quorum mode a node outside the voters may race too: it needs quorum + 1 votes.
    if (!s.is_quorum_commit_mode() && !c.sync().matches(me.name, true))
      return {false, "not a synchronous standby", {}, {}, false};
    std::vector<dcs::Member> restricted;
    for (const dcs::Member& m : all)
      if (c.sync().matches(m.name(), true)) restricted.push_back(m);
    all = std::move(restricted);
  }

  // 8.
  return is_healthiest_among(ctx, all, true);
}

}  // namespace custos::ha

namespace custos::ha {

std::string_view race_reason_code(std::string_view reason) noexcept {
  auto has = [&](std::string_view part) { return reason.find(part) != std::string_view::npos; };
  auto starts = [&](std::string_view part) { return reason.substr(0, part.size()) == part; };
  if (reason == "healthiest") return "healthiest";
  if (starts("running primary") || starts("paused primary")) return "running_primary";
  if (has(") is still alive")) return "primary_alive";
  if (has("is ahead of my wal position")) return "member_ahead";
  if (has("higher priority")) return "member_preferred";
  if (has("exceeds maximum replication lag")) return "lagging";
  if (starts("quorum ")) return "quorum_not_reached";
  if (has("can not figure out my timeline")) return "timeline_unknown";
  if (has("timeline is behind")) return "timeline_behind";
  if (starts("backoff after pre_promote")) return "pre_promote_backoff";
  if (has("manual failover") || starts("paused: failover") || has("I was the leader")) return "manual_failover";
  if (starts("paused")) return "paused";
  if (reason == "not allowed to promote") return "nofailover";
  if (has("/sync") || reason == "not a synchronous standby") return "not_synchronous";
  if (starts("watchdog")) return "watchdog_unusable";
  if (reason == "not in /failsafe") return "not_in_failsafe";
  return "other";
}

}  // namespace custos::ha
