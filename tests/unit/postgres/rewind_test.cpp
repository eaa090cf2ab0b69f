#include "postgres/rewind.h"

#include <gtest/gtest.h>

using namespace custos;

TEST(Rewind, CommandLine) {
  postgres::RewindRequest r;
  r.pg_rewind_bin = "/usr/lib/postgresql/15/bin/pg_rewind";
  r.data_dir = "/data/pg";
  r.source_conninfo = "host='10.0.0.2' port=5432 user='rewind' dbname='postgres' target_session_attrs='read-write'";
  EXPECT_EQ(postgres::pg_rewind_command(r),
            (std::vector<std::string>{"/usr/lib/postgresql/15/bin/pg_rewind", "-D", "/data/pg",
                                      "--source-server=" + r.source_conninfo}));
  r.config_file = "/etc/pg/postgresql.conf";
  EXPECT_EQ(postgres::pg_rewind_command(r)[1], "--config-file=/etc/pg/postgresql.conf");
}
