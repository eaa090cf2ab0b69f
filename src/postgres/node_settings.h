// NodeSettings: what it takes to run this node's PostgreSQL (config.md §2.8, §6): paths and
// binaries, listen/connect addresses, the superuser / replication / rewind credentials, the
// command-line parameters (postgres --name=v) and the postgresql.conf parameters, plus the
// synchronous_standby_names value the HA loop manages (ha.md §6). A plain value, rebuilt by the
// agent from the configuration (agent/node_settings_from_config.h) whenever that changes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace custos::postgres {

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

struct NodeSettings {
  std::string name;
  std::string scope;
  // This member's physical slot on its upstream (dcs.md slot_name_from_member_name).
  std::string slot_name;
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
  // Everything else for postgresql.conf (including wal_keep_size), as configured.
  std::map<std::string, std::string> conf_parameters;
  // synchronous_standby_names as the HA loop manages it: nullopt = the configured value (if
  // any) applies; "" = the parameter is removed; else this value (ha.md §6).
  std::optional<std::string> managed_synchronous_standby_names;
  std::vector<std::string> pg_hba;   // postgresql.pg_hba (empty: keep the file)
  std::vector<std::string> pg_ident;
  std::vector<std::string> bootstrap_pg_hba;
  nlohmann::json initdb_options = nlohmann::json::array();
  nlohmann::json basebackup_options = nlohmann::json::array();
  // postgresql.create_replica_methods in order (basebackup when none), and each method's own
  // section (postgresql.<method>: command, no_leader/no_master, keep_data, no_params, others).
  std::vector<std::string> create_replica_methods = {"basebackup"};
  nlohmann::json replica_method_options = nlohmann::json::object();
  // bootstrap.method when it names a section with a command (Patroni runs initdb otherwise):
  // the method's name and its section (command, no_params, keep_existing_recovery_conf,
  // recovery_conf, other keys passed as --key=value). Empty name: initdb.
  std::string bootstrap_method;
  nlohmann::json bootstrap_method_options = nlohmann::json::object();
  // standby_cluster of the dynamic configuration while it is active (host, port or
  // restore_command truthy): what following the remote primary writes into the recovery
  // configuration, and the replica methods a standby leader is built with.
  struct StandbyCluster {
    bool active = false;
    std::string host;  // libpq host (a comma-separated list is handed on as is)
    std::string port;  // "" = libpq's default
    std::string primary_slot_name;  // sanitized as a slot name; "" = no slot (only when the key is set)
    std::string restore_command, archive_cleanup_command, recovery_min_apply_delay;
    std::vector<std::string> create_replica_methods;  // empty = basebackup
  } standby_cluster;
  // tags.nostream (parse_bool): a replica that replays the archive only, never streams.
  bool nostream = false;
  std::string post_bootstrap;  // script
  std::map<std::string, std::string> recovery_conf;  // postgresql.recovery_conf

  // citus.group and citus.database, both valid (spec/citus.md §1): a node of a Citus cluster.
  struct Citus {
    int group = 0;  // 0: the coordinator
    std::string database;
  };
  std::optional<Citus> citus;

  // postgresql.use_unix_socket / use_unix_socket_repl: local superuser / replication connections
  // over the first absolute unix_socket_directories entry (TCP when there is none).
  bool use_unix_socket = false;
  bool use_unix_socket_repl = false;
  // postgresql.krbsrvname: put into primary_conninfo and PGKRBSRVNAME of child processes.
  std::string krbsrvname;

  bool use_pg_rewind = false;
  bool use_slots = true;
  bool remove_data_directory_on_rewind_failure = false;
  bool remove_data_directory_on_diverged_timelines = false;
  int pg_ctl_timeout = 60;

  // Host for local TCP connections, as Patroni picks it: "localhost" when any listen address is
  // '*', 0.0.0.0, 127.0.0.1 or localhost; else the first listen address.
  std::string local_host() const;
  // Host for local connections: with `unix` the first absolute unix_socket_directories entry
  // (local_host() when none is absolute; empty = libpq's default when the GUC is not set),
  // else local_host().
  std::string local_address(bool unix) const;
  // The superuser's local connection keywords (Patroni's local_connect_kwargs): host (absent when
  // libpq's default applies), port, user, password, dbname and every authentication.superuser
  // libpq keyword (sslmode, sslcert, ...).
  std::map<std::string, std::string> local_connection_params(const std::string& dbname = "") const;
  // conninfo for a local superuser connection (password included, it never leaves the process).
  std::string local_conninfo(const std::string& dbname = "") const;
  // Member conn_url: postgres://host:port/database.
  std::string conn_url() const;
  // stdout/stderr of the postmaster: <data_dir>.log (beside the data directory).
  std::string log_file() const;
  // conf_parameters with the managed synchronous_standby_names applied.
  std::map<std::string, std::string> effective_conf_parameters() const;
};

}  // namespace custos::postgres
