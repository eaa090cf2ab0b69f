#include "postgres/controldata.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace custos::postgres;

namespace {
std::string fixture(const std::string& name) {
  std::ifstream f(std::string(CUSTOS_PG_FIXTURES) + "/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

TEST(ControlData, ParsesRealPg15Output) {
  auto text = fixture("controldata_pg15_shutdown.txt");
  ASSERT_FALSE(text.empty());
  auto cd = ControlData::parse(text);
  EXPECT_EQ(cd.fields().size(), 50u);  // every line of the fixture
  EXPECT_EQ(cd.system_identifier(), "7710853476634737103");
  EXPECT_EQ(cd.cluster_state_text(), "shut down");
  EXPECT_EQ(cd.cluster_state(), ClusterState::ShutDown);
  EXPECT_EQ(cd.pg_control_version(), 1300);
  EXPECT_EQ(cd.checkpoint_lsn(), 0x1511A88);
  EXPECT_EQ(cd.checkpoint_redo_lsn(), 0x1511A88);
  EXPECT_EQ(cd.checkpoint_timeline(), 1);
  EXPECT_EQ(cd.checkpoint_prev_timeline(), 1);
  EXPECT_EQ(cd.min_recovery_lsn(), 0);
  EXPECT_EQ(cd.min_recovery_timeline(), 0);
  EXPECT_EQ(cd.max_connections(), 100);
  EXPECT_EQ(cd.max_worker_processes(), 8);
  EXPECT_EQ(cd.max_wal_senders(), 10);
  EXPECT_EQ(cd.max_prepared_xacts(), 0);
  EXPECT_EQ(cd.max_locks_per_xact(), 64);
  EXPECT_EQ(cd.wal_level(), "replica");
  EXPECT_FALSE(cd.wal_log_hints());
  EXPECT_FALSE(cd.data_checksums());
  EXPECT_EQ(cd.wal_segment_size(), 16777216);
  // Values with colons, and a key glued to its value.
  EXPECT_EQ(cd.get("pg_control last modified"), "Sun Nov 22 04:49:38 2026");
  EXPECT_EQ(cd.get("Latest checkpoint's oldestCommitTsXid"), "0");
  EXPECT_EQ(cd.get("Latest checkpoint's NextXID"), "0:724");
  EXPECT_FALSE(cd.get("No such field"));
}

TEST(ControlData, ReplicaStatesAndChecksums) {
  auto cd = ControlData::parse(
      "Database cluster state:               in archive recovery\n"
      "Minimum recovery ending location:     3/A0000F8\n"
      "Min recovery ending loc's timeline:   4\n"
      "wal_log_hints setting:                on\n"
      "Data page checksum version:           1\n"
      "garbage line without colon\n"
      ": value without key\n");
  EXPECT_EQ(cd.cluster_state(), ClusterState::InArchiveRecovery);
  EXPECT_EQ(cd.min_recovery_lsn(), (int64_t{3} << 32) | 0xA0000F8);
  EXPECT_EQ(cd.min_recovery_timeline(), 4);
  EXPECT_TRUE(cd.wal_log_hints());
  EXPECT_TRUE(cd.data_checksums());
  EXPECT_EQ(cd.fields().size(), 5u);
  EXPECT_FALSE(cd.system_identifier());
  EXPECT_FALSE(cd.checkpoint_lsn());
}

TEST(ControlData, AllClusterStates) {
  EXPECT_EQ(parse_cluster_state("starting up"), ClusterState::StartingUp);
  EXPECT_EQ(parse_cluster_state("shut down"), ClusterState::ShutDown);
  EXPECT_EQ(parse_cluster_state("shut down in recovery"), ClusterState::ShutDownInRecovery);
  EXPECT_EQ(parse_cluster_state("shutting down"), ClusterState::ShuttingDown);
  EXPECT_EQ(parse_cluster_state("in crash recovery"), ClusterState::InCrashRecovery);
  EXPECT_EQ(parse_cluster_state("in archive recovery"), ClusterState::InArchiveRecovery);
  EXPECT_EQ(parse_cluster_state("in production"), ClusterState::InProduction);
  EXPECT_EQ(parse_cluster_state("bogus"), ClusterState::Unknown);
}

TEST(ControlData, MalformedNumbersAreAbsent) {
  auto cd = ControlData::parse("max_connections setting: 1x\nLatest checkpoint location: zz\n");
  EXPECT_FALSE(cd.max_connections());
  EXPECT_FALSE(cd.checkpoint_lsn());
}
