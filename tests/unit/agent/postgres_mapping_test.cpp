#include "agent/postgres_mapping.h"

#include <gtest/gtest.h>

using namespace custos;

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

TEST(PostgresMapping, States) {
  EXPECT_EQ(agent::to_ha(postgres::DataDirState::empty), ha::DataDir::empty);
  EXPECT_EQ(agent::to_ha(postgres::DataDirState::inaccessible), ha::DataDir::inaccessible);
  EXPECT_EQ(agent::to_ha(postgres::ServerProcess::starting), ha::PgProcess::starting);
  EXPECT_EQ(agent::to_ha(postgres::ServerProcess::running), ha::PgProcess::running);
}
