#include "ctl/cluster_view.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <set>

#include "common/json_truth.h"
#include "config/global_config.h"
#include "dcs/member_positions.h"
#include "ctl/records.h"

namespace custos::ctl {

namespace {

// Patroni's global_config.from_cluster(): the DCS config only when it is valid.
config::GlobalConfig global_config(const dcs::Cluster& cluster) {
  if (cluster.config() && cluster.config()->is_valid()) return config::GlobalConfig(cluster.config()->data());
  return config::GlobalConfig();
}


// A port value as an int when it is one (or a decimal string).
std::optional<int64_t> port_of(const nlohmann::json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); }))
      return std::nullopt;
    return std::stoll(s);
  }
  return std::nullopt;
}

}  // namespace

std::string isoformat_utc(dcs::SysMicros t) {
  using namespace std::chrono;
  auto days = floor<std::chrono::days>(t);
  year_month_day ymd{days};
  auto in_day = t - days;
  auto h = duration_cast<hours>(in_day);
  auto m = duration_cast<minutes>(in_day - h);
  auto s = duration_cast<seconds>(in_day - h - m);
  auto us = duration_cast<microseconds>(in_day - h - m - s);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), static_cast<int>(h.count()),
                static_cast<int>(m.count()), static_cast<int>(s.count()));
  std::string out = buf;
  if (us.count() != 0) {
    std::snprintf(buf, sizeof buf, ".%06d", static_cast<int>(us.count()));
    out += buf;
  }
  return out + "+00:00";
}

ordered_json cluster_as_json(const dcs::Cluster& cluster) {
  const config::GlobalConfig config = global_config(cluster);
  const std::optional<std::string> leader_name = cluster.leader_name();
  const int64_t cluster_lsn = cluster.last_lsn();

  ordered_json members = ordered_json::array();
  for (const dcs::Member& m : cluster.members()) {
    const nlohmann::json& data = m.data();
    const bool is_leader = leader_name && m.name() == *leader_name;
    std::string role;
    if (is_leader)
      role = config.is_standby_cluster() ? "standby_leader" : "leader";
    else if (config.is_synchronous_mode() && cluster.sync().matches(m.name()))
      role = config.is_quorum_commit_mode() ? "quorum_standby" : "sync_standby";
    else
      role = "replica";

    nlohmann::json state = "";
    if (role != "leader" && data.contains("replication_state") && python_truthy(data["replication_state"]))
      state = data["replication_state"];
    else if (data.contains("state"))
      state = data["state"];

    ordered_json member = {{"name", m.name()}, {"role", role}, {"state", to_ordered(state)}};
    auto api = m.api_url();
    member["api_url"] = api ? ordered_json(*api) : ordered_json(nullptr);
    nlohmann::json kwargs = m.conn_kwargs();
    if (kwargs.is_object() && kwargs.contains("host") && python_truthy(kwargs["host"])) {
      member["host"] = to_ordered(kwargs["host"]);
      if (kwargs.contains("port"))
        if (auto p = port_of(kwargs["port"]); p && *p != 0) member["port"] = *p;
    }
    for (const char* key : {"timeline", "pending_restart", "pending_restart_reason", "scheduled_restart", "tags"})
      if (data.contains(key)) member[key] = to_ordered(data[key]);
    if (!is_leader) member.update(dcs::member_positions(m, cluster_lsn, /*with_lsns=*/true));
    members.push_back(std::move(member));
  }
  std::stable_sort(members.begin(), members.end(), [](const ordered_json& a, const ordered_json& b) {
    return a["name"].get_ref<const std::string&>() < b["name"].get_ref<const std::string&>();
  });

  ordered_json out = {{"members", std::move(members)}};
  if (config.is_paused()) out["pause"] = true;
  const auto& failover = cluster.failover();
  if (failover && failover->scheduled_at) {
    ordered_json sw = {{"at", isoformat_utc(*failover->scheduled_at)}};
    if (failover->leader) sw["from"] = *failover->leader;
    if (failover->candidate) sw["to"] = *failover->candidate;
    out["scheduled_switchover"] = std::move(sw);
  }
  return out;
}

std::vector<ordered_json> topology_sort(const std::vector<ordered_json>& members) {
  auto name_of = [](const ordered_json& m) { return m["name"].get<std::string>(); };
  auto is_leader = [](const ordered_json& m) {
    const std::string role = m.value("role", "");
    return role.size() >= 6 && role.compare(role.size() - 6, 6, "leader") == 0;
  };
  const ordered_json* leader = nullptr;
  std::set<std::string> replicas;
  for (const auto& m : members) {
    if (is_leader(m)) {
      if (!leader) leader = &m;
    } else {
      replicas.insert(name_of(m));
    }
  }
  // parent name ("" = the leader or, without one, the root) -> children in listing order.
  std::map<std::string, std::vector<const ordered_json*>> children;
  std::vector<const ordered_json*> replica_list;
  for (const auto& m : members) {
    if (is_leader(m)) continue;
    std::string parent;
    auto tags = m.find("tags");
    if (tags != m.end() && tags->is_object()) {
      auto rf = tags->find("replicatefrom");
      if (rf != tags->end() && rf->is_string()) {
        std::string p = rf->get<std::string>();
        if (!p.empty() && p != name_of(m) && replicas.count(p)) parent = p;
      }
    }
    children[parent].push_back(&m);
    replica_list.push_back(&m);
  }

  std::vector<ordered_json> out;
  std::set<const ordered_json*> done;
  std::function<void(int, const ordered_json*)> visit = [&](int level, const ordered_json* m) {
    if (!done.insert(m).second) return;
    ordered_json copy = *m;
    if (level > 0) copy["name"] = std::string(static_cast<size_t>(level - 1) * 2, ' ') + "+ " + name_of(*m);
    out.push_back(std::move(copy));
    auto it = children.find(name_of(*m));
    if (it != children.end())
      for (const auto* c : it->second) visit(level + 1, c);
  };
  if (leader) {
    done.insert(leader);
    out.push_back(*leader);
  }
  for (const auto* c : children[""]) visit(1, c);
  for (const auto* r : replica_list)  // replicatefrom cycles: never reached from the root
    if (!done.count(r)) visit(1, r);
  return out;
}

}  // namespace custos::ctl
