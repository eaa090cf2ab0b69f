// One Patroni 3.0.2 node (n1) and two custos nodes (n2, n3) sharing one scope in one DCS (etcd
// v3, etcd v2 and ZooKeeper, each with the same tests): they must agree on the leader, stream
// from it, hand over in both directions (switchover through the leader's REST API or custosctl,
// failover after kill -9 of the leader's agent and postmaster) and keep every row written
// before.
#include <chrono>
#include <map>
#include <optional>
#include <thread>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "patroni_tools.h"
#include "test_cluster.h"

namespace custos::interop {
namespace {

using namespace std::chrono_literals;
using e2e::ClusterOptions;
using e2e::TestCluster;

constexpr int kPatroniNode = 0;  // n1; n2 and n3 run custos

bool is_patroni(int i) { return i == kPatroniNode; }
std::string kind(int i) { return is_patroni(i) ? "Patroni" : "custos"; }

class MixedCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = patroni_unavailable_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    ClusterOptions o;
    o.nodes = 3;
    o.scope = "mixed";
    o.ttl = 20;
    o.loop_wait = 2;
    o.retry_timeout = 5;
    o.failsafe_mode = failsafe_mode();
    o.dcs = dcs();
    cluster_ = std::make_unique<TestCluster>(o);
    TestCluster& c = *cluster_;
    if (const auto first = bootstrapper()) {
      // One node initializes the cluster alone; the others clone from it.
      start(*first);
      ASSERT_EQ(c.wait_for_primary(90s), *first);
      for (int i = 0; i < c.size(); ++i)
        if (i != *first) start(i);
    } else {
      for (int i = 0; i < c.size(); ++i) start(i);  // either may win the initialize race
    }
    int p = c.wait_for_primary(120s);
    c.wait_for_streaming(p, others(p), 120s);
    ASSERT_TRUE(c.sql(p, "CREATE TABLE e2e_rows (id bigint PRIMARY KEY, note text)").ok);
    write_rows(p, "bootstrap by " + kind(p));
  }
  void TearDown() override {
    if (cluster_) {
      cluster_->check_no_agent_died();
      if (HasFailure()) std::cerr << cluster_->describe() << cluster_->logs(80);
    }
  }

  // true: Patroni starts first and bootstraps; false: all start at once.
  virtual bool patroni_bootstraps() const { return false; }
  // The node that starts first and bootstraps alone; nullopt: all start at once.
  virtual std::optional<int> bootstrapper() const {
    return patroni_bootstraps() ? std::optional<int>(kPatroniNode) : std::nullopt;
  }
  virtual bool failsafe_mode() const { return false; }
  // The DCS backend (ClusterOptions::dcs).
  virtual std::string dcs() const { return "etcd3"; }

