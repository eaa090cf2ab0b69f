// Debian's patronictl 3.0.2 against a cluster of two custos nodes: every command an operator
// uses day to day must work unchanged (list, show-config, edit-config, history read and write
// etcd directly; switchover, restart, pause and resume go through custos' REST API).
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "patroni_tools.h"
#include "test_cluster.h"

namespace custos::interop {
namespace {

using namespace std::chrono_literals;
using e2e::ClusterOptions;
using e2e::TestCluster;

ClusterOptions two_custos_nodes() {
  ClusterOptions o;
  o.nodes = 2;
  o.scope = "interop";
  o.ttl = 20;
  o.loop_wait = 2;
  o.retry_timeout = 5;
  return o;
}

// Runs one step; an exception (a wait that timed out) becomes a failure of that step only, so
// the remaining steps still report what works.
void step(TestCluster& c, const std::string& what, const std::function<void()>& body) {
  SCOPED_TRACE(what);
  try {
    body();
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": " << e.what() << "\n" << c.logs(40);
  }
}

using e2e::eventually;

class PatronictlAgainstCustos : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = patroni_unavailable_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    cluster_ = std::make_unique<TestCluster>(two_custos_nodes());
    cluster_->start_all();
    primary_ = cluster_->wait_for_primary(90s);
    replica_ = 1 - primary_;
    cluster_->wait_for_streaming(primary_, {replica_}, 90s);
  }
  void TearDown() override {
    if (cluster_) {
      cluster_->check_no_agent_died();
      if (HasFailure()) std::cerr << cluster_->describe() << cluster_->logs(60);
    }
  }
  std::unique_ptr<TestCluster> cluster_;
  int primary_ = -1, replica_ = -1;
};

