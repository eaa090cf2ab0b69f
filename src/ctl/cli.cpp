#include "ctl/cli.h"

#include <CLI/CLI.hpp>
#include <map>
#include <sstream>

namespace custos::ctl {

namespace {

const std::vector<std::string> kRoles = {"leader",  "primary", "standby-leader", "replica",
                                         "standby", "any",     "master"};
const std::vector<std::string> kFormats = {"pretty", "tsv", "json", "yaml", "yml"};

void add_list_options(CLI::App* cmd, ListArgs& args, std::string& format_text, bool& w_flag,
                      bool with_format) {
  cmd->add_option("cluster_names", args.cluster_names,
                  "cluster names (default: the configuration's scope)");
  cmd->add_option("--group", args.group, "Citus group");
  if (with_format) {
    cmd->add_flag("-e,--extended", args.extended, "Show some extra information");
    cmd->add_flag("-t,--timestamp", args.timestamp, "Print timestamp");
    cmd->add_option("-f,--format", format_text, "Output format")->check(CLI::IsMember(kFormats));
  }
  cmd->add_flag("-W", w_flag, "Auto update the screen every 2 seconds");
  cmd->add_option("-w,--watch", args.watch, "Auto update the screen every X seconds")
      ->check(CLI::NonNegativeNumber);
}

// Per-subcommand storage filled by CLI11; copied into the Invocation of the parsed command.
struct Storage {
  Invocation inv;
  std::string format_text = "pretty";
  std::string role_text;
  bool w_flag = false;
  std::vector<std::string> positionals;  // flush: CLUSTER [MEMBERS...] TARGET
};

CLI::App* add_cluster_arg(CLI::App* cmd, Storage& s, bool required) {
  auto* opt = cmd->add_option("CLUSTER_NAME", s.inv.cluster,
                              "Cluster name (default: the configuration's scope)");
  if (required) opt->required();
  return cmd;
}

void add_group(CLI::App* cmd, Storage& s) {
  cmd->add_option("--group", s.inv.group, "Citus group");
}
void add_force(CLI::App* cmd, Storage& s) {
  cmd->add_flag("--force", s.inv.force, "Do not ask for confirmation at any point");
}
void add_role(CLI::App* cmd, Storage& s, const std::string& help) {
  cmd->add_option("-r,--role", s.role_text, help)->check(CLI::IsMember(kRoles));
}
void add_format(CLI::App* cmd, Storage& s) {
  cmd->add_option("-f,--format", s.format_text, "Output format (pretty, tsv, json, yaml)")
      ->check(CLI::IsMember(kFormats));
}

// A TCP port: an integer from 1 to 65535 (checked before CLI11 converts the text).
CLI::Validator port_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const std::string quoted = "'" + text + "'";
        long value = 0;
        try {
          size_t used = 0;
          value = std::stol(text, &used);
          if (used != text.size()) return quoted + " is not a valid integer";
        } catch (const std::exception&) {
          return quoted + " is not a valid integer";
        }
        if (value < 1 || value > 65535) return quoted + " is not a port number (1 to 65535)";
        return "";
      },
      "1..65535");
}

}  // namespace

const char* command_name(Command command) {
  switch (command) {
    case Command::kList:
      return "list";
    case Command::kTopology:
      return "topology";
    case Command::kVersion:
      return "version";
    case Command::kShowConfig:
      return "show-config";
    case Command::kHistory:
      return "history";
    case Command::kDsn:
      return "dsn";
    case Command::kEditConfig:
      return "edit-config";
    case Command::kPause:
      return "pause";
    case Command::kResume:
      return "resume";
    case Command::kSwitchover:
      return "switchover";
    case Command::kFailover:
      return "failover";
    case Command::kRestart:
      return "restart";
    case Command::kReinit:
      return "reinit";
    case Command::kReload:
      return "reload";
    case Command::kFlush:
      return "flush";
    case Command::kRemove:
      return "remove";
    case Command::kQuery:
      return "query";
    case Command::kDemoteCluster:
      return "demote-cluster";
    case Command::kPromoteCluster:
      return "promote-cluster";
  }
  return "?";
}

