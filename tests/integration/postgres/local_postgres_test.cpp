// LocalPostgres (the real PostgresNode) against a real PostgreSQL 15: a status call answers at
// once while a stop waits on a postmaster that will not stop; the data directory is never moved
// from under a live postmaster; the roles of a new cluster survive names and passwords that need
// quoting (libpq escaping); follow() rewrites the recovery configuration only when it changes,
// also with another thread rewriting the configuration at the same time; a replica with its WAL
// in a directory of its own can be cloned again and moved aside.
#include "postgres/local_postgres.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "child_process.h"
#include "pg_cluster.h"
#include "postgres/conninfo.h"
#include "postgres/pg_connection.h"
#include "mpp/citus_settings.h"

namespace custos::postgres::testing {
namespace {

using namespace std::chrono_literals;

// Settings of a node whose data directory is under `root` (initdb by LocalPostgres::bootstrap).
NodeSettings node_settings(const std::string& root, int port) {
  NodeSettings s;
  s.name = "node1";
  s.scope = "it";
  s.slot_name = "node1";
  s.data_dir = root + "/data";
  s.config_dir = s.data_dir;
  s.pgpass = root + "/pgpass";
  s.postgres = bin("postgres");
  s.pg_ctl = bin("pg_ctl");
  s.initdb = bin("initdb");
  s.pg_controldata = bin("pg_controldata");
  s.pg_basebackup = bin("pg_basebackup");
  s.pg_rewind = bin("pg_rewind");
  s.pg_isready = bin("pg_isready");
  s.listen = {"127.0.0.1", port};
  s.connect_address = s.listen;
  s.superuser = {"postgres", std::string("secret"), {}};
  s.replication = {"replicator", std::string("rep-secret"), {}};
  s.command_line = {{"listen_addresses", "127.0.0.1"}, {"port", std::to_string(port)}, {"wal_level", "replica"},
                    {"hot_standby", "on"}, {"max_connections", "20"}, {"max_wal_senders", "5"},
                    {"max_replication_slots", "5"}, {"wal_log_hints", "on"}};
  s.conf_parameters = {{"unix_socket_directories", root}, {"fsync", "off"}, {"shared_buffers", "16MB"}};
  s.initdb_options = nlohmann::json::array({{{"encoding", "UTF8"}}, {{"locale", "C"}}, {{"auth-local", "trust"}}});
  s.bootstrap_pg_hba = {"host all all 127.0.0.1/32 md5", "host replication all 127.0.0.1/32 md5"};
  s.pg_ctl_timeout = 30;
  return s;
}

class LocalPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root = custos::test::make_temp_dir("custos-localpg");
    port = free_port();
    pg = std::make_unique<LocalPostgres>(node_settings(root, port), system_process_runner());
  }
  void TearDown() override {
    if (pg) pg->stop(StopMode::Immediate, 10s);
    pg.reset();
    reap_children();
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  void bootstrap() {
    auto st = pg->bootstrap(CancelToken());
    ASSERT_TRUE(st) << st.error();
    ASSERT_EQ(pg->process_state(), ServerProcess::running);
  }

  std::string root;
  int port = 0;
  std::unique_ptr<LocalPostgres> pg;
};

TEST_F(LocalPostgresTest, StatusCallsAnswerWhileAStopWaitsOnAPostmasterThatWillNotStop) {
  bootstrap();
  const auto pid = pg->postmaster_pid();
  ASSERT_TRUE(pid);
  // A stopped process cannot act on SIGINT or SIGQUIT: the stop escalates to SIGKILL.
  ASSERT_EQ(::kill(*pid, SIGSTOP), 0);
  std::atomic<bool> stop_done{false};
  bool stopped = false;
  std::thread stopper([&] {
    stopped = pg->stop(StopMode::Fast, 1500ms);
    stop_done = true;
  });
  std::this_thread::sleep_for(300ms);
  int answered_during_stop = 0;
  for (int i = 0; i < 5; ++i) {
    const auto p = pg->postmaster_pid();
    const auto state = pg->process_state();
    (void)state;
    if (!stop_done.load() && p == pid) ++answered_during_stop;
    std::this_thread::sleep_for(100ms);
  }
  stopper.join();
  EXPECT_EQ(answered_during_stop, 5) << "status calls waited for the stop";
  EXPECT_TRUE(stopped);
  EXPECT_FALSE(pg->postmaster_pid());
  EXPECT_EQ(pg->process_state(), ServerProcess::stopped);
}

TEST_F(LocalPostgresTest, TheDataDirectoryIsNeverMovedFromUnderALivePostmaster) {
  bootstrap();
  auto moved = pg->move_data_dir_aside("test");
  ASSERT_FALSE(moved);
  EXPECT_NE(moved.error().find("still running"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(root + "/data/PG_VERSION"));
  ASSERT_TRUE(pg->stop(StopMode::Fast, 20s));
  moved = pg->move_data_dir_aside("test");
  ASSERT_TRUE(moved) << moved.error();
  EXPECT_TRUE(std::filesystem::exists(moved.value() + "/PG_VERSION"));
  EXPECT_FALSE(std::filesystem::exists(root + "/data"));
}

TEST_F(LocalPostgresTest, RolesWithNamesAndPasswordsThatNeedQuoting) {
  NodeSettings s = node_settings(root, port);
  s.replication = {"repl\"icator'x$custos$", std::string("pa'ss\\word\"$custos$; DROP ROLE postgres; --"), {}};
  s.rewind = {"re wind", std::string("it's"), {}};
  s.has_rewind_user = true;
  pg->set_settings(s);
  bootstrap();
  auto st = pg->post_bootstrap();
  ASSERT_TRUE(st) << st.error();
  PgConnection conn("host=127.0.0.1 port=" + std::to_string(port) + " user=postgres password=secret dbname=postgres");
  auto roles = conn.query("SELECT rolname, rolreplication::text FROM pg_roles WHERE rolname IN ($1, $2) ORDER BY 1",
                          {s.replication.username, s.rewind.username});
  ASSERT_TRUE(roles) << roles.error().message;
  ASSERT_EQ(roles->rows.size(), 2u);
  EXPECT_EQ(*roles->rows[0][0], "re wind");
  EXPECT_EQ(*roles->rows[1][0], "repl\"icator'x$custos$");
  EXPECT_EQ(*roles->rows[1][1], "true");
  // The replication role logs in with its password, as written.
  PgConnection as_repl(build_conninfo({{"host", "127.0.0.1"},
                                       {"port", std::to_string(port)},
                                       {"user", s.replication.username},
                                       {"password", *s.replication.password},
                                       {"dbname", "postgres"}}));
  EXPECT_TRUE(as_repl.query("SELECT 1")) << "replication role cannot log in";
  // The rewind role got EXECUTE on the functions pg_rewind calls.
  auto grant = conn.query_value("SELECT has_function_privilege($1, 'pg_catalog.pg_read_binary_file(text)', 'EXECUTE')::text",
                                {s.rewind.username});
  ASSERT_TRUE(grant) << grant.error().message;
  EXPECT_EQ(*grant.value(), "true");
  EXPECT_TRUE(conn.query_value("SELECT 1 FROM pg_roles WHERE rolname = 'postgres'").value().has_value());
}

TEST_F(LocalPostgresTest, AReloadLeavesNoRestartPendingForCommandLineParameters) {
  // The server runs with --max_connections=20 while initdb wrote 100 into postgresql.base.conf:
  // postgresql.conf must carry the command-line values as Patroni's does, or every reload
  // leaves "pending_restart" set.
  bootstrap();
  ASSERT_TRUE(pg->rewrite_configuration());
  ASSERT_TRUE(pg->reload());
  PgConnection conn("host=127.0.0.1 port=" + std::to_string(port) + " user=postgres password=secret dbname=postgres");
  std::optional<std::string> pending;
  for (int i = 0; i < 50; ++i) {  // the postmaster applies SIGHUP asynchronously
    auto v = conn.query_value("SELECT string_agg(name, ',') FROM pg_settings WHERE pending_restart");
    ASSERT_TRUE(v) << v.error().message;
    pending = v.value();
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_FALSE(pending.has_value()) << *pending;
  auto mc = conn.query_value("SHOW max_connections");
  ASSERT_TRUE(mc);
  EXPECT_EQ(*mc.value(), "20");
}

TEST_F(LocalPostgresTest, FollowRewritesTheRecoveryConfigurationOnlyWhenItChanges) {
  bootstrap();
  ASSERT_TRUE(pg->stop(StopMode::Fast, 20s));
  const Upstream a{"a", "127.0.0.2", 5432};
  const Upstream b{"b", "127.0.0.3", 5433};
  ASSERT_TRUE(pg->start(true, a));
  ASSERT_EQ(pg->wait_ready(20s, CancelToken()), ServerProcess::running);
  auto f = pg->follow(a);
  ASSERT_TRUE(f) << f.error();
  EXPECT_EQ(f.value(), FollowOutcome::unchanged);
  // Another thread rewrites the configuration (a parameter change) while the target changes.
  std::atomic<bool> done{false};
  std::thread rewriter([&] {
    while (!done) {
      auto st = pg->rewrite_configuration();
      ASSERT_TRUE(st) << st.error();
    }
  });
  for (int i = 0; i < 50; ++i) {
    auto r = pg->follow(i % 2 ? a : b);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r.value(), FollowOutcome::reconfigured);
  }
  done = true;
  rewriter.join();
  EXPECT_EQ(pg->follow(a).value(), FollowOutcome::unchanged);  // the last one was a
  std::ifstream conf(root + "/data/postgresql.conf");
  std::stringstream text;
  text << conf.rdbuf();
  EXPECT_NE(text.str().find("host=127.0.0.2"), std::string::npos) << text.str();
  EXPECT_EQ(text.str().find("host=127.0.0.3"), std::string::npos) << text.str();
}

// A replica whose WAL lives in a directory of its own (basebackup --waldir, a separate volume
// in production) is built with pg_basebackup, then built again as a reinitialize does: the
// second clone must find the WAL directory gone with the old data directory, since
// pg_basebackup refuses a non-empty --waldir. A bootstrap that failed and was moved aside
// (<data_dir>.failed, as the agent does) takes its WAL directory along too, so initdb --waldir
// can run again.
TEST_F(LocalPostgresTest, AReplicaWithItsWalElsewhereCanBeClonedAgainAndMovedAside) {
  bootstrap();
  ASSERT_TRUE(pg->post_bootstrap());
  const std::string replica_root = custos::test::make_temp_dir("custos-localpg-replica");
  const int replica_port = free_port();
  NodeSettings rs = node_settings(replica_root, replica_port);
  rs.name = "node2";
  rs.slot_name = "node2";
  rs.basebackup_options = nlohmann::json::array({{{"waldir", replica_root + "/wal"}}, {{"checkpoint", "fast"}}});
  auto replica = std::make_unique<LocalPostgres>(rs, system_process_runner());
  const Upstream primary{"node1", "127.0.0.1", port};
  // Whatever way the test ends, the replica's postmaster is stopped and its files removed.
  struct Cleanup {
    std::unique_ptr<LocalPostgres>& pg;
    std::string root;
    ~Cleanup() {
      if (pg) pg->stop(StopMode::Immediate, 10s);
      pg.reset();
      std::error_code ec;
      std::filesystem::remove_all(root, ec);
    }
  } cleanup{replica, replica_root};
  for (int round = 1; round <= 2; ++round) {
    SCOPED_TRACE("clone " + std::to_string(round));
    auto st = replica->clone(primary, CancelToken(), PostgresNode::CloneMethods::kConfigured);
    ASSERT_TRUE(st) << st.error();
    EXPECT_EQ(replica->wait_ready(30s, CancelToken()), ServerProcess::running);
    EXPECT_TRUE(std::filesystem::is_symlink(replica_root + "/data/pg_wal"));
    ASSERT_TRUE(replica->stop(StopMode::Fast, 20s));
  }
  auto moved = replica->move_data_dir_aside("failed");
  ASSERT_TRUE(moved) << moved.error();
  EXPECT_FALSE(std::filesystem::exists(replica_root + "/wal"));
  EXPECT_TRUE(std::filesystem::exists(replica_root + "/wal.failed"));
  EXPECT_TRUE(std::filesystem::exists(moved.value() + "/pg_wal/"));  // the link follows its directory
  // ... so a bootstrap into the same places works again.
  rs.initdb_options = nlohmann::json::array({{{"waldir", replica_root + "/wal"}}, {{"auth-local", "trust"}}});
  replica->set_settings(rs);
  auto boot = replica->bootstrap(CancelToken());
  EXPECT_TRUE(boot) << (boot ? "" : boot.error());
}

}  // namespace
}  // namespace custos::postgres::testing

