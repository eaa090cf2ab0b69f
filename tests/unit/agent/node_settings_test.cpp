#include "agent/node_settings_from_config.h"

#include <gtest/gtest.h>

using namespace custos;
using nlohmann::json;

TEST(NodeSettings, HostPort) {
  auto a = postgres::parse_host_port("10.0.0.1:5433");
  EXPECT_EQ(a.host, "10.0.0.1");
  EXPECT_EQ(a.port, 5433);
  auto b = postgres::parse_host_port("h1,h2:6000");
  EXPECT_EQ(b.host, "h1,h2");
  EXPECT_EQ(b.port, 6000);
  auto c = postgres::parse_host_port("[::1]:7000");
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.port, 7000);
  auto d = postgres::parse_host_port("localhost");
  EXPECT_EQ(d.host, "localhost");
  EXPECT_EQ(d.port, 5432);
}

TEST(NodeSettings, ParameterValues) {
  EXPECT_EQ(postgres::parameter_value(json(true)), "on");
  EXPECT_EQ(postgres::parameter_value(json(false)), "off");
  EXPECT_EQ(postgres::parameter_value(json(100)), "100");
  EXPECT_EQ(postgres::parameter_value(json("128MB")), "128MB");
}

TEST(NodeSettings, FromConfig) {
  json local = {{"name", "node-1"},
                {"scope", "demo"},
                {"restapi", {{"listen", "0.0.0.0:8008"}, {"connect_address", "10.0.0.1:8008"}}},
                {"postgresql",
                 {{"listen", "0.0.0.0:5433"},
                  {"connect_address", "10.0.0.1:5433"},
                  {"data_dir", "/data/pg"},
                  {"bin_dir", "/usr/lib/postgresql/15/bin"},
                  {"authentication",
                   {{"superuser", {{"username", "postgres"}, {"password", "pw"}}},
                    {"replication", {{"username", "repl"}, {"password", "rpw"}, {"sslmode", "require"}}}}},
                  {"parameters", {{"shared_buffers", "64MB"}, {"max_connections", 500}}},
                  {"pg_hba", {"host all all 0.0.0.0/0 md5"}}}}};
  json dynamic = {{"postgresql", {{"parameters", {{"max_connections", 200}, {"wal_level", "hot_standby"}}}}}};
  auto s = agent::node_settings_from_config(config::Config(local, dynamic));
  EXPECT_EQ(s.name, "node-1");
  EXPECT_EQ(s.data_dir, "/data/pg");
  EXPECT_EQ(s.config_dir, "/data/pg");
  EXPECT_EQ(s.postgres, "/usr/lib/postgresql/15/bin/postgres");
  EXPECT_EQ(s.pg_rewind, "/usr/lib/postgresql/15/bin/pg_rewind");
  EXPECT_EQ(s.listen.port, 5433);
  EXPECT_EQ(s.local_host(), "127.0.0.1");
  EXPECT_EQ(s.conn_url(), "postgres://10.0.0.1:5433/postgres");
  EXPECT_EQ(s.api_url, "http://10.0.0.1:8008/patroni");
  EXPECT_EQ(s.replication.username, "repl");
  EXPECT_EQ(s.replication.extra.at("sslmode"), "require");
  EXPECT_FALSE(s.has_rewind_user);
  EXPECT_EQ(s.rewind.username, "postgres");  // falls back to the superuser
  // Command-line parameters come from the dynamic configuration only, in Patroni's order.
  std::map<std::string, std::string> cl(s.command_line.begin(), s.command_line.end());
  EXPECT_EQ(cl.at("listen_addresses"), "0.0.0.0");
  EXPECT_EQ(cl.at("port"), "5433");
  EXPECT_EQ(cl.at("cluster_name"), "demo");
  EXPECT_EQ(cl.at("max_connections"), "200");
  EXPECT_EQ(cl.at("wal_level"), "replica");
  EXPECT_EQ(s.command_line.front().first, "listen_addresses");
  EXPECT_EQ(s.conf_parameters.at("shared_buffers"), "64MB");
  EXPECT_EQ(s.conf_parameters.count("max_connections"), 0u);
  EXPECT_EQ(s.pg_hba.size(), 1u);
  EXPECT_EQ(s.log_file(), "/data/pg.log");
}

// Patroni reads these with Python truthiness (a quoted "false" is true) and use_slots with
// parse_bool (unparsable or null is false).
TEST(PgSettings, BooleansReadLikePatroni) {
  json local = {{"name", "n"}, {"scope", "s"},
                {"postgresql", {{"authentication", json::object()},
                                {"remove_data_directory_on_rewind_failure", "false"},
                                {"remove_data_directory_on_diverged_timelines", 0}}}};
  auto s = agent::node_settings_from_config(
      config::Config(local, json{{"postgresql", {{"use_pg_rewind", "no"}, {"use_slots", "maybe"}}}}));
  EXPECT_TRUE(s.remove_data_directory_on_rewind_failure);
  EXPECT_FALSE(s.remove_data_directory_on_diverged_timelines);
  EXPECT_TRUE(s.use_pg_rewind);
  EXPECT_FALSE(s.use_slots);
  EXPECT_TRUE(agent::node_settings_from_config(config::Config(local, json::object())).use_slots);
  EXPECT_FALSE(agent::node_settings_from_config(
                   config::Config(local, json{{"postgresql", {{"use_slots", nullptr}}}})).use_slots);
}