  void start(int i) {
    if (is_patroni(i))
      start_patroni(*cluster_, i);
    else
      cluster_->start_agent(i);
  }
  std::vector<int> others(int i) const {
    std::vector<int> out;
    for (int j = 0; j < cluster_->size(); ++j)
      if (j != i) out.push_back(j);
    return out;
  }
  // Ten more rows on the primary; they must be on every node afterwards.
  void write_rows(int primary, const std::string& note) {
    int64_t lo = next_row_, hi = next_row_ + 9;
    auto r = cluster_->sql(primary, "INSERT INTO e2e_rows SELECT g, $1 FROM generate_series($2::bigint, $3::bigint) g",
                           {note, std::to_string(lo), std::to_string(hi)});
    ASSERT_TRUE(r.ok) << r.error;
    next_row_ = hi + 1;
  }
  void expect_all_rows_everywhere() {
    for (int i = 0; i < cluster_->size(); ++i) cluster_->wait_for_rows(i, 1, next_row_ - 1, 60s);
  }
  // The leader key, the member keys and GET /patroni of every node agree on who leads (once
  // every agent has written its member key again: each does so once per loop_wait).
  void expect_consistent_view(int primary) {
    TestCluster& c = *cluster_;
    e2e::eventually([&] {
      for (int i = 0; i < c.size(); ++i) {
        auto m = nlohmann::json::parse(c.get_key("members/" + c.name(i)).value_or(""), nullptr, false);
        if (!m.is_object() || m.value("state", "") != "running" ||
            m.value("role", "") != (i == primary ? primary_role(i) : "replica"))
          return false;
      }
      return true;
    }, 30s);
    EXPECT_EQ(c.leader_name(), c.name(primary));
    for (int i = 0; i < c.size(); ++i) {
      auto m = nlohmann::json::parse(c.get_key("members/" + c.name(i)).value_or(""), nullptr, false);
      ASSERT_TRUE(m.is_object()) << c.name(i) << " has no member key";
      EXPECT_EQ(m.value("role", ""), i == primary ? primary_role(i) : "replica")
          << kind(i) << " node " << c.name(i) << " member key " << m.dump();
      EXPECT_EQ(m.value("state", ""), "running") << c.name(i) << " " << m.dump();
      std::string body;
      ASSERT_EQ(c.rest_status(i, "/patroni", &body), 200) << c.name(i);
      auto p = nlohmann::json::parse(body, nullptr, false);
      ASSERT_TRUE(p.is_object()) << body;
      EXPECT_EQ(p.value("role", ""), i == primary ? primary_role(i) : "replica") << c.name(i) << " " << body;
    }
    auto l = patronictl_list(c);
    EXPECT_EQ(l.error, "");
    EXPECT_EQ(l.leader(), c.name(primary)) << "patronictl list disagrees";
  }

  // The primary's role as node i writes it: Patroni 3.0.2 "master", a custos node as it presents.
  std::string primary_role(int i) const { return is_patroni(i) ? "master" : cluster_->primary_role(i); }
  // Remembers every node's member key under "<kind> <role>" (e.g. "custos master").
  void snapshot_member_keys() {
    TestCluster& c = *cluster_;
    for (int i = 0; i < c.size(); ++i) {
      auto m = nlohmann::json::parse(c.get_key("members/" + c.name(i)).value_or(""), nullptr, false);
      if (!m.is_object()) continue;
      // Both spellings of the primary (custos nodes present Patroni 3.3 and 4.1 here) count as one.
      std::string role = m.value("role", "?");
      if (role == "primary") role = "master";
      member_keys_[kind(i) + " " + role] = m;
    }
  }
  // Every field Patroni 3.0.2 writes into its member key, custos writes too, with the same JSON
  // type, for a member in the same role.
  void expect_same_member_fields(const std::string& role) {
    auto p = member_keys_.find("Patroni " + role), k = member_keys_.find("custos " + role);
    ASSERT_TRUE(p != member_keys_.end() && k != member_keys_.end()) << "no snapshot for role " << role;
    std::cout << "member key of a " << role << " written by Patroni 3.0.2: " << p->second.dump() << "\n"
              << "member key of a " << role << " written by custos:       " << k->second.dump() << "\n";
    for (auto it = p->second.begin(); it != p->second.end(); ++it) {
      ASSERT_TRUE(k->second.contains(it.key())) << "custos' " << role << " member key lacks '" << it.key() << "'";
      EXPECT_EQ(std::string(k->second[it.key()].type_name()), std::string(it.value().type_name())) << it.key();
    }
  }
  std::map<std::string, nlohmann::json> member_keys_;

