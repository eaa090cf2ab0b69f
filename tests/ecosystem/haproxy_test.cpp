// Debian's HAProxy in front of a live three-node custos cluster, configured as Patroni's
// documentation configures it (an `option httpchk OPTIONS /primary` listener for writes, one on
// /replica for reads, `on-marked-down shutdown-sessions`), the checks over https with a client
// certificate. A client writes through HAProxy every 20 ms through a switchover and a failover
// (kill -9 of the primary's agent and postmaster): every write that succeeds lands on the node
// that is the primary at that moment, the reads port only ever reaches replicas, and the error
// window of each event is measured and printed.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "ecosystem_support.h"

namespace custos::e2e {
namespace {

class HaproxyE2E : public ClusterFixture {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.scope = "hap";
    o.tls = true;
    make_cluster(o);
  }
};

TEST_F(HaproxyE2E, RoutesWritesToThePrimaryThroughSwitchoverAndFailover) {
  if (!std::filesystem::exists(kHaproxy)) GTEST_SKIP() << "haproxy not installed (scripts/install-deps.sh)";
  c().start_all();
  int p = c().wait_for_primary(150s);
  c().wait_for_streaming(p, others(p), 150s);
  ASSERT_TRUE(c().sql(p, "CREATE TABLE ha_writes (id bigint PRIMARY KEY)").ok);

  // Patroni's documented HAProxy configuration in front of the cluster.
  HaproxyListeners listeners = start_haproxy(c());
  test::ChildProcess& proxy = listeners.process;
  const int write_port = listeners.write_port, read_port = listeners.read_port;
  const std::string through_writes = with_port(c().conninfo(p), c().node(p).pg_port, write_port);
  const std::string through_reads = with_port(c().conninfo(p), c().node(p).pg_port, read_port);
  // Writes flow, to the primary.
  RecordingWriter writer(through_writes);
  eventually([&] {
    auto a = writer.attempts();
    return a.size() > 20 && a.back().server_port == c().node(p).pg_port;
  }, 30s);
  // Reads reach replicas only.
  for (int k = 0; k < 6; ++k) {
    postgres::PgConnection reader(through_reads);
    auto r = reader.query("SELECT pg_catalog.pg_is_in_recovery()");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->rows.at(0).at(0).value_or(""), "t") << "the /replica listener reached the primary";
  }

  // Switchover.
  const int q = others(p).front();
  const auto switch_at = SteadyClock::now();
  auto r = c().rest(p, "POST", "/switchover", nlohmann::json{{"leader", c().name(p)}, {"candidate", c().name(q)}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(c().wait_for_primary(60s), q);
  eventually([&] { return writer.attempts().back().server_port == c().node(q).pg_port; }, 30s);
  std::this_thread::sleep_for(1s);
  const double switchover_window = longest_gap(writer.attempts(), switch_at);
  report("HAProxy write outage during a switchover", switchover_window);

  // Failover: the primary's machine dies.
  c().wait_for_streaming(q, others(q), 60s);
  const auto fail_at = SteadyClock::now();
  c().kill_node(q);
  const int w = c().wait_for_primary(90s);
  ASSERT_NE(w, q);
  eventually([&] { return writer.attempts().back().server_port == c().node(w).pg_port; }, 60s);
  std::this_thread::sleep_for(1s);
  writer.stop();
  const double failover_window = longest_gap(writer.attempts(), fail_at);
  report("HAProxy write outage during a failover (kill -9 of agent and postmaster)", failover_window);

  // Every write that succeeded was taken by a primary: never a replica, and before the
  // switchover by p, between the two events by p or q, after by q or w.
  const auto attempts = writer.attempts();
  int ok = 0;
  for (const auto& a : attempts) {
    if (a.server_port == 0) continue;
    ++ok;
    const int by = a.server_port;
    if (a.at < switch_at) EXPECT_EQ(by, c().node(p).pg_port);
    else if (a.at < fail_at) EXPECT_TRUE(by == c().node(p).pg_port || by == c().node(q).pg_port);
    else EXPECT_TRUE(by == c().node(q).pg_port || by == c().node(w).pg_port);
  }
  EXPECT_GT(ok, 100);
  // The windows: a switchover costs a few seconds (the old primary's shutdown, HAProxy's two
  // failed checks at 500 ms); a failover waits for the lease (ttl 20) and the new primary.
  EXPECT_LT(switchover_window, 15.0);
  EXPECT_LT(failover_window, 40.0);
  proxy.stop();
}

}  // namespace
}  // namespace custos::e2e
