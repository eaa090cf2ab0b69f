// spec/citus.md §3: the PostgreSQL settings forced on every Citus node.
#include "mpp/citus_settings.h"

#include <gtest/gtest.h>

namespace custos::mpp {
namespace {

std::string command_line(const postgres::NodeSettings& s, const std::string& name) {
  for (const auto& [k, v] : s.command_line)
    if (k == name) return v;
  return "(absent)";
}

TEST(CitusSettings, ForcedParameters) {
  postgres::NodeSettings s;
  s.listen.host = "10.0.0.5";
  s.listen.port = 5432;
  s.command_line = {{"listen_addresses", "10.0.0.5"}, {"wal_level", "replica"}, {"max_connections", "150"}};
  s.conf_parameters["shared_preload_libraries"] = "pg_stat_statements, citus ,auto_explain";
  apply_citus_settings(s);
  EXPECT_EQ(command_line(s, "wal_level"), "logical");
  EXPECT_EQ(command_line(s, "max_prepared_transactions"), "300");
  EXPECT_EQ(s.conf_parameters["shared_preload_libraries"], "citus,pg_stat_statements,auto_explain");
  EXPECT_EQ(s.conf_parameters["citus.local_hostname"], "10.0.0.5");
}

TEST(CitusSettings, DefaultsAndKeptValues) {
  postgres::NodeSettings s;
  s.listen.host = "*";
  s.command_line = {{"max_prepared_transactions", "64"}};
  apply_citus_settings(s);
  EXPECT_EQ(command_line(s, "max_prepared_transactions"), "64");  // not 0: kept
  EXPECT_EQ(command_line(s, "wal_level"), "logical");
  EXPECT_EQ(s.conf_parameters["shared_preload_libraries"], "citus");
  EXPECT_EQ(s.conf_parameters["citus.local_hostname"], "localhost");
  postgres::NodeSettings zero;
  zero.command_line = {{"max_prepared_transactions", "0"}};
  apply_citus_settings(zero);
  EXPECT_EQ(command_line(zero, "max_prepared_transactions"), "200");  // max_connections 100
  // Over a unix socket: its directory.
  postgres::NodeSettings unix_socket;
  unix_socket.use_unix_socket = true;
  unix_socket.conf_parameters["unix_socket_directories"] = "@abstract, /var/run/postgresql";
  apply_citus_settings(unix_socket);
  EXPECT_EQ(unix_socket.conf_parameters["citus.local_hostname"], "/var/run/postgresql");
}

}  // namespace
}  // namespace custos::mpp
