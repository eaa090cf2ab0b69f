#include "builders.h"

#include <algorithm>

namespace custos::ha::test {

std::string member_json(const std::string& role, int64_t xlog, const std::string& extra,
                        const std::string& state) {
  return R"({"conn_url":"postgres://127.0.0.1:5432/postgres","api_url":"http://127.0.0.1:8008/patroni","state":")" +
         state + R"(","role":")" + role + R"(","version":"3.3.1","xlog_location":)" +
         std::to_string(xlog) + extra + "}";
}

ClusterBuilder& ClusterBuilder::raw(const std::string& key, const std::string& value) {
  dcs::RawNode n;
  n.key = key;
  n.value = value;
  n.version = next_;
  n.modify_version = next_;
  ++next_;
  nodes_.push_back(n);
  return *this;
}
ClusterBuilder& ClusterBuilder::leader(const std::string& name) { return raw("leader", name); }
ClusterBuilder& ClusterBuilder::member(const std::string& name, const std::string& role,
                                       int64_t xlog, const std::string& extra,
                                       const std::string& state) {
  return raw("members/" + name, member_json(role, xlog, extra, state));
}
ClusterBuilder& ClusterBuilder::initialize(const std::string& sysid) {
  return raw("initialize", sysid);
}
ClusterBuilder& ClusterBuilder::config(const std::string& json) { return raw("config", json); }
ClusterBuilder& ClusterBuilder::failover(const std::string& json) { return raw("failover", json); }
ClusterBuilder& ClusterBuilder::sync(const std::string& leader, const std::string& standbys) {
  return raw("sync", R"({"leader":")" + leader + R"(","sync_standby":)" +
                         (standbys.empty() ? std::string("null") : "\"" + standbys + "\"") + "}");
}
ClusterBuilder& ClusterBuilder::history(const std::string& json) { return raw("history", json); }
ClusterBuilder& ClusterBuilder::status(int64_t optime) {
  return raw("status", R"({"optime":)" + std::to_string(optime) + "}");
}
ClusterBuilder& ClusterBuilder::failsafe(const std::string& json) { return raw("failsafe", json); }
dcs::Cluster ClusterBuilder::build() const { return dcs::Cluster::from_nodes(nodes_); }

ClusterBuilder healthy_cluster(const std::string& leader) {
  ClusterBuilder b;
  b.initialize().config().status(1000);
  for (const char* n : {"node1", "node2", "node3"})
    b.member(n, n == leader ? "master" : "replica", 1000);
  b.leader(leader);
  return b;
}

ClusterBuilder leaderless_cluster() {
  ClusterBuilder b;
  b.initialize().config().status(1000);
  b.member("node1", "master", 1000).member("node2", "replica", 1000).member("node3", "replica", 1000);
  return b;
}

LocalState replica_state(const std::string& name, int64_t lsn) {
  LocalState s;
  s.name = name;
  s.sysid = "7000000000000000001";
  s.process = PgProcess::running;
  s.state = PgState::running;
  s.in_recovery = true;
  s.role = Role::replica;
  s.timeline = 1;
  s.received_lsn = lsn;
  s.replayed_lsn = lsn;
  s.on_start_fired = true;
  s.server_version = 160000;
  return s;
}

LocalState primary_state(const std::string& name, int64_t lsn) {
  LocalState s = replica_state(name, 0);
  s.in_recovery = false;
  s.role = Role::primary;
  s.flush_lsn = lsn;
  return s;
}

MemberStatus replica_status(const std::string& name, int64_t wal, int64_t priority) {
  MemberStatus st;
  st.name = name;
  st.reachable = true;
  st.wal_position = wal;
  st.timeline = 1;
  st.in_recovery = true;
  st.failover_priority = priority;
  st.nofailover = priority <= 0;
  return st;
}

MemberStatus primary_status(const std::string& name, int64_t wal) {
  MemberStatus st = replica_status(name, wal);
  st.in_recovery = false;
  return st;
}

MemberStatus unreachable(const std::string& name) {
  MemberStatus st;
  st.name = name;
  st.reachable = false;
  return st;
}

DecisionInput input(const dcs::Cluster& cluster, const LocalState& local) {
  DecisionInput in;
  in.cluster = cluster;
  in.local = local;
  in.now = 1'700'000'000;
  in.wall_now = in.now;
  in.local.last_lock_write = std::nullopt;
  return in;
}

namespace {
void walk(const Decision& d, Path cur, std::vector<Path>& out) {
  cur.steps.insert(cur.steps.end(), d.steps.begin(), d.steps.end());
  if (!d.is_conditional()) {
    cur.leaf = d;
    out.push_back(cur);
    return;
  }
  Path ok = cur;
  ok.outcomes.push_back(true);
  walk(d.on_success(), ok, out);
  Path fail = cur;
  fail.outcomes.push_back(false);
  walk(d.on_failure(), fail, out);
}
}  // namespace

std::vector<Path> all_paths(const Decision& d) {
  std::vector<Path> out;
  walk(d, Path{}, out);
  return out;
}

bool has_step(const Decision& d, Action a) { return d.has(a); }
const Step* find_step(const Decision& d, Action a) { return d.find(a); }
int step_index(const std::vector<Step>& steps, Action a) {
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (steps[i].action() == a) return static_cast<int>(i);
  return -1;
}

std::vector<std::string> logged(const Decision& leaf, const Decision* root) {
  std::vector<std::string> out;
  for (const Step& s : leaf.steps) {
    const auto* l = s.get<step::Log>();
    if (!l) continue;
    const char* level = l->level == step::LogLevel::info ? "info" : l->level == step::LogLevel::warning ? "warning" : "error";
    out.push_back(std::string(level) + ": " + l->line);
  }
  if (root)
    for (const auto& [line, warning] : root->log) out.push_back(std::string(warning ? "warning: " : "info: ") + line);
  return out;
}

bool logs(const Decision& leaf, const std::string& line, const Decision* root) {
  const auto all = logged(leaf, root);
  return std::find(all.begin(), all.end(), line) != all.end();
}

}  // namespace custos::ha::test