  // Switchover through POST /switchover on the current leader, as patronictl does. Returns the
  // new primary's index.
  int switchover(int leader, int candidate) {
    TestCluster& c = *cluster_;
    SCOPED_TRACE("switchover " + kind(leader) + " " + c.name(leader) + " -> " + kind(candidate) + " " +
                 c.name(candidate));
    nlohmann::json body = {{"leader", c.name(leader)}, {"candidate", c.name(candidate)}};
    auto r = rest(c, leader, "POST", "/switchover", body.dump(), 60s);
    if (r.status != 200) {
      ADD_FAILURE() << kind(leader) << " leader " << c.name(leader) << " answered " << r.status
                    << " to POST /switchover: " << r.body
                    << "; falling back to the /failover key as patronictl 3.0.2 does";
      c.put_key("failover", nlohmann::json({{"leader", c.name(leader)}, {"member", c.name(candidate)}}).dump());
    }
    wait_for_leader(c, c.name(candidate), 90s);
    c.wait_for_streaming(candidate, others(candidate), 120s);
    return candidate;
  }

  // kill -9 of the agents and postmasters of `victims` (the leader among them); waits for a
  // new primary among the others, restarts the victims and waits until they stream from it.
  int failover(int leader, const std::vector<int>& victims) {
    TestCluster& c = *cluster_;
    SCOPED_TRACE("failover away from " + kind(leader) + " " + c.name(leader));
    for (int v : victims) c.kill_node(v);
    int p = c.wait_for_primary(90s);
    EXPECT_NE(p, leader);
    for (int v : victims) start(v);
    c.wait_for_streaming(p, others(p), 150s);
    return p;
  }

  // Switchovers Patroni -> custos and custos -> Patroni (whichever leads first), the second
  // one through custosctl when `via_custosctl`; every row everywhere; the member keys alike.
  void switchovers_both_ways(bool via_custosctl = false) {
  TestCluster& c = *cluster_;
  int p = c.wait_for_primary(30s);
  std::cout << "bootstrap leader: " << kind(p) << " " << c.name(p) << "\n";
  expect_consistent_view(p);
  snapshot_member_keys();
  // Patroni -> custos and custos -> Patroni, whichever came first.
  std::vector<int> targets = is_patroni(p) ? std::vector<int>{1, kPatroniNode} : std::vector<int>{kPatroniNode, 3 - p};
  for (int t : targets) {
    p = via_custosctl && t == targets.back() ? switchover_with_custosctl(p, t) : switchover(p, t);
    ASSERT_EQ(p, t);
    expect_consistent_view(p);
    snapshot_member_keys();
    write_rows(p, "after switchover to " + kind(p));
    expect_all_rows_everywhere();
  }
  expect_same_member_fields("master");
  expect_same_member_fields("replica");
  auto h = patronictl(c, {"history", "-f", "json"});
  auto j = nlohmann::json::parse(h.output.substr(std::min(h.output.find('['), h.output.size())), nullptr, false);
  EXPECT_TRUE(j.is_array() && j.size() == 2u) << h.output;
  }

  // Failovers Patroni -> custos and custos -> Patroni (kill -9 of agent and postmaster).
  void failovers_both_ways() {
  TestCluster& c = *cluster_;
  int p = c.wait_for_primary(30s);
  std::cout << "bootstrap leader: " << kind(p) << " " << c.name(p) << "\n";
  // Patroni -> custos: kill the Patroni primary, one of the custos nodes takes over.
  // custos primary killed: Patroni and the other custos node race for the lock, each asking the
  // other's GET /patroni whether it is healthier; either may win. When that is won by custos
  // again, both custos nodes are killed, so Patroni (the only candidate left) takes over.
  bool to_custos = false, to_patroni = false, raced = false;
  for (int round = 0; round < 3 && !(to_custos && to_patroni); ++round) {
    std::vector<int> victims;
    if (is_patroni(p))
      victims = {kPatroniNode};
    else if (!raced)
      victims = {p};
    else
      victims = {1, 2};
    if (victims.size() == 1 && !is_patroni(p)) raced = true;
    int np = failover(p, victims);
    std::cout << "failover round " << round + 1 << ": " << kind(p) << " " << c.name(p) << " -> " << kind(np) << " "
              << c.name(np) << "\n";
    if (victims.size() == 2) {
      EXPECT_TRUE(is_patroni(np)) << "new leader " << c.name(np);
    }
    if (is_patroni(p)) {
      EXPECT_FALSE(is_patroni(np)) << "new leader " << c.name(np);
    }
    (is_patroni(np) ? to_patroni : to_custos) = true;
    p = np;
    expect_consistent_view(p);
    write_rows(p, "after failover to " + kind(p));
    expect_all_rows_everywhere();
  }
  EXPECT_TRUE(to_custos && to_patroni);
  }

