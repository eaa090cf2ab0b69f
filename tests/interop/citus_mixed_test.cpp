// Citus with Debian's Patroni 3.0.2 as one node of a worker group (issue 15): a custos
// coordinator (group 0) and a worker group of one Patroni and one custos node on one etcd, on
// the real Citus of ../shared/citus. Patroni's events (POST /citus from 3.0.2) reach custos's
// coordinator and custos's reach it back through switchovers in both directions, with a client
// writing through the coordinator all along: no statement fails, every row is there, and
// pg_dist_node names the group's primary after each switchover.
// Skipped, saying why, without Patroni 3.0.2 or Citus.
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "insert_writer.h"
#include "patroni_tools.h"
#include "test_cluster.h"

namespace custos::interop {
namespace {

using namespace std::chrono_literals;
using e2e::ClusterOptions;
using e2e::TestCluster;

constexpr int kPatroniNode = 0;  // w1n1 runs Patroni 3.0.2, w1n2 custos

class CitusMixed : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = patroni_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
    if (!std::filesystem::exists("/usr/lib/postgresql/15/lib/citus.so"))
      GTEST_SKIP() << "Citus is not installed: bash ../shared/citus/install.sh installs it";
    ClusterOptions c;
    c.nodes = 1;
    c.scope = "citusmix";
    c.ttl = 20;
    c.loop_wait = 2;
    c.citus_group = 0;
    c.name_prefix = "c";
    // Patroni 3.0.2 creates the extension in citus.database without creating the database:
    // the clusters use `postgres`, as Patroni's own Citus tests do.
    c.citus_database = "postgres";
    coordinator_ = std::make_unique<TestCluster>(c);
    ClusterOptions w = c;
    w.nodes = 2;
    w.citus_group = 1;
    w.name_prefix = "w1n";
    w.etcd_of = coordinator_.get();
    worker_ = std::make_unique<TestCluster>(w);
    coordinator_->start_all();
    start_patroni(*worker_, kPatroniNode);
    ASSERT_EQ(worker_->wait_for_primary(120s), kPatroniNode);
    worker_->start_agent(1 - kPatroniNode);
    coordinator_->wait_for_primary(120s);
    worker_->wait_for_streaming(kPatroniNode, {1 - kPatroniNode}, 120s);
  }
  void TearDown() override {
    for (auto* g : {worker_.get(), coordinator_.get()}) {
      if (!g) continue;
      g->check_no_agent_died();
      if (HasFailure()) std::cerr << g->describe() << g->logs(80);
    }
    worker_.reset();
    coordinator_.reset();
  }

  // The port of group 1's primary row on the coordinator ("" when none).
  std::string registered_primary_port() {
    auto r = coordinator_->sql_value(
        0, "SELECT nodeport FROM pg_catalog.pg_dist_node WHERE groupid = 1 AND noderole = 'primary' "
           "AND nodename NOT LIKE '%-demoted'");
    return r.value_or("");
  }
  void wait_registered(int primary) {
    const std::string port = std::to_string(worker_->node(primary).pg_port);
    EXPECT_TRUE(e2e::eventually([&] { return registered_primary_port() == port; }, 30s))
        << "group 1 not registered with " << worker_->name(primary) << " (" << port << "): '"
        << registered_primary_port() << "'";
  }
  void switchover(int from) {
    ASSERT_TRUE(e2e::eventually([&] { return worker_->rest_status(1 - from, "/sync") == 200; }, 60s))
        << worker_->name(1 - from) << " never became the synchronous standby";
    auto r = rest(*worker_, from, "POST", "/switchover",
                  nlohmann::json{{"leader", worker_->name(from)}, {"candidate", worker_->name(1 - from)}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(worker_->wait_for_primary(90s), 1 - from);
  }

  std::unique_ptr<TestCluster> coordinator_, worker_;
};

TEST_F(CitusMixed, PatroniAndCustosWorkersSwitchOverUnderWritesThroughACustosCoordinator) {
  wait_registered(kPatroniNode);
  auto made = coordinator_->sql(0,
                                "CREATE TABLE public.d (id bigint PRIMARY KEY, v text);"
                                "SELECT create_distributed_table('public.d', 'id')",
                                {}, 60s);
  ASSERT_TRUE(made.ok) << made.error;
  e2e::InsertWriter writer(coordinator_->conninfo(0), "INSERT INTO public.d (id, v) VALUES ($1, 'x')");
  ASSERT_TRUE(e2e::eventually([&] { return writer.ok() > 20; }, 30s)) << writer.first_error();
  // Patroni -> custos, then custos -> Patroni.
  for (int from : {kPatroniNode, 1 - kPatroniNode}) {
    switchover(from);
    wait_registered(1 - from);
    const int64_t before = writer.ok();
    ASSERT_TRUE(e2e::eventually([&] { return writer.ok() > before + 20; }, 30s)) << writer.first_error();
  }
  writer.stop();
  std::printf("[  FIGURE  ] longest wait of one INSERT through the coordinator: %.2f s\n", writer.longest_wait());
  EXPECT_EQ(writer.failed(), 0) << writer.first_error();
  EXPECT_EQ(coordinator_->sql_value(0, "SELECT count(*) FROM public.d"), std::to_string(writer.ok()));
}

}  // namespace
}  // namespace custos::interop
