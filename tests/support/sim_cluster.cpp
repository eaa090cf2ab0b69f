#include "sim_cluster.h"

#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "agent/state_mapping.h"
#include "config/config.h"
#include <filesystem>

namespace custos::test {

using nlohmann::json;

ha::MemberStatuses FakeMemberQueries::query(const std::map<std::string, std::string>& api_urls) {
  ++queries_;
  ha::MemberStatuses out;
  for (const auto& [name, url] : api_urls) {
    if (source_) {
      out.push_back(source_(name));
    } else {
      ha::MemberStatus st;
      st.name = name;
      out.push_back(st);
    }
  }
  return out;
}

std::vector<agent::FailsafeAnswer> FakeMemberQueries::post_failsafe(const std::map<std::string, std::string>& api_urls,
                                                                    const std::string& body) {
  ++failsafe_posts_;
  std::vector<agent::FailsafeAnswer> out;
  for (const auto& [name, url] : api_urls)
    out.push_back(failsafe_sink_ ? failsafe_sink_(name, body) : agent::FailsafeAnswer{name, false, std::nullopt});
  return out;
}

namespace {
const char* action_name(agent::CallbackAction a) {
  switch (a) {
    case agent::CallbackAction::on_start: return "on_start";
    case agent::CallbackAction::on_stop: return "on_stop";
    case agent::CallbackAction::on_restart: return "on_restart";
    case agent::CallbackAction::on_reload: return "on_reload";
    case agent::CallbackAction::on_role_change: return "on_role_change";
  }
  return "?";
}
}  // namespace

void RecordingHooks::fire(agent::CallbackAction action, ha::Role role) {
  std::lock_guard lk(mu_);
  fired_.push_back(std::string(action_name(action)) + " " + std::string(ha::to_string(role)));
}

Status<std::string> RecordingHooks::pre_promote(const CancelToken&) {
  std::lock_guard lk(mu_);
  fired_.push_back("pre_promote");
  if (fail_pre_promote_) return make_error(std::string("pre_promote exited with code 1"));
  return Unit{};
}

void RecordingHooks::before_stop() {
  std::lock_guard lk(mu_);
  fired_.push_back("before_stop");
}

std::vector<std::string> RecordingHooks::fired() const {
  std::lock_guard lk(mu_);
  return fired_;
}

json sim_node_config(const std::string& name, const json& overrides) {
  json c = {
      {"name", name},
      {"scope", "sim"},
      {"restapi", {{"listen", "127.0.0.1:8008"}, {"connect_address", name + ":8008"}}},
      {"etcd3", {{"hosts", "127.0.0.1:2379"}}},
      {"bootstrap", {{"dcs", {{"ttl", 30}, {"loop_wait", 10}, {"retry_timeout", 10}, {"maximum_lag_on_failover", 1048576}}}}},
      {"postgresql",
       {{"listen", "127.0.0.1:5432"},
        {"connect_address", name + ":5432"},
        {"data_dir", (std::filesystem::temp_directory_path() / ("custos-sim-" + std::to_string(::getpid())) / name).string()},
        {"use_pg_rewind", true},
        {"authentication",
         {{"superuser", {{"username", "postgres"}, {"password", "pw"}}},
          {"replication", {{"username", "replicator"}, {"password", "pw"}}}}}}},
  };
  if (overrides.is_object()) c.merge_patch(overrides);
  return c;
}

SimNode::SimNode(InMemoryStore& store, SimClock& c, const std::string& n, const json& overrides)
    : name(n),
      clock(c),
      dcs(store, n, dcs::DcsTiming{30, 10, 10}),
      settings(config::Config(sim_node_config(n, overrides), sim_node_config(n, overrides)["bootstrap"]["dcs"]), "",
               config::EnvMap{}) {
  pg.set_settings(settings.current()->pg);
  const auto s = settings.current();
  std::error_code ec;
  std::filesystem::create_directories(s->config.data_dir(), ec);
  dcs.set_timing(dcs::DcsTiming{s->config.ttl(), s->config.loop_wait(), s->config.retry_timeout()});
  agent::AgentServices services{dcs, pg, clock, members, watchdog, hooks};
  if (const auto& citus = s->pg.citus; citus && citus->group > 0) {
    citus_events = std::make_unique<agent::CitusWorkerEvents>(dcs, members, citus->group);
    services.citus_events = citus_events.get();
  }
  agent = std::make_unique<agent::Agent>(services, settings);
  agent->start();
}

SimNode::~SimNode() {
  if (agent) agent->worker().shutdown();
  std::error_code ec;
  std::filesystem::remove_all(settings.current()->config.data_dir(), ec);
}

void SimNode::settle() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (agent->worker().wait_idle(std::chrono::milliseconds(5))) return;
    for (const char* op : {"bootstrap", "clone", "promote", "stop", "rewind", "crash_recovery", "checkpoint",
                           "start", "wait_ready", "post_bootstrap", "move_data_dir_aside"})
      if (pg.blocked_in(op)) return;
  }
  throw std::runtime_error(name + ": the async worker did not settle within 10 s");
}

