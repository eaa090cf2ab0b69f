// Integration tests of src/postgres against a real PostgreSQL 15 started by the tests.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "pg_cluster.h"
#include "config/yaml.h"
#include "postgres/config_generator.h"
#include "postgres/conninfo.h"
#include "postgres/controldata.h"
#include "postgres/lsn.h"
#include "postgres/pg_connection.h"
#include "postgres/slots.h"
#include "common/death_watcher.h"
#include "common/process.h"

using namespace custos;
using namespace custos::postgres;
using namespace custos::postgres::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {
long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}
}  // namespace

TEST(PostgresIntegration, InitdbStartConnectQuery) {
  PgCluster c("it-basic");
  ASSERT_NO_FATAL_FAILURE(c.init());
  // The original postgresql.conf was renamed once and is included by the generated one.
  EXPECT_TRUE(std::filesystem::exists(c.layout.base_conf_path()));
  struct stat st {};
  ASSERT_EQ(::stat(c.layout.conf_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_NO_FATAL_FAILURE(c.start_and_wait());
  EXPECT_TRUE(c.postmaster.is_running());
  auto pf = c.postmaster.read_pid_file();
  ASSERT_TRUE(pf);
  EXPECT_EQ(pf->pid, *c.postmaster.pid());
  EXPECT_EQ(pf->port, c.port);
  EXPECT_EQ(pf->socket_dir, c.socket_dir);
  EXPECT_EQ(pf->listen_addr, "127.0.0.1");
  EXPECT_EQ(pf->status, "ready");

  PgConnection conn(c.conninfo(), {.application_name = "custos-it"});
  auto r = conn.query("SELECT $1::int + 1 AS n, NULL::text AS nothing, current_setting('application_name'), "
                      "current_setting('cluster_name'), current_setting('max_connections'), "
                      "current_setting('wal_log_hints'), current_setting('fsync')",
                      {"41"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->columns[0], "n");
  EXPECT_EQ(r->rows[0][0], "42");
  EXPECT_FALSE(r->rows[0][1].has_value());
  EXPECT_EQ(r->rows[0][2], "custos-it");
  EXPECT_EQ(r->rows[0][3], "it-basic");
  EXPECT_EQ(r->rows[0][4], "25");
  EXPECT_EQ(r->rows[0][5], "on");
  EXPECT_EQ(r->rows[0][6], "off");  // from the generated postgresql.conf
  EXPECT_EQ(conn.server_version() / 10000, 15);

  // NULL parameters, DDL/DML command status, SQL errors keep the connection usable.
  ASSERT_TRUE(conn.query("CREATE TABLE t(id int, v text)").ok());
  auto ins = conn.query("INSERT INTO t VALUES ($1, $2), ($3, $4)", {"1", std::nullopt, "2", "it's"});
  ASSERT_TRUE(ins.ok()) << ins.error().message;
  EXPECT_EQ(ins->command_status, "INSERT 0 2");
  auto v = conn.query_value("SELECT v FROM t WHERE id = $1", {"2"});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v.value(), "it's");
  auto bad = conn.query("SELEC 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, PgError::Kind::QueryFailed);
  EXPECT_EQ(bad.error().sqlstate, "42601");
  int pid_before = conn.backend_pid();
  EXPECT_TRUE(conn.query("SELECT 1").ok());
  EXPECT_EQ(conn.backend_pid(), pid_before);

  // Wrong password: a connect failure, not an exception.
  PgConnection wrong(build_conninfo({{"host", "127.0.0.1"}, {"port", std::to_string(c.port)},
                                     {"user", "postgres"}, {"password", "nope"}, {"dbname", "postgres"}}));
  auto w = wrong.query("SELECT 1");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind, PgError::Kind::ConnectFailed);

  // pg_controldata of the running primary.
  auto cd = read_controldata(bin("pg_controldata"), c.data_dir);
  ASSERT_TRUE(cd.ok()) << cd.error();
  EXPECT_EQ(cd->cluster_state(), ClusterState::InProduction);
  EXPECT_EQ(cd->checkpoint_timeline(), 1);
  EXPECT_EQ(cd->max_connections(), 25);
  EXPECT_TRUE(cd->wal_log_hints());
  auto sysid = conn.query_value("SELECT system_identifier::text FROM pg_control_system()");
  ASSERT_TRUE(sysid.ok());
  EXPECT_EQ(cd->system_identifier(), *sysid.value());
  auto bad_cd = read_controldata(bin("pg_controldata"), c.root + "/nope");
  EXPECT_FALSE(bad_cd.ok());
}

TEST(PostgresIntegration, ConnectRefusedIsQuickAndReported) {
  int port = free_port();
  PgConnection conn(build_conninfo({{"host", "127.0.0.1"}, {"port", std::to_string(port)}, {"dbname", "x"}}),
                    {.connect_timeout = 2000ms});
  auto t0 = Clock::now();
  auto r = conn.query("SELECT 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, PgError::Kind::ConnectFailed);
  EXPECT_LT(ms_since(t0), 2000);
}

TEST(PostgresIntegration, QueryTimeoutCancelsAndConnectionRecovers) {
  PgCluster c("it-timeout");
  ASSERT_NO_FATAL_FAILURE(c.init());
  ASSERT_NO_FATAL_FAILURE(c.start_and_wait());
  PgConnection conn(c.conninfo());
  ASSERT_TRUE(conn.query("SELECT 1").ok());
  auto t0 = Clock::now();
  auto r = conn.query("SELECT pg_sleep(20)", {}, 300ms);
  auto took = ms_since(t0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, PgError::Kind::Timeout) << r.error().message;
  EXPECT_GE(took, 300);
  EXPECT_LT(took, 2000);
  // The server really cancelled it (no sleeping backend left behind) and the next call works.
  auto next = conn.query_value("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(20)%'");
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(*next.value(), "0");
}

TEST(PostgresIntegration, ReconnectsAfterBrokenConnection) {
  PgCluster c("it-reconnect");
  ASSERT_NO_FATAL_FAILURE(c.init());
  ASSERT_NO_FATAL_FAILURE(c.start_and_wait());
  PgConnection conn(c.conninfo()), killer(c.conninfo());
  ASSERT_TRUE(conn.query("SELECT 1").ok());
  int victim = conn.backend_pid();
  auto k = killer.query_value("SELECT pg_terminate_backend($1)", {std::to_string(victim)});
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(*k.value(), "t");
  std::this_thread::sleep_for(100ms);
  // The dead idle connection is noticed before sending: at most one call may fail.
  auto r1 = conn.query("SELECT 1");
  if (!r1.ok()) {
    EXPECT_EQ(r1.error().kind, PgError::Kind::ConnectionLost) << r1.error().message;
  }
  auto r2 = conn.query("SELECT 1");
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_NE(conn.backend_pid(), victim);

  // Across a server restart, too.
  ASSERT_EQ(c.postmaster.stop(StopMode::Fast, 20s), StopResult::Stopped);
  auto down = conn.query("SELECT 1");
  ASSERT_FALSE(down.ok());
  EXPECT_TRUE(down.error().kind == PgError::Kind::ConnectFailed ||
              down.error().kind == PgError::Kind::ConnectionLost);
  ASSERT_NO_FATAL_FAILURE(c.start_and_wait());
  auto up = conn.query("SELECT 1");
  ASSERT_TRUE(up.ok()) << up.error().message;
}

TEST(PostgresIntegration, StopInEachModeAndRestart) {
  PgCluster c("it-stop");
  ASSERT_NO_FATAL_FAILURE(c.init());
  for (StopMode mode : {StopMode::Smart, StopMode::Fast, StopMode::Immediate}) {
    SCOPED_TRACE(to_string(mode));
    ASSERT_NO_FATAL_FAILURE(c.start_and_wait());
    pid_t pid = *c.postmaster.pid();
    auto t0 = Clock::now();
    EXPECT_EQ(c.postmaster.stop(mode, 20s), StopResult::Stopped) << c.log();
    EXPECT_LT(ms_since(t0), 15000);
    EXPECT_FALSE(c.postmaster.is_running());
    EXPECT_FALSE(c.postmaster.pid());
    EXPECT_FALSE(process_alive(pid));
    EXPECT_FALSE(std::filesystem::exists(c.data_dir + "/postmaster.pid"));
    EXPECT_EQ(c.postmaster.readiness(), Readiness::Dead);
    EXPECT_EQ(c.postmaster.stop(mode, 1s), StopResult::NotRunning);
    auto cd = read_controldata(bin("pg_controldata"), c.data_dir);
    ASSERT_TRUE(cd.ok()) << cd.error();
    // Smart and fast leave a clean shutdown; immediate needs crash recovery at the next start.
    EXPECT_EQ(cd->cluster_state(), mode == StopMode::Immediate ? ClusterState::InProduction : ClusterState::ShutDown);
  }
  // After the immediate stop it comes back (crash recovery).
  ASSERT_NO_FATAL_FAILURE(c.start_and_wait());
  // A second start is refused while it runs.
  PostmasterOptions o;
  o.postgres_bin = bin("postgres");
  EXPECT_FALSE(c.postmaster.start(o).ok());
}

TEST(PostgresIntegration, AdoptRunningPostmasterFromFreshObject) {
  PgCluster c("it-adopt");
  ASSERT_NO_FATAL_FAILURE(c.init());
  ASSERT_NO_FATAL_FAILURE(c.start_and_wait());
  pid_t pid = *c.postmaster.pid();

  Postmaster fresh(c.data_dir);
  EXPECT_FALSE(fresh.is_running());
  ASSERT_TRUE(fresh.adopt());
  EXPECT_EQ(fresh.pid(), pid);
  EXPECT_TRUE(fresh.is_running());
  EXPECT_EQ(fresh.readiness(), Readiness::Ready);
  EXPECT_NEAR(static_cast<double>(fresh.start_time()), static_cast<double>(c.postmaster.read_pid_file()->start_time), 3);
  // Starting through the fresh object is refused: it is already running.
  PostmasterOptions o;
  o.postgres_bin = bin("postgres");
  EXPECT_FALSE(Postmaster(c.data_dir).start(o).ok());

  // Not adopted: another data dir, or a pid file naming a process that is not this postmaster.
  Postmaster other(c.root);
  EXPECT_FALSE(other.adopt());
  std::filesystem::create_directories(c.root + "/fake");
  {
    std::ofstream f(c.root + "/fake/postmaster.pid");
    f << ::getpid() << "\n" << c.root << "/fake\n" << ::time(nullptr) << "\n5432\n\n\n\nready   \n";
  }
  EXPECT_FALSE(Postmaster(c.root + "/fake").adopt());
  {
    std::ofstream f(c.root + "/fake/postmaster.pid");  // the real postmaster, wrong data dir
    f << pid << "\n" << c.root << "/fake\n" << ::time(nullptr) << "\n5432\n\n\n\nready   \n";
  }
  EXPECT_FALSE(Postmaster(c.root + "/fake").adopt());

  // The adopting object can stop it.
  EXPECT_EQ(fresh.stop(StopMode::Fast, 20s), StopResult::Stopped);
  EXPECT_FALSE(c.postmaster.is_running());
}

TEST(PostgresIntegration, DetectsPostmasterDeathWithinASecond) {
  PgCluster c("it-death");
  ASSERT_NO_FATAL_FAILURE(c.init());
  ASSERT_NO_FATAL_FAILURE(c.start_and_wait());
  pid_t pid = *c.postmaster.pid();
  auto children = process_children(pid);
  EXPECT_FALSE(children.empty());

  std::atomic<bool> died{false};
  std::atomic<long long> noticed_ms{-1};
  Clock::time_point killed_at;
  {
    custos::DeathWatcher watcher([&](pid_t) {
      noticed_ms = ms_since(killed_at);
      died = true;
    });
    watcher.watch(pid);
    std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(died.load());
    killed_at = Clock::now();
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    // The Postmaster object sees it too, through its own pidfd.
    EXPECT_TRUE(c.postmaster.wait_for_death(1s));
    EXPECT_LT(ms_since(killed_at), 1000);
    EXPECT_FALSE(c.postmaster.is_running());
    for (int i = 0; i < 100 && !died.load(); ++i) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(died.load());
  EXPECT_GE(noticed_ms.load(), 0);
  EXPECT_LT(noticed_ms.load(), 1000);
  std::printf("postmaster death noticed by DeathWatcher after %lld ms\n", noticed_ms.load());
  EXPECT_EQ(c.postmaster.readiness(), Readiness::Dead);
  // The stale pid file is not adopted.
  EXPECT_TRUE(std::filesystem::exists(c.data_dir + "/postmaster.pid"));
  EXPECT_FALSE(Postmaster(c.data_dir).adopt());

  // Orphaned backends exit on postmaster death; make sure, reap them, then restart.
  for (pid_t ch : children) ::kill(ch, SIGKILL);
  for (pid_t ch : children) EXPECT_TRUE(wait_for_exit(ch, 5s));
  reap_children();
  ASSERT_NO_FATAL_FAILURE(c.start_and_wait());
}

TEST(PostgresIntegration, StartFailureIsReportedAsDead) {
  PgCluster c("it-fail");
  ASSERT_NO_FATAL_FAILURE(c.init());
  ASSERT_NO_FATAL_FAILURE(c.start({{"shared_buffers", "not-a-size"}}));
  auto t0 = Clock::now();
  EXPECT_EQ(c.postmaster.wait_until_ready(10s), Readiness::Dead);
  EXPECT_LT(ms_since(t0), 5000);
  EXPECT_NE(c.log().find("shared_buffers"), std::string::npos) << c.log();
}

#include "postgres/basebackup.h"
#include "postgres/pgpass.h"
#include "postgres/server_status.h"

TEST(PostgresIntegration, BasebackupReplicaStreamsAndPromotes) {
  PgCluster primary("it-primary");
  ASSERT_NO_FATAL_FAILURE(primary.init());
  ASSERT_NO_FATAL_FAILURE(primary.start_and_wait());
  PgConnection pconn(primary.conninfo());
  ASSERT_TRUE(pconn.query("CREATE TABLE r(id int)").ok());
  ASSERT_TRUE(pconn.query("INSERT INTO r VALUES (1)").ok());

  PgCluster replica("it-replica");  // fresh temp dir, no initdb: cloned
  std::string pgpass = replica.root + "/pgpass";
  write_pgpass(pgpass, {{"127.0.0.1", std::to_string(primary.port), "postgres", "secret"}});
  BasebackupRequest b;
  b.pg_basebackup_bin = bin("pg_basebackup");
  b.data_dir = replica.data_dir;
  b.conninfo = build_conninfo({{"host", "127.0.0.1"}, {"port", std::to_string(primary.port)},
                               {"user", "postgres"}, {"dbname", "postgres"}});
  b.env = {{"PGPASSFILE", pgpass}};
  b.timeout = std::chrono::seconds(60);
  auto bb = run_basebackup(b);
  ASSERT_TRUE(bb.ok()) << bb.error();

  // Replica configuration: our postgresql.conf (the copied base conf stays), hba, recovery GUCs.
  RecoverySettings rs;
  rs.primary_conninfo = {{"user", "postgres"},          {"passfile", pgpass},
                         {"host", "127.0.0.1"},         {"port", std::to_string(primary.port)},
                         {"sslmode", "prefer"},         {"application_name", "it-replica"},
                         {"dbname", "postgres"},        {"gssencmode", "prefer"},
                         {"channel_binding", "prefer"}};
  write_postgresql_conf(replica.layout, replica.parameters, build_recovery_params(rs));
  write_pg_hba(replica.layout, {"local all all trust", "host all all 127.0.0.1/32 md5"});
  write_standby_signal(replica.data_dir);
  ASSERT_NO_FATAL_FAILURE(replica.start_and_wait());
  EXPECT_TRUE(replica.postmaster.read_pid_file()->accepting());

  PgConnection rconn(replica.conninfo());
  auto rs1 = query_server_status(rconn);
  ASSERT_TRUE(rs1.ok()) << rs1.error().message;
  EXPECT_TRUE(rs1->in_recovery);
  auto ps = query_server_status(pconn);
  ASSERT_TRUE(ps.ok()) << ps.error().message;
  EXPECT_FALSE(ps->in_recovery);
  EXPECT_EQ(ps->timeline, 1);
  ASSERT_TRUE(ps->flush_lsn);
  EXPECT_GT(*ps->flush_lsn, 0);
  EXPECT_EQ(ps->server_version / 10000, 15);

  // Rows written on the primary arrive on the replica.
  ASSERT_TRUE(pconn.query("INSERT INTO r SELECT generate_series(2, 100)").ok());
  std::optional<std::string> count;
  for (int i = 0; i < 100; ++i) {
    auto v = rconn.query_value("SELECT count(*) FROM r");
    if (v.ok() && v.value() == "100") {
      count = v.value();
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(count, "100");
  auto walsender = pconn.query_value("SELECT application_name FROM pg_stat_replication");
  ASSERT_TRUE(walsender.ok()) << walsender.error().message;
  EXPECT_EQ(*walsender.value(), "it-replica");
  auto rs2 = query_server_status(rconn);
  ASSERT_TRUE(rs2.ok());
  EXPECT_TRUE(rs2->receive_lsn.has_value());
  EXPECT_EQ(rs2->timeline, 1);
  EXPECT_GT(rs2->wal_position(), 0);

  // Promote: the replica leaves recovery on timeline 2.
  auto pr = promote_with_pg_ctl(bin("pg_ctl"), replica.data_dir);
  ASSERT_TRUE(pr.ok()) << pr.error();
  bool promoted = false;
  for (int i = 0; i < 100 && !promoted; ++i) {
    auto s = query_server_status(rconn);
    promoted = s.ok() && !s->in_recovery && s->timeline == 2;
    if (!promoted) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(promoted);
  EXPECT_TRUE(rconn.query("INSERT INTO r VALUES (101)").ok());
}

namespace custos::postgres::testing {
namespace {

// Physical slots on a real server: the expected ones are created, a permanent one is moved
// forward to the position published for it (never backwards, never under a consumer), unknown
// inactive ones are dropped, and the positions are read back.
// sync_slots with physical slots only: name -> LSN.
SlotChanges sync_physical(PgConnection& c, const std::map<std::string, int64_t>& expected, bool advance) {
  SlotSyncRequest req;
  req.advance = advance;
  for (const auto& [name, lsn] : expected) req.expected[name] = ExpectedSlot{false, "", "", lsn};
  return sync_slots([&](const std::string&) { return &c; }, req, std::chrono::seconds(10));
}

TEST(PostgresIntegration, PhysicalSlotsAreCreatedAdvancedAndDropped) {
  PgCluster pg("it-slots");
  ASSERT_NO_FATAL_FAILURE(pg.init());
  ASSERT_NO_FATAL_FAILURE(pg.start_and_wait());
  PgConnection c(pg.conninfo());
  ASSERT_TRUE(c.query("SELECT pg_catalog.pg_create_physical_replication_slot('stray', true)").ok());
  auto first = sync_physical(c, {{"n2", 0}, {"backup", 0}}, true);
  EXPECT_TRUE(first.errors.empty()) << first.errors.front();
  EXPECT_EQ(first.created, (std::vector<std::string>{"backup", "n2"}));
  EXPECT_EQ(first.dropped, (std::vector<std::string>{"stray"}));
  auto before = slot_positions(c, std::chrono::seconds(5));
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(before->count("backup"));
  // WAL moves on; the slot is moved to where the cluster says its consumer is.
  ASSERT_TRUE(c.query("CREATE TABLE t AS SELECT g FROM generate_series(1, 10000) g").ok());
  ASSERT_TRUE(c.query("SELECT pg_catalog.pg_switch_wal()").ok());
  auto now = c.query_value("SELECT pg_catalog.pg_current_wal_lsn()::text");
  ASSERT_TRUE(now.ok() && now.value());
  const int64_t target = parse_lsn(**now).value();
  ASSERT_GT(target, before->at("backup"));
  auto second = sync_physical(c, {{"n2", 0}, {"backup", target}}, true);
  EXPECT_TRUE(second.errors.empty()) << second.errors.front();
  ASSERT_EQ(second.advanced.size(), 1u);
  EXPECT_EQ(second.advanced[0].first, "backup");
  auto after = slot_positions(c, std::chrono::seconds(5));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->at("backup"), target);
  EXPECT_EQ(after->at("n2"), before->at("n2"));  // no position known: left alone
  // Never backwards; and not before PostgreSQL 11 (advance = false).
  auto third = sync_physical(c, {{"n2", 0}, {"backup", before->at("backup")}}, true);
  EXPECT_TRUE(third.advanced.empty());
  auto fourth = sync_physical(c, {{"n2", target}, {"backup", target}}, false);
  EXPECT_TRUE(fourth.advanced.empty());
}

// Logical slots on a real primary (wal_level logical): a permanent one is created in its own
// database with its plugin; a slot of another plugin is replaced; unknown slots are dropped
// unless an ignore_slots rule matches them or the cluster is paused; the state file of a
// logical slot can be read as the copy to a replica needs it.
TEST(PostgresIntegration, LogicalSlotsAreCreatedReplacedIgnoredAndReadForCopying) {
  PgCluster pg("it-logical");
  ASSERT_NO_FATAL_FAILURE(pg.init());
  ASSERT_NO_FATAL_FAILURE(pg.start_and_wait({{"wal_level", "logical"}}));
  PgConnection c(pg.conninfo());
  ASSERT_TRUE(c.query("CREATE DATABASE app").ok());
  PgConnection app(pg.conninfo() + " dbname=app");  // the later keyword wins
  auto connect = [&](const std::string& db) -> PgConnection* { return db == "app" ? &app : &c; };
  ASSERT_TRUE(app.query("SELECT pg_catalog.pg_create_logical_replication_slot('cdc', 'pgoutput')").ok());
  ASSERT_TRUE(app.query("SELECT pg_catalog.pg_create_logical_replication_slot('debezium_own', 'test_decoding')").ok());
  ASSERT_TRUE(app.query("SELECT pg_catalog.pg_create_logical_replication_slot('stray_logical', 'test_decoding')").ok());
  // A shard move slot Citus made for itself (spec/citus.md §7) in the Citus database: kept.
  ASSERT_TRUE(
      app.query("SELECT pg_catalog.pg_create_logical_replication_slot('citus_shard_move_slot_1_2_3', 'pgoutput')").ok());
  SlotSyncRequest req;
  req.primary = true;
  req.citus_database = "app";
  req.expected["cdc"] = ExpectedSlot{true, "app", "test_decoding", 0};
  req.expected["n2"] = ExpectedSlot{false, "", "", 0};
  req.ignore.push_back(SlotIgnoreRule{std::nullopt, "logical", "app", "test_decoding"});
  req.ignore.back().name = "debezium_own";
  auto kinds = [&] {
    std::map<std::string, std::string> out;
    auto r = c.query("SELECT slot_name, slot_type || ':' || COALESCE(database::text, '') || ':' || COALESCE(plugin::text, '') "
                     "FROM pg_catalog.pg_replication_slots");
    if (r)
      for (const auto& row : r->rows) out[*row[0]] = *row[1];
    return out;
  };
  // Paused: nothing unknown goes, the changed slot is still replaced, the missing ones made.
  req.drop_unknown = false;
  auto paused = sync_slots(connect, req, std::chrono::seconds(10));
  EXPECT_TRUE(paused.errors.empty()) << paused.errors.front();
  EXPECT_EQ(paused.dropped, (std::vector<std::string>{"cdc"}));
  EXPECT_EQ(kinds(), (std::map<std::string, std::string>{{"cdc", "logical:app:test_decoding"},
                                                          {"citus_shard_move_slot_1_2_3", "logical:app:pgoutput"},
                                                          {"debezium_own", "logical:app:test_decoding"},
                                                          {"n2", "physical::"},
                                                          {"stray_logical", "logical:app:test_decoding"}}));
  req.drop_unknown = true;
  auto second = sync_slots(connect, req, std::chrono::seconds(10));
  EXPECT_TRUE(second.errors.empty()) << second.errors.front();
  EXPECT_EQ(second.dropped, (std::vector<std::string>{"stray_logical"}));
  EXPECT_TRUE(second.created.empty());
  EXPECT_EQ(kinds().count("debezium_own"), 1u);  // matched by the ignore rule
  EXPECT_EQ(kinds().count("citus_shard_move_slot_1_2_3"), 1u);  // Citus's own
  // The rule matches on every attribute it names.
  EXPECT_FALSE(slot_is_ignored(ExistingSlot{"debezium_own", true, "app", "pgoutput"}, req.ignore));
  EXPECT_TRUE(slot_is_ignored(ExistingSlot{"debezium_own", true, "app", "test_decoding"}, req.ignore));
  // A primary does not move its logical slots: their consumers do.
  req.expected["cdc"].lsn = 0x7fffffff;
  EXPECT_TRUE(sync_slots(connect, req, std::chrono::seconds(10)).advanced.empty());
  // On a replica a missing logical slot with a published position is reported for copying.
  SlotSyncRequest replica_req = req;
  replica_req.primary = false;
  replica_req.expected["other"] = ExpectedSlot{true, "app", "test_decoding", 0x1000000};
  auto on_replica = sync_slots(connect, replica_req, std::chrono::seconds(10));
  EXPECT_EQ(on_replica.to_copy, (std::vector<std::string>{"other"}));
  auto files = read_logical_slot_files(c, {"cdc", "missing"}, std::chrono::seconds(10));
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ(files->at(0).database, "app");
  EXPECT_EQ(files->at(0).plugin, "test_decoding");
  EXPECT_GT(files->at(0).state.size(), 100u);  // the binary ReplicationSlotOnDisk
  const std::string target = pg.root + "/copy";
  std::filesystem::create_directories(target + "/pg_replslot");
  install_logical_slot_files(target, *files);
  std::ifstream in(target + "/pg_replslot/cdc/state", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes, files->at(0).state);
}

}  // namespace
}  // namespace custos::postgres::testing

// custos --generate-config reads a running server as Patroni 4.1's does.
TEST(PostgresIntegration, GenerateConfigReadsARunningServer) {
  PgCluster c("it-genconf");
  ASSERT_NO_FATAL_FAILURE(c.init());
  ASSERT_NO_FATAL_FAILURE(c.start_and_wait({{"cluster_name", "from-server"}, {"max_connections", "42"}}));
  GeneratorHost host;
  host.hostname = "db1";
  host.address = "10.1.2.3";
  bool asked = false;
  host.ask_password = [&asked] {
    asked = true;
    return std::string("secret");
  };
  auto text = generate_config_from_server(c.conninfo(), {}, host);
  ASSERT_TRUE(text) << text.error();
  auto parsed = config::parse_yaml(text.value());
  ASSERT_TRUE(parsed) << text.value();
  const auto& y = parsed.value();
  EXPECT_EQ(y["scope"], "from-server");
  EXPECT_EQ(y["postgresql"]["data_dir"], std::filesystem::canonical(c.data_dir).string());
  EXPECT_EQ(y["postgresql"]["listen"], "127.0.0.1:" + std::to_string(c.port));
  EXPECT_EQ(y["postgresql"]["connect_address"], "10.1.2.3:" + std::to_string(c.port));
  EXPECT_EQ(y["postgresql"]["authentication"]["superuser"]["username"], "postgres");
  EXPECT_EQ(y["postgresql"]["authentication"]["replication"]["username"], "#FIXME");
  EXPECT_EQ(y["bootstrap"]["dcs"]["postgresql"]["parameters"]["max_connections"], "42");
  EXPECT_TRUE(y["postgresql"]["parameters"].contains("hba_file")) << text.value();
  EXPECT_EQ(std::filesystem::path(y["postgresql"]["bin_dir"].get<std::string>()).filename(), "bin");
  EXPECT_TRUE(std::filesystem::exists(y["postgresql"]["bin_dir"].get<std::string>() + "/postgres"));
  // A role without superuser is refused with Patroni's message.
  PgConnection admin(c.conninfo());
  ASSERT_TRUE(admin.query("CREATE ROLE plain LOGIN PASSWORD 'pw'").ok());
  auto refused = generate_config_from_server(
      "host=127.0.0.1 port=" + std::to_string(c.port) + " dbname=postgres user=plain password=pw", {}, host);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), "The provided user does not have superuser privilege");
}
