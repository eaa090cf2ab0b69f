#include "postgres/basebackup.h"

#include <gtest/gtest.h>

using namespace custos::postgres;

TEST(Basebackup, BuildsCommand) {
  BasebackupRequest r;
  r.data_dir = "/pg/data";
  r.conninfo = "host='h' port='5432' user='rep'";
  r.options = {{"max-rate", "100M"}, {"verbose", std::nullopt}};
  auto argv = basebackup_command(r);
  ASSERT_TRUE(argv.ok()) << argv.error();
  EXPECT_EQ(argv.value(), (std::vector<std::string>{"pg_basebackup", "--pgdata=/pg/data", "-X", "stream",
                                                    "--dbname=host='h' port='5432' user='rep'", "--max-rate=100M",
                                                    "--verbose", "--checkpoint=fast"}));
  r.options = {{"checkpoint", "spread"}};
  EXPECT_EQ(basebackup_command(r).value().back(), "--checkpoint=spread");
}

TEST(Basebackup, RefusesForbiddenOptions) {
  BasebackupRequest r;
  r.data_dir = "/pg/data";
  for (const auto& name : kForbiddenBasebackupOptions) {
    r.options = {{name, "x"}};
    EXPECT_FALSE(basebackup_command(r).ok()) << name;
  }
  r.options = {};
  r.data_dir = "";
  EXPECT_FALSE(basebackup_command(r).ok());
}
