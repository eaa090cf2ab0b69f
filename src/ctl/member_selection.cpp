#include "ctl/member_selection.h"

#include <algorithm>
#include <set>

namespace custos::ctl {

std::optional<RoleFilter> parse_role(const std::string& text) {
  if (text == "leader") return RoleFilter::kLeader;
  if (text == "primary" || text == "master") return RoleFilter::kPrimary;
  if (text == "standby-leader") return RoleFilter::kStandbyLeader;
  if (text == "replica" || text == "standby") return RoleFilter::kReplica;
  if (text == "any") return RoleFilter::kAny;
  return std::nullopt;
}

std::vector<const dcs::Cluster*> cluster_groups(const dcs::Cluster& cluster, bool all_groups) {
  std::vector<const dcs::Cluster*> out{&cluster};
  if (all_groups)
    for (const auto& [group, worker] : cluster.workers()) out.push_back(&worker);
  return out;
}

std::vector<dcs::Member> members_with_role(const std::vector<const dcs::Cluster*>& clusters,
                                           RoleFilter role) {
  std::vector<dcs::Member> out;
  for (const dcs::Cluster* c : clusters) {
    const auto leader_name = c->leader_name();
    if (role == RoleFilter::kLeader || role == RoleFilter::kPrimary ||
        role == RoleFilter::kStandbyLeader) {
      if (!leader_name) continue;
      dcs::Member m = c->leader()->member;
      if (auto full = c->get_member(*leader_name, false)) m = *full;
      const std::string r = m.role();
      if (role == RoleFilter::kPrimary && r == "standby_leader") continue;
      if (role == RoleFilter::kStandbyLeader && dcs::is_primary_role(r)) continue;
      out.push_back(std::move(m));
      continue;
    }
    for (const auto& m : c->members())
      if (role == RoleFilter::kAny || m.name() != leader_name.value_or("")) out.push_back(m);
  }
  return out;
}

std::optional<dcs::Member> find_member(const std::vector<const dcs::Cluster*>& clusters,
                                       RoleFilter role, const std::optional<std::string>& member) {
  for (auto& m : members_with_role(clusters, member ? RoleFilter::kAny : role))
    if (!member || m.name() == *member) return m;
  return std::nullopt;
}

std::vector<dcs::Member> members_leader_first(const dcs::Cluster& cluster) {
  std::vector<dcs::Member> out;
  std::string leader;
  if (auto name = cluster.leader_name()) {
    dcs::Member m = cluster.leader()->member;
    if (auto full = cluster.get_member(*name, false)) m = *full;
    if (m.api_url()) {
      leader = *name;
      out.push_back(std::move(m));
    }
  }
  for (const auto& m : cluster.members())
    if (m.api_url() && m.name() != leader) out.push_back(m);
  return out;
}

std::string member_dsn(const dcs::Member& member) {
  nlohmann::json kw = member.conn_kwargs();
  auto text = [](const nlohmann::json& v, const std::string& fallback) -> std::string {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer() || v.is_number_unsigned()) return std::to_string(v.get<int64_t>());
    if (v.is_null()) return fallback;
    return v.dump();
  };
  std::string host = kw.is_object() && kw.contains("host") ? text(kw["host"], "None") : "None";
  std::string port = kw.is_object() && kw.contains("port") ? text(kw["port"], "None") : "None";
  return "host=" + host + " port=" + port;
}

Result<std::vector<dcs::Member>, std::string> select_members(
    const std::vector<const dcs::Cluster*>& clusters, const SelectionRequest& request,
    Prompter& prompter, const std::function<void()>& show_members) {
  auto role = parse_role(request.role_text).value_or(RoleFilter::kAny);
  std::vector<dcs::Member> members = members_with_role(clusters, role);
  std::vector<std::string> candidates;
  for (const auto& m : members) candidates.push_back(m.name());

  if (request.names.empty() && candidates.empty())
    return Err<std::string>{request.cluster_name + " cluster doesn't have any members"};
  if (show_members) show_members();

  std::vector<std::string> names;
  if (!request.names.empty()) {
    const std::set<std::string> wanted(request.names.begin(), request.names.end());
    for (const auto& c : candidates)
      if (wanted.count(c) && std::find(names.begin(), names.end(), c) == names.end())
        names.push_back(c);
    if (names.empty())
      return Err<std::string>{"No " + request.role_text + " among provided members"};
  } else if (request.action != "reinitialize") {
    names = candidates;
  }

  if (names.empty() && !request.force) {
    std::string list;
    for (const auto& c : candidates) list += (list.empty() ? "" : ", ") + c;
    names.push_back(
        prompter.prompt("Which member do you want to " + request.action + " [" + list + "]?", ""));
  }
  for (const auto& n : names)
    if (std::find(candidates.begin(), candidates.end(), n) == candidates.end())
      return Err<std::string>{n + " is not a member of cluster"};

  std::vector<dcs::Member> selected;
  for (const auto& m : members)
    if (std::find(names.begin(), names.end(), m.name()) != names.end()) selected.push_back(m);
  if (request.ask_confirmation) {
    auto ok =
        confirm_members_action(selected, request.force, request.action, std::nullopt, prompter);
    if (!ok) return Err<std::string>{ok.error()};
  }
  return selected;
}

Result<bool, std::string> confirm_members_action(const std::vector<dcs::Member>& members,
                                                 bool force, const std::string& action,
                                                 const std::optional<std::string>& scheduled_at,
                                                 Prompter& prompter) {
  if (force) return true;
  std::string names;
  for (const auto& m : members) names += (names.empty() ? "" : ", ") + m.name();
  if (scheduled_at) {
    if (!prompter.confirm("Are you sure you want to schedule " + action + " of members " + names +
                          " at " + *scheduled_at + "?"))
      return Err<std::string>{"Aborted scheduled " + action};
  } else if (!prompter.confirm("Are you sure you want to " + action + " members " + names + "?")) {
    return Err<std::string>{"Aborted " + action};
  }
  return true;
}

}  // namespace custos::ctl
