#include <gtest/gtest.h>

#include "agent/pg_node.h"
#include "agent/rewind.h"

using namespace custos;

TEST(Rewind, CommandLine) {
  agent::RewindRequest r;
  r.pg_rewind_bin = "/usr/lib/postgresql/15/bin/pg_rewind";
  r.data_dir = "/data/pg";
  r.source_conninfo = "host='10.0.0.2' port=5432 user='rewind' dbname='postgres' target_session_attrs='read-write'";
  EXPECT_EQ(agent::pg_rewind_command(r),
            (std::vector<std::string>{"/usr/lib/postgresql/15/bin/pg_rewind", "-D", "/data/pg",
                                      "--source-server=" + r.source_conninfo}));
  r.config_file = "/etc/pg/postgresql.conf";
  EXPECT_EQ(agent::pg_rewind_command(r)[1], "--config-file=/etc/pg/postgresql.conf");
}

TEST(Upstream, FromMemberConnUrl) {
  auto m = dcs::Member::from_node(1, "b", std::nullopt,
                                  R"({"conn_url":"postgres://10.0.0.2:5433/postgres","api_url":"http://10.0.0.2:8008/patroni"})");
  auto u = agent::upstream_of(m);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->name, "b");
  EXPECT_EQ(u->host, "10.0.0.2");
  EXPECT_EQ(u->port, 5433);
}

TEST(Upstream, NoAddressNoUpstream) {
  EXPECT_FALSE(agent::upstream_of(dcs::Member::from_node(1, "b", std::nullopt, R"({"state":"running"})")));
  EXPECT_FALSE(agent::upstream_of(dcs::Member::from_node(1, "b", std::nullopt, "garbage")));
}
