// End-to-end tests with Debian's real pgBackRest (issue 13 point 4): a repository in the test's
// temp dir, WAL archived into it by `archive-push` (the primary's archive_command), a stanza
// and a full backup made by the test; then
//   - a NEW cluster bootstrapped from that backup by `bootstrap.method: pgbackrest` in the form
//     Patroni's documentation gives (no_params, keep_existing_recovery_conf: pgBackRest's own
//     restore_command and recovery.signal recover it to the end of the archive);
//   - a replica built from the repository by `postgresql.create_replica_methods: [pgbackrest,
//     basebackup]` (`--delta restore`, keep_data, no_params), which then streams from the primary.
// Each node has its own pgbackrest.conf (as each host would): the shared repository, its own
// PostgreSQL (pg1-path, pg1-port, pg1-socket-path), and lock / log paths of its own.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_cluster.h"

namespace custos::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const char* kPgBackRest = "/usr/bin/pgbackrest";
const char* kStanza = "e2e-pgbr";

// Where node `node` of a cluster in `dir` keeps its pgbackrest.conf; usable before the cluster
// exists as "{dir}" / "{node}" placeholders of the ClusterOptions YAML.
std::string conf_path(const std::string& dir, const std::string& node) {
  return dir + "/pgbackrest-" + node + ".conf";
}

// "/usr/bin/pgbackrest --config=<this node's conf> --stanza=<stanza>" in ClusterOptions YAML.
std::string pgbackrest_yaml_prefix() {
  return std::string(kPgBackRest) + " --config=" + conf_path("{dir}", "{node}") + " --stanza=" + kStanza;
}

// Writes node i's pgbackrest.conf: the repository `repo`, the node's PostgreSQL, lock and log
// paths under the cluster's dir (pgBackRest does not create a missing log path).
void write_pgbackrest_conf(TestCluster& c, int i, const std::string& repo) {
  const Node& n = c.node(i);
  const std::string own = c.dir() + "/pgbackrest/" + n.name;
  fs::create_directories(own + "/lock");
  fs::create_directories(own + "/log");
  std::ofstream out(conf_path(c.dir(), n.name));
  out << "[global]\n"
      << "repo1-path=" << repo << "\n"
      << "lock-path=" << own << "/lock\n"
      << "log-path=" << own << "/log\n"
      << "log-level-file=detail\n"
      << "start-fast=y\n"
      << "archive-timeout=90\n"
      << "\n[" << kStanza << "]\n"
      << "pg1-path=" << n.data_dir << "\n"
      << "pg1-port=" << n.pg_port << "\n"
      << "pg1-socket-path=" << n.dir << "\n";
  if (!out) throw std::runtime_error("cannot write " + conf_path(c.dir(), n.name));
}

// pgbackrest with node i's configuration and the stanza.
test::RunResult pgbackrest(TestCluster& c, int i, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kPgBackRest, "--config=" + conf_path(c.dir(), c.name(i)),
                                   std::string("--stanza=") + kStanza};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run_command(argv, 240s);
}

// Every node archives its WAL with pgBackRest (only the primary's archive_command runs).
ClusterOptions archiving_to_pgbackrest(const std::string& scope, int nodes) {
  ClusterOptions o;
  o.nodes = nodes;
  o.scope = scope;
  o.archive_command = pgbackrest_yaml_prefix() + " archive-push %p";
  return o;
}

std::optional<std::string> system_identifier(TestCluster& c, int i) {
  return c.sql_value(i, "SELECT system_identifier::text FROM pg_control_system()");
}

void require_pgbackrest() {
  const test::RunResult v = test::run_command({kPgBackRest, "version"}, 20s);
  ASSERT_EQ(v.exit_code, 0) << "pgbackrest is missing (scripts/install-deps.sh installs it): " << v.output;
}