TEST_F(PatronictlAgainstCustos, ListShowConfigEditConfigAndHistory) {
  TestCluster& c = *cluster_;
  step(c, "patronictl list", [&] {
    auto l = patronictl_list(c);
    ASSERT_EQ(l.error, "");
    ASSERT_EQ(l.members.size(), 2u);
    EXPECT_EQ(l.leader(), c.name(primary_));
    const ListedMember* r = l.find(c.name(replica_));
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->role, "Replica");
    EXPECT_TRUE(r->state == "running" || r->state == "streaming") << r->state;
    const ListedMember* p = l.find(c.name(primary_));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->state, "running");
    EXPECT_EQ(p->tl, "1");
    EXPECT_NE(p->host.find("127.0.0.1"), std::string::npos) << p->host;
    // The pretty table too (what an operator reads).
    auto t = patronictl(c, {"list"});
    EXPECT_EQ(t.exit_code, 0) << t.output;
    EXPECT_NE(t.output.find("Cluster: interop"), std::string::npos) << t.output;
    EXPECT_NE(t.output.find("| " + c.name(primary_)), std::string::npos) << t.output;
  });

  step(c, "patronictl show-config", [&] {
    auto r = patronictl(c, {"show-config"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("loop_wait: 2"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("ttl: 20"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("use_pg_rewind: true"), std::string::npos) << r.output;
  });

  step(c, "patronictl edit-config --force -s / -p", [&] {
    auto r = patronictl(c, {"edit-config", "--force", "-s", "maximum_lag_on_failover=33554432", "-p",
                            "work_mem=7MB"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto cfg = c.get_key("config");
    ASSERT_TRUE(cfg.has_value());
    auto j = nlohmann::json::parse(*cfg, nullptr, false);
    ASSERT_TRUE(j.is_object()) << *cfg;
    EXPECT_EQ(j.value("maximum_lag_on_failover", 0), 33554432) << *cfg;
    EXPECT_EQ(j["postgresql"]["parameters"].value("work_mem", ""), "7MB") << *cfg;
    EXPECT_EQ(j.value("loop_wait", 0), 2) << *cfg;  // untouched values stay
    auto s = patronictl(c, {"show-config"});
    EXPECT_NE(s.output.find("work_mem: 7MB"), std::string::npos) << s.output;
    // custos serves the new config on GET /config and applies the reloadable parameter.
    EXPECT_TRUE(eventually([&] {
      std::string body;
      return c.rest_status(primary_, "/config", &body) == 200 && body.find("33554432") != std::string::npos;
    }, 20s)) << "GET /config on " << c.name(primary_) << " does not show the edited config";
    for (int i : {primary_, replica_}) {
      EXPECT_TRUE(eventually([&] { return c.sql_value(i, "SHOW work_mem") == std::string("7MB"); }, 30s))
          << c.name(i) << " did not apply work_mem=7MB (SHOW work_mem = "
          << c.sql_value(i, "SHOW work_mem").value_or("?") << ")";
    }
  });

  step(c, "patronictl history (no failover yet)", [&] {
    auto r = patronictl(c, {"history", "-f", "json"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("[]"), std::string::npos) << r.output;
  });
}

TEST_F(PatronictlAgainstCustos, SwitchoverHistoryRestartPauseResume) {
  TestCluster& c = *cluster_;
  const std::string old_leader = c.name(primary_), candidate = c.name(replica_);
  bool switched = false;
  step(c, "patronictl switchover --force --candidate", [&] {
    auto r = patronictl(c, {"switchover", "--force", "--candidate", candidate}, 90s);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    // patronictl 3.0.2 exits 0 also when the leader refused ("Switchover failed, details: ...").
    ASSERT_EQ(r.output.find("failed"), std::string::npos) << r.output;
    wait_for_leader(c, candidate, 60s);
    c.wait_for_streaming(replica_, {primary_}, 90s);
    auto l = patronictl_list(c);
    EXPECT_EQ(l.error, "");
    EXPECT_EQ(l.leader(), candidate);
    const ListedMember* n = l.find(candidate);
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->tl, "2");
    switched = true;
  });

  step(c, "patronictl history after the switchover", [&] {
    if (!switched) return;  // the switchover step failed already
    auto r = patronictl(c, {"history", "-f", "json"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto j = nlohmann::json::parse(r.output.substr(std::min(r.output.find('['), r.output.size())), nullptr, false);
    ASSERT_TRUE(j.is_array() && j.size() == 1u) << r.output;
    EXPECT_EQ(j[0].value("TL", 0), 1) << r.output;
    EXPECT_EQ(j[0].value("New Leader", ""), candidate) << r.output;
    EXPECT_NE(j[0].value("Reason", "").find("no recovery target specified"), std::string::npos) << r.output;
  });

  const int target = switched ? primary_ : replica_;  // a replica in either case
  step(c, "patronictl restart --force <member>", [&] {
    auto before = c.postmaster_start_time(target);
    ASSERT_TRUE(before.has_value());
    auto r = patronictl(c, {"restart", "--force", c.options().scope, c.name(target)}, 90s);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    ASSERT_NE(r.output.find("Success: restart on member " + c.name(target)), std::string::npos) << r.output;
    EXPECT_TRUE(eventually([&] {
      auto now = c.postmaster_start_time(target);
      return now && *now != *before;
    }, 60s)) << "PostgreSQL on " << c.name(target) << " was not restarted";
  });

  step(c, "patronictl pause --wait", [&] {
    auto r = patronictl(c, {"pause", "--wait"}, 60s);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("Success: cluster management is paused"), std::string::npos) << r.output;
    auto cfg = nlohmann::json::parse(c.get_key("config").value_or(""), nullptr, false);
    EXPECT_TRUE(cfg.is_object() && cfg.value("pause", false)) << cfg.dump();
    for (int i : {0, 1}) {
      auto m = nlohmann::json::parse(c.get_key("members/" + c.name(i)).value_or(""), nullptr, false);
      EXPECT_TRUE(m.is_object() && m.value("pause", false)) << c.name(i) << ": " << m.dump();
    }
    auto t = patronictl(c, {"list"});
    EXPECT_NE(t.output.find("Maintenance mode: on"), std::string::npos) << t.output;
  });

  step(c, "patronictl resume --wait", [&] {
    auto r = patronictl(c, {"resume", "--wait"}, 60s);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("Success: cluster management is resumed"), std::string::npos) << r.output;
    for (int i : {0, 1}) {
      auto m = nlohmann::json::parse(c.get_key("members/" + c.name(i)).value_or(""), nullptr, false);
      EXPECT_TRUE(m.is_object() && !m.value("pause", false)) << c.name(i) << ": " << m.dump();
    }
    auto t = patronictl(c, {"list"});
    EXPECT_EQ(t.output.find("Maintenance mode"), std::string::npos) << t.output;
  });
}

}  // namespace
}  // namespace custos::interop
