// Debian's pgbouncer in front of the primary (through HAProxy's /primary listener, as operators
// run it), transaction pooling, TLS with a client certificate to the servers. A client of
// pgbouncer writes every 20 ms on one connection (re-made only if it breaks) through a
// switchover: pgbouncer drops its server
// connections to the old primary and opens new ones to the new primary, and the client's writes
// resume on the new primary. The window is measured.
#include <gtest/gtest.h>

#include "ecosystem_support.h"

namespace custos::e2e {
namespace {

class PgbouncerE2E : public ClusterFixture {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.scope = "bouncer";
    o.tls = true;
    make_cluster(o);
  }
};

TEST_F(PgbouncerE2E, ReconnectsToTheNewPrimaryAfterASwitchover) {
  const std::string pgbouncer = "/usr/sbin/pgbouncer";
  if (!std::filesystem::exists(pgbouncer) || !std::filesystem::exists(kHaproxy))
    GTEST_SKIP() << "pgbouncer or haproxy not installed (scripts/install-deps.sh)";
  c().start_all();
  const int p = c().wait_for_primary(150s);
  c().wait_for_streaming(p, others(p), 150s);
  ASSERT_TRUE(c().sql(p, "CREATE TABLE ha_writes (id bigint PRIMARY KEY)").ok);
  HaproxyListeners listeners = start_haproxy(c());

  const std::string dir = c().dir() + "/pgbouncer";
  std::filesystem::create_directories(dir);
  const int port = test::free_port();
  const std::string password = c().options().superuser_password;
  std::ofstream(dir + "/userlist.txt") << "\"postgres\" \"" << password << "\"\n";
  {
    std::ofstream ini(dir + "/pgbouncer.ini");
    ini << "[databases]\npostgres = host=127.0.0.1 port=" << listeners.write_port << " dbname=postgres\n\n"
        << "[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = " << port << "\nunix_socket_dir =\n"
        << "auth_type = plain\nauth_file = " << dir << "/userlist.txt\npool_mode = transaction\n"
        << "server_login_retry = 1\nserver_connect_timeout = 3\nquery_wait_timeout = 60\n"
        << "server_tls_sslmode = verify-full\nserver_tls_ca_file = " << c().ca_file()
        << "\nserver_tls_cert_file = " << c().superuser_cert().cert_file
        << "\nserver_tls_key_file = " << c().superuser_cert().key_file << "\nlogfile = " << dir
        << "/pgbouncer.log\n";
  }
  test::SpawnOptions so;
  so.argv = {pgbouncer, dir + "/pgbouncer.ini"};
  so.output_file = dir + "/pgbouncer.out";
  test::ChildProcess bouncer(so);

  // One client connection, kept for the whole test.
  const std::string through = "host=127.0.0.1 port=" + std::to_string(port) +
                              " dbname=postgres user=postgres sslmode=disable password=" + password;
  RecordingWriter writer(through, /*keep_connection=*/true);
  ASSERT_TRUE(eventually([&] {
    auto a = writer.attempts();
    return a.size() > 20 && a.back().server_port == c().node(p).pg_port;
  }, 30s)) << test::run_command({"tail", "-n", "30", dir + "/pgbouncer.log"}).output;

  const int q = others(p).front();
  const auto switch_at = SteadyClock::now();
  auto r = c().rest(p, "POST", "/switchover", nlohmann::json{{"leader", c().name(p)}, {"candidate", c().name(q)}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(c().wait_for_primary(60s), q);
  ASSERT_TRUE(eventually([&] { return writer.attempts().back().server_port == c().node(q).pg_port; }, 30s))
      << test::run_command({"tail", "-n", "30", dir + "/pgbouncer.log"}).output;
  std::this_thread::sleep_for(1s);
  writer.stop();
  const double window = longest_gap(writer.attempts(), switch_at);
  report("pgbouncer (via HAProxy) write outage during a switchover", window);
  int failed = 0;
  for (const auto& a : writer.attempts()) failed += a.server_port == 0;
  std::printf("[  FIGURE  ] writes that failed during the switchover: %d\n", failed);
  // pgbouncer found the new primary by itself (its configuration names HAProxy only).
  EXPECT_LT(window, 15.0);
  bouncer.stop();
  listeners.process.stop();
}

}  // namespace
}  // namespace custos::e2e
