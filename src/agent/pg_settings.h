// PgSettings: what the agent needs to run this node's PostgreSQL, derived from the effective
// configuration (config.md §2.8, §6): paths and binaries, listen/connect addresses, the
// superuser / replication / rewind credentials, the command-line parameters (postgres --name=v)
// and the postgresql.conf parameters. A plain value, rebuilt whenever the configuration changes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"

namespace custos::agent {

struct Credentials {
  std::string username;
  std::optional<std::string> password;
  // sslmode, sslcert, ... (libpq keywords) when configured.
  std::map<std::string, std::string> extra;
};

struct HostPort {
  std::string host;
  int port = 5432;
};

// "h1,h2:5432" -> {"h1,h2", 5432}; port defaults to `default_port`. IPv6 in [] kept without [].
HostPort parse_host_port(const std::string& text, int default_port = 5432);

// Renders a JSON parameter value the way PostgreSQL's configuration expects: booleans on/off,
// numbers as text, strings as is.
std::string parameter_value(const nlohmann::json& value);

struct PgSettings {
  std::string name;
  std::string scope;
  std::string data_dir;
  std::string config_dir;
  std::string config_base_name = "postgresql";
  std::string custom_conf;
  std::string database = "postgres";
  std::string pgpass;
  // Binaries (bin_dir applied).
  std::string postgres, pg_ctl, initdb, pg_controldata, pg_basebackup, pg_rewind, pg_isready;

  HostPort listen;           // listen_addresses may hold several hosts
  HostPort connect_address;  // advertised in conn_url
  std::string api_url;       // http(s)://<restapi.connect_address>/patroni
  std::optional<std::string> proxy_url;

  Credentials superuser, replication, rewind;
  bool has_rewind_user = false;

  // postgres --name=value, in kCommandLineParameters order.
  std::vector<std::pair<std::string, std::string>> command_line;
  // Everything else for postgresql.conf (including wal_keep_size).
  std::map<std::string, std::string> conf_parameters;
  std::vector<std::string> pg_hba;   // postgresql.pg_hba (empty: keep the file)
  std::vector<std::string> pg_ident;
  std::vector<std::string> bootstrap_pg_hba;
  nlohmann::json initdb_options = nlohmann::json::array();
  nlohmann::json basebackup_options = nlohmann::json::array();
  std::string post_bootstrap;  // script
  std::map<std::string, std::string> recovery_conf;  // postgresql.recovery_conf

  bool use_pg_rewind = false;
  bool use_slots = true;
  bool remove_data_directory_on_rewind_failure = false;
  bool remove_data_directory_on_diverged_timelines = false;
  int pg_ctl_timeout = 60;

  // Host for local connections: the first listen host, wildcard -> loopback.
  std::string local_host() const;
  // conninfo for a local superuser connection (password included, it never leaves the process).
  std::string local_conninfo(const std::string& dbname = "") const;
  // Member conn_url: postgres://host:port/database.
  std::string conn_url() const;
  // stdout/stderr of the postmaster: <data_dir>.log (beside the data directory).
  std::string log_file() const;
};

PgSettings pg_settings_from_config(const config::Config& config);

}  // namespace custos::agent
