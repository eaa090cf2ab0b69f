#include "ha/follow_target.h"

namespace custos::ha {

std::optional<FollowTarget> node_to_follow(const dcs::Cluster& cluster, const LocalState& local,
                                           const HaSettings& settings, bool holds_lock) {
  if (local.tags.nostream) return std::nullopt;
  const std::optional<std::string> leader = cluster.leader_name();
  if (settings.is_standby_cluster() &&
      (holds_lock || (leader && *leader == local.name) || (!leader && !settings.pause))) {
    FollowTarget t;
    t.name = settings.standby_cluster.host;
    t.remote = true;
    t.has_conn_url = true;
    return t;
  }
  std::optional<dcs::Member> m;
  if (local.tags.replicatefrom && *local.tags.replicatefrom != local.name) {
    m = cluster.get_member(*local.tags.replicatefrom, true);
  } else if (cluster.leader() && leader) {
    m = cluster.leader()->member;
  }
  if (!m || m->name() == local.name) return std::nullopt;
  return FollowTarget{m->name(), false, m->conn_url().has_value()};
}

}  // namespace custos::ha
