// Migrating from Patroni, as README.md "Migrating from Patroni" tells an operator to: a running
// three-node Patroni 3.0.2 cluster (Debian's) behind HAProxy, with a client writing through it
// every 20 ms, has its nodes replaced one at a time by custos started with the same
// configuration file: the replicas first (stop Patroni, start custos), then the primary after a
// switchover to a custos node. Writes never stop for longer than that switchover, every
// acknowledged row is on the final primary, and the way back (a custos node replaced by Patroni
// again) works the same.
#include <gtest/gtest.h>

#include <algorithm>

#include "ecosystem_support.h"
#include "patroni_tools.h"

namespace custos::interop {
namespace {

using e2e::ClusterOptions;
using e2e::TestCluster;
using namespace std::chrono_literals;

std::vector<int> others_of(const TestCluster& c, int i) {
  std::vector<int> out;
  for (int j = 0; j < c.size(); ++j)
    if (j != i) out.push_back(j);
  return out;
}

TEST(RollingMigration, PatroniNodesAreReplacedOneAtATimeWithNoOutageBeyondASwitchover) {
  if (std::string why = patroni_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  if (!std::filesystem::exists(e2e::kHaproxy)) GTEST_SKIP() << "haproxy not installed (scripts/install-deps.sh)";
  ClusterOptions o;
  o.nodes = 3;
  o.scope = "migrate";
  o.ttl = 20;
  o.loop_wait = 2;
  o.retry_timeout = 5;
  TestCluster c(o);
  struct Dump {
    TestCluster& c;
    ~Dump() {
      if (::testing::Test::HasFailure()) std::cerr << c.describe() << c.logs(60);
    }
  } dump{c};

  // A Patroni cluster in production: three nodes, HAProxy, a writing client.
  for (int i = 0; i < c.size(); ++i) start_patroni(c, i);
  const int p = c.wait_for_primary(120s);
  c.wait_for_streaming(p, others_of(c, p), 120s);
  ASSERT_TRUE(c.sql(p, "CREATE TABLE ha_writes (id bigint PRIMARY KEY)").ok);
  e2e::HaproxyListeners haproxy = e2e::start_haproxy(c);
  const std::string through = e2e::with_port(c.conninfo(p), c.node(p).pg_port, haproxy.write_port);
  e2e::RecordingWriter writer(through);
  ASSERT_TRUE(e2e::eventually([&] { return writer.attempts().size() > 20; }, 30s));
  const auto started = e2e::SteadyClock::now();

  // The replicas, one at a time: stop Patroni (it stops its PostgreSQL), start custos with the
  // same file; the node is back streaming before the next one goes.
  for (int r : others_of(c, p)) {
    c.sigterm_agent(r);
    ASSERT_TRUE(c.wait_agent_exit(r, 60s)) << "Patroni " << c.name(r) << " did not stop";
    c.start_agent(r);
    c.wait_for_streaming(p, {r}, 120s);
    std::cout << "replica " << c.name(r) << " now runs custos\n";
  }
  const double replicas_window = e2e::longest_gap(writer.attempts(), started);
  e2e::report("longest write gap while the replicas were replaced", replicas_window);

  // The primary: a switchover to a custos node (through Patroni's REST API, as patronictl
  // does), then the old primary is replaced too.
  const int q = others_of(c, p).front();
  const auto switch_at = e2e::SteadyClock::now();
  auto sw = rest(c, p, "POST", "/switchover", nlohmann::json{{"leader", c.name(p)}, {"candidate", c.name(q)}}.dump(), 60s);
  ASSERT_EQ(sw.status, 200) << sw.body;
  wait_for_leader(c, c.name(q), 90s);
  c.sigterm_agent(p);
  ASSERT_TRUE(c.wait_agent_exit(p, 60s)) << "Patroni " << c.name(p) << " did not stop";
  c.start_agent(p);
  c.wait_for_streaming(q, others_of(c, q), 120s);
  ASSERT_TRUE(e2e::eventually([&] { return writer.attempts().back().server_port == c.node(q).pg_port; }, 30s));
  std::this_thread::sleep_for(1s);
  const double switchover_window = e2e::longest_gap(writer.attempts(), switch_at);
  e2e::report("longest write gap across the switchover and the old primary's replacement", switchover_window);

  // And back: one custos replica returns to Patroni with the same file.
  const int back = others_of(c, q).front();
  c.sigterm_agent(back);
  ASSERT_TRUE(c.wait_agent_exit(back, 60s));
  start_patroni(c, back);
  c.wait_for_streaming(q, {back}, 120s);
  std::this_thread::sleep_for(1s);
  writer.stop();

  // No write outage beyond the switchover's; nothing acknowledged is lost; no write on a replica.
  EXPECT_LT(replicas_window, 3.0) << "replacing replicas interrupted the writes";
  EXPECT_LT(switchover_window, 15.0);
  const auto attempts = writer.attempts();
  std::string ids;
  int64_t ok = 0;
  for (const auto& a : attempts) {
    if (a.server_port == 0) continue;
    ++ok;
    ids += (ids.empty() ? "" : ",") + std::to_string(a.id);
  }
  ASSERT_GT(ok, 100);
  auto present = c.sql_value(q, "SELECT count(*) FROM ha_writes WHERE id IN (" + ids + ")");
  ASSERT_TRUE(present);
  EXPECT_EQ(std::stoll(*present), ok) << "acknowledged rows are missing on the final primary";
  // The cluster as patronictl 3.0.2 sees it: one leader, three members.
  auto l = patronictl_list(c);
  EXPECT_EQ(l.error, "");
  EXPECT_EQ(l.leader(), c.name(q));
  haproxy.process.stop();
}

}  // namespace
}  // namespace custos::interop