namespace custos::postgres::testing {
namespace {

// spec/citus.md §3-§4 on real Citus (../shared/citus, installed by scripts/test.sh): the forced
// settings let PostgreSQL start with the extension loaded; post_bootstrap creates the database
// and the extension, stores the superuser's password for node-to-node connections and registers
// the coordinator with its own address.
TEST_F(LocalPostgresTest, ACitusCoordinatorIsBootstrappedAsPatroniDoes) {
  if (!std::filesystem::exists("/usr/lib/postgresql/15/lib/citus.so"))
    GTEST_SKIP() << "Citus is not installed (scripts/test.sh installs it from ../shared/citus when present)";
  NodeSettings s = node_settings(root, port);
  s.citus = NodeSettings::Citus{0, "citus db"};
  s.connect_address = {"127.0.0.1", port};
  mpp::apply_citus_settings(s);
  pg->set_settings(s);
  bootstrap();
  auto st = pg->post_bootstrap();
  ASSERT_TRUE(st) << st.error();
  PgConnection conn(build_conninfo({{"host", "127.0.0.1"}, {"port", std::to_string(port)}, {"user", "postgres"},
                                    {"password", "secret"}, {"dbname", "citus db"}}));
  auto value = [&](const std::string& sql) -> std::string {
    auto r = conn.query_value(sql);
    if (!r) return "(error: " + r.error().message + ")";
    return r.value().value_or("(null)");
  };
  EXPECT_EQ(value("SELECT pg_catalog.citus_version()").rfind("Citus 13", 0), 0u) << value("SELECT 1");
  EXPECT_EQ(value("SHOW shared_preload_libraries").rfind("citus", 0), 0u);
  EXPECT_EQ(value("SELECT authinfo FROM pg_catalog.pg_dist_authinfo WHERE nodeid = 0"), "password='secret'");
  EXPECT_EQ(value("SELECT nodename || ':' || nodeport FROM pg_catalog.pg_dist_node "
                  "WHERE groupid = 0 AND noderole = 'primary'"),
            "127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(value("SHOW wal_level"), "logical");
}

}  // namespace
}  // namespace custos::postgres::testing