// The source cluster: one primary archiving to a repository in its temp dir, the stanza made,
// a table in the backup, a full backup, then a table only the archived WAL has.
void prepare_source(TestCluster& src) {
  write_pgbackrest_conf(src, 0, src.dir() + "/repo");
  src.start_agent(0);
  ASSERT_EQ(src.wait_for_primary(150s), 0);
  test::RunResult r = pgbackrest(src, 0, {"stanza-create"});
  ASSERT_EQ(r.exit_code, 0) << r.output << src.logs();
  ASSERT_TRUE(src.sql(0, "CREATE TABLE in_backup AS SELECT 1 AS x").ok);
  r = pgbackrest(src, 0, {"--type=full", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.output << src.logs();
  r = pgbackrest(src, 0, {"info"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_NE(r.output.find("full backup"), std::string::npos) << r.output;
  // Written after the backup: only the archived WAL has it.
  ASSERT_TRUE(src.sql(0, "CREATE TABLE after_backup AS SELECT 2 AS x").ok);
  ASSERT_TRUE(src.wal_archived(0, 90s)) << src.describe();
}

// A backup of a custos cluster restored into a new custos cluster by bootstrap.method, as
// Patroni's documentation configures it: pgBackRest's restore writes restore_command (to
// postgresql.auto.conf) and recovery.signal, which keep_existing_recovery_conf keeps; PostgreSQL
// replays the archive to its end and promotes. An initdb'd cluster would lack both tables, and
// a cluster that lost pgBackRest's recovery settings would lack after_backup.
TEST(PgBackRestE2E, ANewClusterIsBootstrappedFromAPgBackRestBackup) {
  require_pgbackrest();
  if (HasFatalFailure()) return;
  TestCluster src(archiving_to_pgbackrest("e2e-pgbr-src", 1));
  prepare_source(src);
  if (HasFatalFailure()) return;

  ClusterOptions o;
  o.nodes = 2;
  o.scope = "e2e-pgbr-new";
  o.etcd_of = &src;
  // The source node's configuration (its repository), the restore aimed at this node's data
  // directory.
  o.bootstrap_yaml =
      "  method: pgbackrest\n"
      "  pgbackrest:\n"
      "    command: " + std::string(kPgBackRest) + " --config=" + conf_path(src.dir(), src.name(0)) +
      " --stanza=" + kStanza + " restore --pg1-path={dir}/{node}/data\n"
      "    keep_existing_recovery_conf: true\n"
      "    no_params: true\n";
  TestCluster c(o);
  ASSERT_EQ(c.node(0).data_dir, c.dir() + "/n1/data");
  c.start_agent(0);
  ASSERT_EQ(c.wait_for_primary(180s), 0) << c.logs();
  EXPECT_EQ(c.sql_value(0, "SELECT x FROM in_backup"), std::optional<std::string>("1"));
  EXPECT_EQ(c.sql_value(0, "SELECT x FROM after_backup"), std::optional<std::string>("2"));  // replayed
  // The very cluster of the backup (not a new initdb), promoted to a timeline of its own.
  ASSERT_TRUE(system_identifier(src, 0).has_value());
  EXPECT_EQ(system_identifier(c, 0), system_identifier(src, 0));
  auto wal = c.sql_value(0, "SELECT pg_walfile_name(pg_current_wal_lsn())");
  ASSERT_TRUE(wal && wal->size() == 24) << wal.value_or("none");
  EXPECT_GT(std::stoul(wal->substr(0, 8), nullptr, 16), 1UL) << *wal;
  const std::string log = read_file(c.node(0).log_file);
  EXPECT_NE(log.find("Running custom bootstrap script: " + std::string(kPgBackRest)), std::string::npos) << c.logs(40);
  // pgBackRest's restore of the source's stanza ran (its log in the source node's log path).
  EXPECT_TRUE(fs::exists(src.dir() + "/pgbackrest/n1/log/" + std::string(kStanza) + "-restore.log"));
  // A writable primary whose recovery settings are gone, registered as initialized.
  ASSERT_TRUE(c.sql(0, "INSERT INTO in_backup VALUES (3)").ok);
  EXPECT_EQ(c.sql_value(0, "SELECT count(*) FROM in_backup"), std::optional<std::string>("2"));
  EXPECT_EQ(c.sql_value(0, "SELECT pg_is_in_recovery()"), std::optional<std::string>("f"));
  EXPECT_EQ(c.sql_value(0, "SELECT setting FROM pg_settings WHERE name = 'restore_command'"),
            std::optional<std::string>(""));
  EXPECT_FALSE(fs::exists(c.node(0).data_dir + "/recovery.signal"));
  EXPECT_TRUE(c.get_key("initialize").has_value());
  // The other node joins the restored cluster as a replica (basebackup from its primary).
  c.start_agent(1);
  c.wait_for_streaming(0, {1}, 150s);
  EXPECT_TRUE(eventually([&] { return c.sql_value(1, "SELECT count(*) FROM in_backup") == std::optional<std::string>("2"); },
                         30s));
  // The source is untouched and still the primary of its own cluster.
  EXPECT_EQ(src.is_primary_sql(0), std::optional<bool>(true));
  c.check_no_agent_died();
  src.check_no_agent_died();
}

// A replica made from the repository by the pgbackrest replica method (Patroni's documented
// form: --delta restore, keep_data, no_params), ahead of basebackup; custos then writes its own
// standby configuration and the replica streams from the primary. A replica made by basebackup
// (the method missing or failing) would not log "replica has been created using pgbackrest",
// nor leave pgBackRest's restore log.
TEST(PgBackRestE2E, AReplicaIsCreatedFromThePgBackRestRepositoryAndThenStreams) {
  require_pgbackrest();
  if (HasFatalFailure()) return;
  ClusterOptions o = archiving_to_pgbackrest("e2e-pgbr-rep", 2);
  o.postgresql_yaml =
      "  create_replica_methods:\n"
      "    - pgbackrest\n"
      "    - basebackup\n"
      "  pgbackrest:\n"
      "    command: " + pgbackrest_yaml_prefix() + " --delta restore\n"
      "    keep_data: true\n"
      "    no_params: true\n";
  TestCluster c(o);
  const std::string repo = c.dir() + "/repo";
  write_pgbackrest_conf(c, 1, repo);
  prepare_source(c);
  if (HasFatalFailure()) return;
  // No data directory yet: pgBackRest's --delta restore creates it.
  ASSERT_FALSE(fs::exists(c.node(1).data_dir));
  c.start_agent(1);
  c.wait_for_streaming(0, {1}, 180s);
  const std::string log = read_file(c.node(1).log_file);
  EXPECT_NE(log.find("replica has been created using pgbackrest"), std::string::npos) << c.logs(40);
  EXPECT_EQ(log.find("replica has been created using basebackup"), std::string::npos) << c.logs(40);
  EXPECT_EQ(log.find("Error creating replica using method pgbackrest"), std::string::npos) << c.logs(40);
  const std::string restore_log = c.dir() + "/pgbackrest/n2/log/" + std::string(kStanza) + "-restore.log";
  EXPECT_TRUE(fs::exists(restore_log));
  EXPECT_NE(read_file(restore_log).find("restore command end: completed successfully"), std::string::npos)
      << read_file(restore_log);
  // The data of the backup, of the archive and of what the primary writes now.
  EXPECT_EQ(c.sql_value(1, "SELECT x FROM in_backup"), std::optional<std::string>("1"));
  EXPECT_TRUE(eventually([&] { return c.sql_value(1, "SELECT x FROM after_backup") == std::optional<std::string>("2"); },
                         30s));
  ASSERT_TRUE(c.sql(0, "INSERT INTO in_backup VALUES (3)").ok);
  EXPECT_TRUE(eventually([&] { return c.sql_value(1, "SELECT count(*) FROM in_backup") == std::optional<std::string>("2"); },
                         30s));
  // custos's standby configuration replaced pgBackRest's: streaming from the primary, with the
  // replica's slot, no restore_command left from the restore.
  EXPECT_EQ(c.sql_value(1, "SELECT pg_is_in_recovery()"), std::optional<std::string>("t"));
  auto conninfo = c.sql_value(1, "SHOW primary_conninfo");
  ASSERT_TRUE(conninfo.has_value());
  EXPECT_NE(conninfo->find("port=" + std::to_string(c.node(0).pg_port)), std::string::npos) << *conninfo;
  EXPECT_EQ(c.sql_value(1, "SELECT status FROM pg_stat_wal_receiver"), std::optional<std::string>("streaming"));
  EXPECT_EQ(c.sql_value(1, "SHOW restore_command"), std::optional<std::string>(""));
  EXPECT_EQ(c.sql_value(0, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'n2' AND active"),
            std::optional<std::string>("1"));
  EXPECT_EQ(system_identifier(c, 1), system_identifier(c, 0));

  // Reinitialized: as in Patroni the data directory stays in place for the keep_data method, so
  // pgBackRest's --delta restore only fetches the files that differ (its restore log says the
  // others exist and match; a restore into an emptied directory would have none of those).
  const std::size_t first_restore_end = read_file(restore_log).size();
  auto r = c.rest(1, "POST", "/reinitialize", "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(eventually(
      [&] {
        return read_file(c.node(1).log_file).find("replica has been created using pgbackrest", log.size()) !=
               std::string::npos;
      },
      180s))
      << c.logs(60);
  c.wait_for_streaming(0, {1}, 120s);
  const std::string second_restore = read_file(restore_log).substr(first_restore_end);
  EXPECT_NE(second_restore.find("exists and matches"), std::string::npos) << second_restore.substr(0, 4000);
  EXPECT_NE(second_restore.find("restore command end: completed successfully"), std::string::npos);
  for (const auto& e : fs::directory_iterator(c.node(1).dir))
    EXPECT_EQ(e.path().filename().string().find("data.reinit"), std::string::npos) << "moved aside: " << e.path();
  ASSERT_TRUE(c.sql(0, "INSERT INTO in_backup VALUES (4)").ok);
  EXPECT_TRUE(eventually([&] { return c.sql_value(1, "SELECT count(*) FROM in_backup") == std::optional<std::string>("3"); },
                         30s));
  c.check_no_agent_died();
}

}  // namespace
}  // namespace custos::e2e
