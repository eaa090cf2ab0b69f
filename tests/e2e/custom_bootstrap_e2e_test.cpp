// End-to-end tests of bootstrap.method (issue 13 point 2): a new cluster made from a backup of
// another one by a custom script, then recovered from a WAL archive up to the end and promoted,
// as Patroni does; and a failing script, cleaned up as Patroni does (the data directory moved
// aside, `initialize` released, the agent exits).
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_cluster.h"

namespace custos::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A source cluster whose WAL goes to {dir}/archive.
ClusterOptions archiving_source(const std::string& scope) {
  ClusterOptions o;
  o.nodes = 1;
  o.scope = scope;
  o.tls = true;
  o.archive_command = ClusterOptions::kArchiveToDir;
  return o;
}

// Both clusters run TLS everywhere (PostgreSQL only `hostssl ... clientcert` lines and
// scram-sha-256 even on the socket), and the new cluster's superuser password is not the one in
// the backup: as in Patroni, only a temporary trust-only pg_hba.conf lets the agent in to set
// it; then the restored pg_hba.conf (no postgresql.pg_hba here) is put back.
TEST(CustomBootstrapE2E, ANewClusterIsRestoredFromABackupAndItsWalArchive) {
  TestCluster src(archiving_source("e2e-source"));
  src.start_agent(0);
  ASSERT_EQ(src.wait_for_primary(150s), 0);
  ASSERT_TRUE(src.sql(0, "CREATE TABLE in_backup AS SELECT 1 AS x").ok);
  test::RunResult bb = src.base_backup(0, src.dir() + "/backup");
  ASSERT_EQ(bb.exit_code, 0) << bb.output;
  const std::string backup_hba = read_file(src.dir() + "/backup/pg_hba.conf");
  ASSERT_NE(backup_hba.find("hostssl"), std::string::npos) << backup_hba;
  // Written after the backup: only the WAL archive has it.
  ASSERT_TRUE(src.sql(0, "CREATE TABLE after_backup AS SELECT 2 AS x").ok);
  ASSERT_TRUE(src.wal_archived(0, 60s));

  ClusterOptions o;
  o.nodes = 2;
  o.scope = "e2e-restored";
  o.etcd_of = &src;  // and its CA
  o.tls = true;
  o.superuser_password = "e2e-restored-super-pw";
  o.omit_pg_hba = true;
  o.bootstrap_yaml =
      "  method: restore\n"
      "  restore:\n"
      "    command: {dir}/restore.sh\n"
      "    backup: " + src.dir() + "/backup\n"
      "    recovery_conf:\n"
      "      restore_command: cp " + src.dir() + "/archive/%f %p\n"
      "      recovery_target_action: promote\n"
      "      recovery_target_timeline: latest\n";
  TestCluster c(o);
  write_executable(c.dir() + "/restore.sh",
                   "echo \"$@\" >> " + c.dir() + "/restore.args\n"
               "for a in \"$@\"; do case \"$a\" in --datadir=*) d=\"${a#--datadir=}\";; --backup=*) b=\"${a#--backup=}\";; esac; done\n"
               "mkdir -p \"$d\" && cp -a \"$b\"/. \"$d\"/ && chmod 700 \"$d\"\n");
  c.start_agent(0);
  ASSERT_EQ(c.wait_for_primary(150s), 0) << c.describe() << c.logs(80);
  // The probes log in with the new password over TLS: it was set, the real pg_hba.conf is back.
  EXPECT_EQ(c.sql_value(0, "SELECT x FROM in_backup"), std::optional<std::string>("1")) << c.logs(80);
  EXPECT_EQ(read_file(c.node(0).data_dir + "/pg_hba.conf"), backup_hba);
  EXPECT_FALSE(fs::exists(c.node(0).data_dir + "/pg_hba.conf.custos-restored"));
  EXPECT_EQ(c.sql_value(0, "SELECT x FROM after_backup"), std::optional<std::string>("2"));  // replayed
  const std::string args = read_file(c.dir() + "/restore.args");
  for (const std::string& want : std::vector<std::string>{"--scope=e2e-restored", "--datadir=" + c.node(0).data_dir,
                                                          "--backup=" + src.dir() + "/backup"})
    EXPECT_NE(args.find(want), std::string::npos) << want << " not in " << args;
  EXPECT_EQ(args.find("--recovery_conf"), std::string::npos) << args;
  const std::string log = read_file(c.node(0).log_file);
  EXPECT_NE(log.find("Running custom bootstrap script: " + c.dir() + "/restore.sh"), std::string::npos);
  // The recovery settings are gone once it is a primary; the cluster carries on as any other.
  EXPECT_EQ(c.sql_value(0, "SELECT setting FROM pg_settings WHERE name = 'restore_command'"),
            std::optional<std::string>(""));
  EXPECT_FALSE(fs::exists(c.node(0).data_dir + "/recovery.signal"));
  ASSERT_TRUE(c.sql(0, "INSERT INTO in_backup VALUES (3)").ok);
  c.start_agent(1);
  c.wait_for_streaming(0, {1}, 150s);
  EXPECT_TRUE(eventually([&] { return c.sql_value(1, "SELECT count(*) FROM in_backup") == std::optional<std::string>("2"); },
                         30s));
  EXPECT_TRUE(c.get_key("initialize").has_value());
  c.check_no_agent_died();
}

TEST(CustomBootstrapE2E, AFailingScriptMovesTheDataAsideAndReleasesInitialize) {
  ClusterOptions o;
  o.nodes = 1;
  o.scope = "e2e-badrestore";
  o.bootstrap_yaml =
      "  method: restore\n"
      "  restore:\n"
      "    command: {dir}/restore.sh\n"
      "    no_params: true\n";
  TestCluster c(o);
  // Half a data directory, then a failure.
  write_executable(c.dir() + "/restore.sh", "mkdir -p " + c.node(0).data_dir + " && echo partial > " + c.node(0).data_dir +
                                            "/PG_VERSION && echo restore failed >&2 && exit 3\n");
  c.start_agent(0);
  ASSERT_TRUE(c.wait_agent_exit(0, 120s).has_value()) << c.describe();
  const std::string log = read_file(c.node(0).log_file);
  EXPECT_NE(log.find("restore: restore failed"), std::string::npos) << log;
  EXPECT_NE(log.find("custom bootstrap script " + c.dir() + "/restore.sh exited with code 3"), std::string::npos) << log;
  EXPECT_NE(log.find("Failed to bootstrap cluster"), std::string::npos) << log;
  EXPECT_FALSE(c.get_key("initialize").has_value());
  EXPECT_FALSE(fs::exists(c.node(0).data_dir));
  bool moved = false;
  for (const auto& e : fs::directory_iterator(c.node(0).dir))
    if (e.path().filename().string().rfind("data.failed", 0) == 0 || e.path().filename().string().rfind("data_", 0) == 0)
      moved = true;
  EXPECT_TRUE(moved) << "no moved-aside data directory in " << c.node(0).dir;
}

}  // namespace
}  // namespace custos::e2e