  // `custosctl switchover` through the cluster's configuration file (its DCS section).
  int switchover_with_custosctl(int leader, int candidate) {
    TestCluster& c = *cluster_;
    SCOPED_TRACE("custosctl switchover " + c.name(leader) + " -> " + c.name(candidate));
    const std::string cfg = c.dir() + "/custosctl.yml";
    c.write_ctl_config(cfg);
    auto r = TestCluster::custosctl(cfg, {"switchover", c.options().scope, "--leader", c.name(leader), "--candidate",
                                          c.name(candidate), "--force"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    wait_for_leader(c, c.name(candidate), 90s);
    c.wait_for_streaming(candidate, others(candidate), 120s);
    return candidate;
  }

  // custosctl lists the cluster from its configuration file and from a --dcs-url, and finds
  // the same leader as patronictl.
  void expect_custosctl_lists(const std::string& dcs_url) {
    TestCluster& c = *cluster_;
    const std::string cfg = c.dir() + "/custosctl.yml";
    c.write_ctl_config(cfg);
    const auto leader = c.leader_name();
    ASSERT_TRUE(leader);
    for (const auto& args : {std::vector<std::string>{"list", "-f", "json"},
                             std::vector<std::string>{"--dcs-url", dcs_url, "list", c.options().scope, "-f", "json"}}) {
      auto r = TestCluster::custosctl(cfg, args);
      ASSERT_EQ(r.exit_code, 0) << r.output;
      auto j = nlohmann::json::parse(r.output.substr(std::min(r.output.find('['), r.output.size())), nullptr, false);
      ASSERT_TRUE(j.is_array()) << r.output;
      EXPECT_EQ(j.size(), 3u) << r.output;
      int leaders = 0;
      for (const auto& m : j)
        if (m.value("Role", "") == "Leader") {
          ++leaders;
          EXPECT_EQ(m.value("Member", ""), *leader) << r.output;
        }
      EXPECT_EQ(leaders, 1) << r.output;
    }
  }

  std::unique_ptr<TestCluster> cluster_;
  int64_t next_row_ = 1;
};

TEST_F(MixedCluster, BootstrapsAndSwitchesOverBothWays) { switchovers_both_ways(); }

class MixedClusterBootstrappedByPatroni : public MixedCluster {
 protected:
  bool patroni_bootstraps() const override { return true; }
};

TEST_F(MixedClusterBootstrappedByPatroni, FailsOverBothWays) { failovers_both_ways(); }

// The same on etcd's v2 API (section `etcd`) and on ZooKeeper: Patroni 3.0.2 through
// python3-etcd and python3-kazoo, custos through its own backends; custosctl on both.
class MixedClusterOnEtcdV2 : public MixedCluster {
 protected:
  std::string dcs() const override { return "etcd"; }
};
TEST_F(MixedClusterOnEtcdV2, BootstrapsAndSwitchesOverBothWays) {
  switchovers_both_ways(true);
  expect_custosctl_lists(cluster_->dcs_url());
}
class MixedClusterOnEtcdV2BootstrappedByPatroni : public MixedClusterOnEtcdV2 {
 protected:
  bool patroni_bootstraps() const override { return true; }
};
TEST_F(MixedClusterOnEtcdV2BootstrappedByPatroni, FailsOverBothWays) { failovers_both_ways(); }

class MixedClusterOnZooKeeper : public MixedCluster {
 protected:
  std::string dcs() const override { return "zookeeper"; }
};
TEST_F(MixedClusterOnZooKeeper, BootstrapsAndSwitchesOverBothWays) {
  switchovers_both_ways(true);
  expect_custosctl_lists(cluster_->dcs_url());
}
class MixedClusterOnZooKeeperBootstrappedByPatroni : public MixedClusterOnZooKeeper {
 protected:
  bool patroni_bootstraps() const override { return true; }
};
TEST_F(MixedClusterOnZooKeeperBootstrappedByPatroni, FailsOverBothWays) { failovers_both_ways(); }

// failsafe_mode in a mixed cluster (ha.md §7): etcd is stopped for twice the ttl. The primary,
// Patroni or custos, keeps taking writes because the other kind confirms it (POST /failsafe
// both ways); nobody else promotes; when etcd is back the same node holds the lock again.
class MixedFailsafe : public MixedCluster {
 protected:
  bool failsafe_mode() const override { return true; }
  std::optional<int> bootstrapper() const override {
    return patroni_bootstraps() ? std::optional<int>(kPatroniNode) : std::optional<int>(1);
  }
  void outage_keeps_the_primary(int expected_primary) {
    TestCluster& c = *cluster_;
    const int p = c.wait_for_primary(30s);
    ASSERT_EQ(p, expected_primary);
    ASSERT_TRUE(e2e::eventually(
        [&] {
          auto v = nlohmann::json::parse(c.get_key("failsafe").value_or(""), nullptr, false);
          return v.is_object() && v.size() == 3;
        },
        30s))
        << c.get_key("failsafe").value_or("(none)");
    // The leader goes by the /failsafe value of the last cluster it read (Patroni too), and it
    // reads the map it just wrote only in its next cycle: stopping etcd at once could leave it
    // with the previous map (a member short, which then never hears from it).
    std::this_thread::sleep_for(std::chrono::seconds(2 * c.options().loop_wait + 1));
    c.etcd().stop();
    const auto outage = std::chrono::steady_clock::now();
    auto active = [&](int i) {
      std::string body;
      if (c.rest_status(i, "/patroni", &body) != 200) return false;
      auto j = nlohmann::json::parse(body, nullptr, false);
      return j.is_object() && j.value("failsafe_mode_is_active", false);
    };
    bool all_active = false;
    int64_t id = 1000;
    while (std::chrono::steady_clock::now() - outage < std::chrono::seconds(2 * c.options().ttl)) {
      auto r = c.sql(p, "INSERT INTO e2e_rows VALUES ($1, 'during the outage')", {std::to_string(++id)});
      ASSERT_TRUE(r.ok) << kind(p) << " primary " << c.name(p) << " stopped taking writes: " << r.error << "\n"
                        << c.describe();
      for (int i : others(p)) ASSERT_NE(c.is_primary_sql(i), std::optional<bool>(true)) << c.describe();
      if (!all_active) {
        all_active = true;
        for (int i = 0; i < c.size(); ++i) all_active = all_active && active(i);
      }
      std::this_thread::sleep_for(1s);
    }
    EXPECT_TRUE(all_active) << "failsafe_mode_is_active was not reported by every node";
    c.etcd().start();
    EXPECT_TRUE(e2e::eventually([&] { return c.leader_name() == c.name(p); }, 60s)) << c.describe();
    EXPECT_EQ(c.wait_for_primary(60s), p);
  }
};

TEST_F(MixedFailsafe, PatroniReplicaConfirmsACustosPrimary) { outage_keeps_the_primary(1); }

class MixedFailsafeUnderPatroni : public MixedFailsafe {
 protected:
  bool patroni_bootstraps() const override { return true; }
};

TEST_F(MixedFailsafeUnderPatroni, CustosReplicasConfirmAPatroniPrimary) { outage_keeps_the_primary(kPatroniNode); }

}  // namespace
}  // namespace custos::interop
