#include <gtest/gtest.h>
#include <stdlib.h>
#include <string>
#include <fstream>
#include <filesystem>

#include "postgres/postmaster.h"
#include "postgres/postmaster_pid.h"

using namespace custos::postgres;

TEST(PostmasterPid, ParsesFullFile) {
  auto pf = parse_postmaster_pid(
      "12345\n/var/lib/pg/data\n1700000000\n5433\n/tmp\n127.0.0.1\n  5433001    196608\nready   \n");
  ASSERT_TRUE(pf);
  EXPECT_EQ(pf->pid, 12345);
  EXPECT_EQ(pf->data_dir, "/var/lib/pg/data");
  EXPECT_EQ(pf->start_time, 1700000000);
  EXPECT_EQ(pf->port, 5433);
  EXPECT_EQ(pf->socket_dir, "/tmp");
  EXPECT_EQ(pf->listen_addr, "127.0.0.1");
  EXPECT_EQ(pf->shmem_key, "5433001    196608");
  EXPECT_EQ(pf->status, "ready");
  EXPECT_TRUE(pf->accepting());
}

TEST(PostmasterPid, PartialAndInvalid) {
  auto pf = parse_postmaster_pid("77\n/d\n");
  ASSERT_TRUE(pf);
  EXPECT_EQ(pf->pid, 77);
  EXPECT_EQ(pf->port, 0);
  EXPECT_FALSE(pf->accepting());
  auto standby = parse_postmaster_pid("77\n/d\n1\n5432\n\n*\n\nstandby \n");
  ASSERT_TRUE(standby);
  EXPECT_TRUE(standby->accepting());
  EXPECT_EQ(standby->socket_dir, "");
  EXPECT_FALSE(parse_postmaster_pid(""));
  EXPECT_FALSE(parse_postmaster_pid("abc\n"));
  EXPECT_FALSE(parse_postmaster_pid("-5\n"));
  EXPECT_FALSE(parse_postmaster_pid("0\n"));
}

TEST(PostmasterPid, ReadFromTheDataDirectory) {
  char tmpl[] = "/tmp/custos-pmpid-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  EXPECT_FALSE(read_postmaster_pid(dir)) << "no file";
  {
    std::ofstream f(dir + "/postmaster.pid");
    f << "4242\n" << dir << "\n1700000000\n5433\n/tmp\n127.0.0.1\n  5433001    196608\nstandby \n";
  }
  auto pf = read_postmaster_pid(dir);
  ASSERT_TRUE(pf);
  EXPECT_EQ(pf->pid, 4242);
  EXPECT_EQ(pf->data_dir, dir);
  EXPECT_TRUE(pf->accepting());
  {
    std::ofstream f(dir + "/postmaster.pid");
    f << std::string(70 * 1024, '7');  // not a postmaster.pid
  }
  EXPECT_FALSE(read_postmaster_pid(dir));
  std::filesystem::remove_all(dir);
}

TEST(Postmaster, CommandLine) {
  PostmasterOptions o;
  o.postgres_bin = "/usr/lib/postgresql/15/bin/postgres";
  o.data_dir = "/pg/data";
  o.config_file = "/pg/data/postgresql.conf";
  o.parameters = {{"listen_addresses", "127.0.0.1,10.0.0.1"}, {"port", "5432"}, {"cluster_name", "c 1"}};
  EXPECT_EQ(Postmaster::command_line(o),
            (std::vector<std::string>{"/usr/lib/postgresql/15/bin/postgres", "-D", "/pg/data",
                                      "--config-file=/pg/data/postgresql.conf",
                                      "--listen_addresses=127.0.0.1,10.0.0.1", "--port=5432", "--cluster_name=c 1"}));
  EXPECT_EQ(kCommandLineParameters.size(), 13u);
}