bool SimNode::cycle() {
  const bool go_on = agent->run_cycle_guarded();
  settle();
  return go_on;
}

ha::MemberStatus SimNode::status() const {
  ha::MemberStatus st;
  st.name = name;
  const auto s = pg.server();
  if (!s.running || !s.accepting) return st;
  st.reachable = true;
  st.in_recovery = s.in_recovery;
  st.wal_position = s.lsn;
  st.timeline = s.timeline;
  const auto tags = agent::tags_from_config(settings.current()->config.tags());
  st.nofailover = tags.is_nofailover();
  st.failover_priority = tags.priority();
  return st;
}

bool SimNode::holds_lock() const { return agent->memory().local.last_lock_write.has_value(); }

bool SimNode::is_primary() const {
  const auto s = pg.server();
  return s.running && !s.in_recovery;
}

SimCluster::SimCluster(int count, const json& overrides) {
  for (int i = 1; i <= count; ++i) add("node" + std::to_string(i), overrides);
}

SimNode& SimCluster::add(const std::string& name, const json& overrides) {
  nodes.push_back(std::make_unique<SimNode>(store, clock, name, overrides));
  for (auto& n : nodes)
    n->members.set_source([this](const std::string& member) {
      for (auto& other : nodes)
        if (other->name == member) return other->status();
      ha::MemberStatus st;
      st.name = member;
      return st;
    });
  // POST /failsafe reaches the other node's agent as the REST API would hand it over.
  for (auto& n : nodes)
    n->members.set_failsafe_sink([this](const std::string& member, const std::string& body) {
      agent::FailsafeAnswer a{member, false, std::nullopt};
      for (auto& other : nodes) {
        if (other->name != member || !other->api_reachable) continue;
        const json j = json::parse(body);
        agent::FailsafeState::Leader leader;
        leader.name = j.at("name").get<std::string>();
        leader.conn_url = j.at("conn_url").get<std::string>();
        leader.api_url = j.at("api_url").get<std::string>();
        a.accepted = !other->agent->accept_failsafe_leader(leader).has_value();
      }
      return a;
    });
  return *nodes.back();
}

SimNode& SimCluster::node(const std::string& name) {
  for (auto& n : nodes)
    if (n->name == name) return *n;
  throw std::runtime_error("no sim node " + name);
}

void SimCluster::round(double advance_s) {
  for (auto& n : nodes) n->cycle();
  clock.advance_seconds(advance_s);
}

bool SimCluster::rounds_until(const std::function<bool()>& pred, int max_rounds, double advance_s) {
  for (int i = 0; i < max_rounds; ++i) {
    if (pred()) return true;
    round(advance_s);
  }
  return pred();
}

std::optional<std::string> SimCluster::leader() { return store.get("leader"); }

}  // namespace custos::test
