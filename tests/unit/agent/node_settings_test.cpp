#include "agent/node_settings_from_config.h"
#include "postgres/conninfo.h"

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
  EXPECT_EQ(s.local_host(), "localhost");  // Patroni prefers localhost for a wildcard listen
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

// spec/citus.md §3: a node with a valid citus section gets Citus's forced settings; an invalid
// section (no database) leaves the node a plain one, as Patroni drops it.
TEST(NodeSettings, CitusNodesGetTheForcedSettings) {
  json local = {{"name", "w1"}, {"scope", "demo"}, {"citus", {{"group", 1}, {"database", "citus"}}},
                {"postgresql", {{"listen", "127.0.0.1:5433"}, {"authentication", json::object()},
                                {"parameters", {{"shared_preload_libraries", "pg_stat_statements"}}}}}};
  json dynamic = {{"postgresql", {{"parameters", {{"max_connections", 50}}}}}};
  auto s = agent::node_settings_from_config(config::Config(local, dynamic));
  std::map<std::string, std::string> cl(s.command_line.begin(), s.command_line.end());
  EXPECT_EQ(cl.at("wal_level"), "logical");
  EXPECT_EQ(cl.at("max_prepared_transactions"), "100");
  EXPECT_EQ(s.conf_parameters.at("shared_preload_libraries"), "citus,pg_stat_statements");
  EXPECT_EQ(s.conf_parameters.at("citus.local_hostname"), "localhost");
  local["citus"].erase("database");
  auto plain = agent::node_settings_from_config(config::Config(local, dynamic));
  EXPECT_EQ(plain.conf_parameters.count("citus.local_hostname"), 0u);
  EXPECT_EQ(plain.conf_parameters.at("shared_preload_libraries"), "pg_stat_statements");
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

// The agent's own superuser connection carries every authentication.superuser keyword (client
// certificates included) and picks its host as Patroni does.
TEST(NodeSettings, LocalConnectionAsPatroni) {
  json local = {{"name", "n1"},
                {"scope", "demo"},
                {"postgresql",
                 {{"listen", "10.0.0.5,127.0.0.1:5433"},
                  {"data_dir", "/data/pg"},
                  {"krbsrvname", "pgkrb"},
                  {"authentication",
                   {{"superuser",
                     {{"username", "postgres"},
                      {"password", "pw"},
                      {"sslmode", "verify-ca"},
                      {"sslcert", "/c/su.crt"},
                      {"sslkey", "/c/su.key"},
                      {"sslrootcert", "/c/ca.crt"},
                      {"sslnegotiation", "direct"}}}}}}}};
  auto s = agent::node_settings_from_config(config::Config(local, json::object()));
  EXPECT_EQ(s.local_host(), "localhost");  // 127.0.0.1 anywhere in the list
  EXPECT_EQ(s.krbsrvname, "pgkrb");
  auto p = s.local_connection_params();
  EXPECT_EQ(p.at("host"), "localhost");
  EXPECT_EQ(p.at("port"), "5433");
  EXPECT_EQ(p.at("user"), "postgres");
  EXPECT_EQ(p.at("password"), "pw");
  EXPECT_EQ(p.at("dbname"), "postgres");
  EXPECT_EQ(p.at("sslmode"), "verify-ca");
  EXPECT_EQ(p.at("sslcert"), "/c/su.crt");
  EXPECT_EQ(p.at("sslkey"), "/c/su.key");
  EXPECT_EQ(p.at("sslrootcert"), "/c/ca.crt");
  EXPECT_EQ(p.at("sslnegotiation"), "direct");
  auto ci = postgres::parse_conninfo(s.local_conninfo("other"));
  ASSERT_TRUE(ci) << ci.error();
  EXPECT_EQ(ci->at("sslcert"), "/c/su.crt");
  EXPECT_EQ(ci->at("dbname"), "other");
  // A keyword this libpq does not know stays out of the in-process connection string.
  EXPECT_EQ(ci->count("sslnegotiation"), postgres::libpq_knows_keyword("sslnegotiation") ? 1u : 0u);

  // No wildcard or loopback: the first listen address.
  s.listen.host = "10.0.0.5, 10.0.0.6";
  EXPECT_EQ(s.local_host(), "10.0.0.5");

  // use_unix_socket: the first absolute socket directory; none absolute -> TCP; GUC unset -> no
  // host at all (libpq's default socket).
  s.use_unix_socket = true;
  EXPECT_EQ(s.local_connection_params().count("host"), 0u);
  s.conf_parameters["unix_socket_directories"] = "@abstract, /run/pg ,/tmp";
  EXPECT_EQ(s.local_connection_params().at("host"), "/run/pg");
  s.conf_parameters["unix_socket_directories"] = "@abstract";
  EXPECT_EQ(s.local_connection_params().at("host"), "10.0.0.5");
}

TEST(NodeSettings, UnixSocketFlagsReadLikePatroni) {
  json local = {{"name", "n1"},
                {"postgresql", {{"listen", "*:5432"}, {"data_dir", "/d"}, {"use_unix_socket", true},
                                {"use_unix_socket_repl", "yes"}}}};
  auto s = agent::node_settings_from_config(config::Config(local, json::object()));
  EXPECT_TRUE(s.use_unix_socket);
  EXPECT_TRUE(s.use_unix_socket_repl);
}
