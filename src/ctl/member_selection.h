// Which members a custosctl command acts on (ctl.md §5 dsn, §6): role filters (leader, primary,
// standby-leader, replica, any and their aliases), the members of one cluster or of a Citus
// coordinator with its worker groups, leader-first ordering for REST calls, the dsn of a
// member, and the interactive member selection of reload/restart/reinit/flush.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "ctl/prompt.h"
#include "dcs/cluster.h"

namespace custos::ctl {

enum class RoleFilter {
  kLeader,         // the lock holder
  kPrimary,        // the lock holder unless it is a standby leader ("primary", "master")
  kStandbyLeader,  // the lock holder unless it is a primary ("standby-leader")
  kReplica,        // every member that does not hold the lock ("replica", "standby")
  kAny,            // every member
};

// "leader", "primary", "master", "standby-leader", "replica", "standby", "any".
std::optional<RoleFilter> parse_role(const std::string& text);

// The cluster itself, followed (when all_groups) by its Citus worker groups in group order.
std::vector<const dcs::Cluster*> cluster_groups(const dcs::Cluster& cluster, bool all_groups);

// Members with that role, in cluster (then member-name) order.
std::vector<dcs::Member> members_with_role(const std::vector<const dcs::Cluster*>& clusters,
                                           RoleFilter role);

// dsn/query target: the member named `member` (any role) when given, else the first member with
// `role`.
std::optional<dcs::Member> find_member(const std::vector<const dcs::Cluster*>& clusters,
                                       RoleFilter role, const std::optional<std::string>& member);

// Members that have an api_url, the leader first (patronictl's get_all_members_leader_first).
std::vector<dcs::Member> members_leader_first(const dcs::Cluster& cluster);

// "host=<h> port=<p>" from the member's connection parameters (port 5432 when not known).
std::string member_dsn(const dcs::Member& member);

struct SelectionRequest {
  std::string cluster_name;
  std::vector<std::string> names;  // MEMBER_NAMES
  std::string role_text = "any";   // the role as typed (for messages)
  bool force = false;
  std::string action;  // "restart", "reload", "reinitialize", "flush"
  bool ask_confirmation = true;
};

// patronictl's get_members: members with the role, intersected with the names when given
// ("No <role> among provided members" when none is left); without names every role match,
// except for reinitialize which asks "Which member do you want to reinitialize [...]?" (unless
// --force); unknown names are errors ("<name> is not a member of cluster"); then the
// confirmation unless --force ("Aborted <action>" when refused). `show_members` is called
// before any question (it prints the member table); errors when the cluster has no member.
Result<std::vector<dcs::Member>, std::string> select_members(
    const std::vector<const dcs::Cluster*>& clusters, const SelectionRequest& request,
    Prompter& prompter, const std::function<void()>& show_members);

// "Are you sure you want to <action> members a, b?" or, when scheduled, "Are you sure you want
// to schedule <action> of members a, b at <time>?"; --force skips it. Error when refused.
Result<bool, std::string> confirm_members_action(const std::vector<dcs::Member>& members,
                                                 bool force, const std::string& action,
                                                 const std::optional<std::string>& scheduled_at,
                                                 Prompter& prompter);

}  // namespace custos::ctl