ParseOutcome parse_command_line(int argc, const char* const* argv) {
  ParseOutcome outcome;
  Invocation inv;
  CLI::App app{
      "custosctl - command-line interface for custos and Patroni clusters (patronictl's commands)\n\n"
      "Reads the cluster from the distributed configuration store and acts on its members\n"
      "through their REST API; works the same on custos, Patroni 3.x/4.x and mixed clusters.",
      "custosctl"};
  app.footer(
      "CONFIGURATION\n"
      "  The file of -c (or PATRONICTL_CONFIG_FILE, default ~/.config/patroni/patronictl.yaml):\n"
      "  an agent's YAML works as it is; scope, namespace, the DCS section (etcd3, etcd, zookeeper),\n"
      "  citus.group, ctl (authentication, cacert, certfile, keyfile, insecure) and custos.compat\n"
      "  (\"4.1\": list with Receive/Replay LSN columns; \"3.3\": Lag in MB) are read.\n"
      "  -d/--dcs-url (or DCS_URL) replaces the DCS section: etcd3://host:port, etcd://host:port,\n"
      "  zookeeper://host:port, with an optional /namespace path.\n"
      "\n"
      "EXIT STATUS\n"
      "  0 success, 1 the command failed (DCS unreachable, refused by a member, aborted),\n"
      "  2 usage error.\n"
      "\n"
      "EXAMPLES\n"
      "  custosctl -c /etc/patroni/config.yml list\n"
      "  custosctl -c /etc/patroni/config.yml switchover --leader n1 --candidate n2 --force\n"
      "  custosctl -d etcd3://10.0.0.5:2379 list batman -f json\n"
      "  custosctl -c /etc/patroni/config.yml reinit batman n3 --from-leader --wait\n"
      "\n"
      "Run `custosctl COMMAND --help` for a command's options. Shell completion for bash:\n"
      "  packaging/custosctl.bash-completion (source it, or install it under\n"
      "  /usr/share/bash-completion/completions/custosctl).\n"
      "\n"
      "SEE ALSO\n"
      "  custos(1), patronictl(1)");
  app.require_subcommand(1);
  std::string config_file, dcs_url;
  auto* c_opt = app.add_option("-c,--config-file", config_file, "Configuration file")
                    ->envname("PATRONICTL_CONFIG_FILE");
  auto* d_opt =
      app.add_option("-d,--dcs-url,--dcs", dcs_url, "The DCS connect url")->envname("DCS_URL");
  app.add_flag("-k,--insecure", inv.global.insecure,
               "Allow connections to SSL sites without certs");

  std::string list_format = "pretty";
  bool list_w = false, topo_w = false;
  ListArgs list_args, topo_args;
  std::string unused_format;
  auto* list = app.add_subcommand("list", "List the Patroni members for a given Patroni");
  add_list_options(list, list_args, list_format, list_w, true);
  auto* topology = app.add_subcommand("topology", "Prints ASCII topology for given cluster");
  add_list_options(topology, topo_args, unused_format, topo_w, false);

  std::map<Command, Storage> st;
  std::vector<std::pair<Command, CLI::App*>> commands;
  auto sub = [&](Command c, const std::string& help) {
    auto* cmd = app.add_subcommand(command_name(c), help);
    commands.emplace_back(c, cmd);
    st[c].inv.command = c;
    return cmd;
  };

  {  // version [CLUSTER [MEMBERS...]] [--group]
    auto& s = st[Command::kVersion];
    auto* cmd =
        sub(Command::kVersion, "Output version of custosctl command or a running Patroni instance");
    add_cluster_arg(cmd, s, false);
    cmd->add_option("MEMBER_NAMES", s.inv.members, "Members");
    add_group(cmd, s);
  }
  {  // show-config [CLUSTER] [--group]
    auto& s = st[Command::kShowConfig];
    auto* cmd = sub(Command::kShowConfig, "Show cluster configuration");
    add_cluster_arg(cmd, s, false);
    add_group(cmd, s);
  }
  {  // history [CLUSTER] [--group] [-f]
    auto& s = st[Command::kHistory];
    auto* cmd = sub(Command::kHistory, "Show the history of failovers/switchovers");
    add_cluster_arg(cmd, s, false);
    add_group(cmd, s);
    add_format(cmd, s);
  }
  {  // dsn [CLUSTER] [--group] [-r ROLE | -m MEMBER]
    auto& s = st[Command::kDsn];
    auto* cmd = sub(Command::kDsn,
                    "Generate a dsn for the provided member, defaults to a dsn of the leader");
    add_cluster_arg(cmd, s, false);
    add_group(cmd, s);
    add_role(cmd, s, "Give a dsn of any member with this role");
    cmd->add_option("-m,--member", s.inv.member, "Generate a dsn for this member");
  }
  {  // edit-config
    auto& s = st[Command::kEditConfig];
    auto* cmd = sub(Command::kEditConfig, "Edit cluster configuration");
    add_cluster_arg(cmd, s, false);
    add_group(cmd, s);
    cmd->add_flag("-q,--quiet", s.inv.edit.quiet, "Do not show changes");
    cmd->add_option("-s,--set", s.inv.edit.set,
                    "Set specific configuration value. Can be specified multiple times")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    cmd->add_option(
           "-p,--pg", s.inv.edit.pg,
           "Set specific PostgreSQL parameter value. Shorthand for -s postgresql.parameters. "
           "Can be specified multiple times")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    cmd->add_option("--apply", s.inv.edit.apply, "Apply configuration from file. Use - for stdin.");
    cmd->add_option(
        "--replace", s.inv.edit.replace,
        "Apply configuration from file, replacing existing configuration. Use - for stdin.");
    cmd->add_flag("--strict", s.inv.edit.strict,
                  "Refuse a result that names an unknown key or a value the nodes would ignore or adjust "
                  "(custos only; without it such problems are printed as warnings and the change is applied)");
    add_force(cmd, s);
  }
  for (Command c : {Command::kPause, Command::kResume}) {
    auto& s = st[c];
    auto* cmd = sub(c, c == Command::kPause ? "Disable auto failover" : "Resume auto failover");
    add_cluster_arg(cmd, s, false);
    add_group(cmd, s);
    cmd->add_flag("--wait", s.inv.wait,
                  c == Command::kPause ? "Wait until pause is applied on all nodes"
                                       : "Wait until pause is cleared on all nodes");
  }
  {  // switchover
    auto& s = st[Command::kSwitchover];
    auto* cmd = sub(Command::kSwitchover, "Switchover to a replica");
    add_cluster_arg(cmd, s, false);
    add_group(cmd, s);
    cmd->add_option("--leader,--primary,--master", s.inv.switchover.leader,
                    "The name of the current leader");
    cmd->add_option("--candidate", s.inv.switchover.candidate, "The name of the candidate");
    cmd->add_option("--scheduled", s.inv.switchover.scheduled,
                    "Timestamp of a scheduled switchover in unambiguous format (e.g. ISO 8601)");
    add_force(cmd, s);
  }
  {  // failover
    auto& s = st[Command::kFailover];
    auto* cmd = sub(Command::kFailover, "Failover to a replica");
    add_cluster_arg(cmd, s, false);
    add_group(cmd, s);
    cmd->add_option("--leader,--primary,--master", s.inv.switchover.leader,
                    "The name of the current leader (deprecated: makes it a switchover)");
    cmd->add_option("--candidate", s.inv.switchover.candidate, "The name of the candidate");
    add_force(cmd, s);
  }
  {  // restart
    auto& s = st[Command::kRestart];
    auto* cmd = sub(Command::kRestart, "Restart cluster member");
    add_cluster_arg(cmd, s, true);
    cmd->add_option("MEMBER_NAMES", s.inv.members, "Members");
    add_group(cmd, s);
    add_role(cmd, s, "Restart only members with this role");
    cmd->add_flag("--any", s.inv.restart.any, "Restart a single member only");
    cmd->add_option("--scheduled", s.inv.restart.scheduled,
                    "Timestamp of a scheduled restart in unambiguous format (e.g. ISO 8601)");
    cmd->add_option("--pg-version", s.inv.restart.pg_version,
                    "Restart if the PostgreSQL version is less than provided (e.g. 9.5.2)");
    cmd->add_flag("--pending", s.inv.restart.pending, "Restart if pending");
    cmd->add_option(
        "--timeout", s.inv.restart.timeout,
        "Return error and fail over if necessary when restarting takes longer than this.");
    add_force(cmd, s);
  }
  {  // reinit
    auto& s = st[Command::kReinit];
    auto* cmd = sub(Command::kReinit, "Reinitialize cluster member");
    add_cluster_arg(cmd, s, true);
    cmd->add_option("MEMBER_NAMES", s.inv.members, "Members");
    add_group(cmd, s);
    add_force(cmd, s);
    cmd->add_flag("--wait", s.inv.wait, "Wait until reinitialization completes");
    cmd->add_flag("--from-leader", s.inv.from_leader,
                  "Get basebackup directly from the leader instead of a clonefrom member or replica method");
  }
  {  // reload
    auto& s = st[Command::kReload];
    auto* cmd = sub(Command::kReload, "Reload cluster member configuration");
    add_cluster_arg(cmd, s, true);
    cmd->add_option("MEMBER_NAMES", s.inv.members, "Members");
    add_group(cmd, s);
    add_role(cmd, s, "Reload only members with this role");
    add_force(cmd, s);
  }
  {  // flush CLUSTER [MEMBERS...] {restart|switchover}
    auto& s = st[Command::kFlush];
    auto* cmd = sub(Command::kFlush, "Discard scheduled events");
    cmd->add_option("CLUSTER_NAME [MEMBER_NAMES]... {restart|switchover}", s.positionals,
                    "Cluster, members, target")
        ->required();
    add_group(cmd, s);
    add_role(cmd, s, "Flush only members with this role");
    add_force(cmd, s);
  }
  {  // remove CLUSTER [--group] [-f]
    auto& s = st[Command::kRemove];
    auto* cmd = sub(Command::kRemove, "Remove cluster from DCS");
    add_cluster_arg(cmd, s, true);
    add_group(cmd, s);
    add_format(cmd, s);
  }
  {  // query
    auto& s = st[Command::kQuery];
    auto* cmd = sub(Command::kQuery, "Query a Patroni PostgreSQL member");
    add_cluster_arg(cmd, s, false);
    add_group(cmd, s);
    cmd->add_option("--format", s.inv.query.format, "Output format (pretty, tsv, json, yaml)")
        ->check(CLI::IsMember(kFormats));
    cmd->add_option("-f,--file", s.inv.query.file, "Execute the SQL commands from this file");
    cmd->add_flag("--password", s.inv.query.password, "force password prompt");
    cmd->add_option("-U,--username", s.inv.query.username, "database user name");
    cmd->add_flag("-W", s.w_flag, "Auto update the screen every 2 seconds");
    cmd->add_option("-w,--watch", s.inv.query.watch, "Auto update the screen every X seconds")
        ->check(CLI::NonNegativeNumber);
    add_role(cmd, s, "The role of the query");
    cmd->add_option("-m,--member", s.inv.member, "Query a specific member");
    cmd->add_option("--delimiter", s.inv.query.delimiter, "The column delimiter");
    cmd->add_option("-c,--command", s.inv.query.command, "The SQL commands to execute");
    cmd->add_option("-d,--dbname", s.inv.query.dbname, "database name to connect to");
  }

  {  // demote-cluster [CLUSTER] [--force] [--host] [--port] [--restore-command] [--primary-slot-name]
    auto& s = st[Command::kDemoteCluster];
    auto* cmd = sub(Command::kDemoteCluster,
                    "Turn the cluster into a standby cluster of a remote primary");
    add_cluster_arg(cmd, s, false);
    add_force(cmd, s);
    auto& d = s.inv.demote;
    cmd->add_option("--host", d.host, "Host of the remote primary to replicate from");
    cmd->add_option("--port", d.port, "Port of the remote primary")->check(port_number());
    cmd->add_option("--restore-command", d.restore_command,
                    "Command that fetches WAL of the remote primary (e.g. from its archive)");
    cmd->add_option("--primary-slot-name", d.primary_slot_name,
                    "Replication slot to stream from on the remote primary");
  }
  {  // promote-cluster [CLUSTER] [--force]
    auto& s = st[Command::kPromoteCluster];
    auto* cmd = sub(Command::kPromoteCluster,
                    "Turn a standby cluster into a standalone cluster with a primary");
    add_cluster_arg(cmd, s, false);
    add_force(cmd, s);
  }

  auto usage_error = [&](const std::string& message) {
    std::ostringstream msg;
    msg << "Usage: custosctl [OPTIONS] COMMAND [ARGS]...\n"
        << "Try 'custosctl --help' for help.\n\n"
        << "Error: " << message << "\n";
    outcome.err = msg.str();
    outcome.exit_code = 2;
    return outcome;
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    outcome.out = app.help();
    if (list->parsed()) outcome.out = list->help();
    if (topology->parsed()) outcome.out = topology->help();
    for (auto& [c, cmd] : commands)
      if (cmd->parsed()) outcome.out = cmd->help();
    outcome.exit_code = 0;
    return outcome;
  } catch (const CLI::CallForAllHelp& e) {
    outcome.out = app.help("", CLI::AppFormatMode::All);
    return outcome;
  } catch (const CLI::ParseError& e) {
    return usage_error(e.what());
  }

  if (list->parsed()) {
    inv.command = Command::kList;
    inv.list = list_args;
    inv.list.format = parse_output_format(list_format).value_or(OutputFormat::kPretty);
    if (list_w && !(inv.list.watch && *inv.list.watch > 0)) inv.list.watch = 2.0;
  } else if (topology->parsed()) {
    inv.command = Command::kTopology;
    inv.list = topo_args;
    inv.list.format = OutputFormat::kTopology;
    if (topo_w && !(inv.list.watch && *inv.list.watch > 0)) inv.list.watch = 2.0;
  } else {
    for (auto& [c, cmd] : commands) {
      if (!cmd->parsed()) continue;
      Storage& s = st[c];
      GlobalOptions global = inv.global;
      inv = s.inv;
      inv.global = global;
      inv.format = parse_output_format(s.format_text).value_or(OutputFormat::kPretty);
      if (!s.role_text.empty()) inv.role = s.role_text;
      if (c == Command::kQuery && s.w_flag && !(inv.query.watch && *inv.query.watch > 0))
        inv.query.watch = 2.0;
      if (c == Command::kFlush) {
        if (s.positionals.size() < 2)
          return usage_error(s.positionals.empty() ? "Missing argument 'CLUSTER_NAME'."
                                                   : "Missing argument '{restart|switchover}'.");
        inv.cluster = s.positionals.front();
        inv.flush_target = s.positionals.back();
        inv.members.assign(s.positionals.begin() + 1, s.positionals.end() - 1);
        if (inv.flush_target != "restart" && inv.flush_target != "switchover")
          return usage_error("Invalid value for '{restart|switchover}': '" + inv.flush_target +
                             "' is not one of 'restart', 'switchover'.");
      }
      break;
    }
  }
  if (c_opt->count() > 0 || !config_file.empty()) inv.global.config_file = config_file;
  if (d_opt->count() > 0 || !dcs_url.empty()) inv.global.dcs_url = dcs_url;
  outcome.invocation = std::move(inv);
  return outcome;
}

}  // namespace custos::ctl
