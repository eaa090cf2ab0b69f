// custosctl's command line (ctl.md §1, §4-6) parsed with CLI11: the global options
// (-c/--config-file, -d/--dcs-url/--dcs, -k/--insecure) and every patronictl command with its
// options. Usage errors (unknown option, bad choice, missing argument) give exit code 2 and a
// message, as click does; checks that patronictl makes after parsing (e.g. -r with -m) are
// left to the command layer (exit 1).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ctl/member_list.h"

namespace custos::ctl {

struct GlobalOptions {
  std::optional<std::string> config_file;  // -c or PATRONICTL_CONFIG_FILE
  std::optional<std::string> dcs_url;      // -d or DCS_URL
  bool insecure = false;                   // -k
};

struct ListArgs {
  std::vector<std::string> cluster_names;
  std::optional<int> group;
  bool extended = false;
  bool timestamp = false;
  OutputFormat format = OutputFormat::kPretty;
  // Seconds between refreshes: -w N, or 2 with -W; nullopt/0: print once.
  std::optional<double> watch;
};

enum class Command {
  kList,
  kTopology,
  kVersion,
  kShowConfig,
  kHistory,
  kDsn,
  kEditConfig,
  kPause,
  kResume,
  kSwitchover,
  kFailover,
  kRestart,
  kReinit,
  kReload,
  kFlush,
  kRemove,
  kQuery,
  kDemoteCluster,
  kPromoteCluster,
};

// The command's name as typed ("edit-config", ...).
const char* command_name(Command command);

struct EditConfigArgs {
  bool quiet = false;
  std::vector<std::string> set;        // -s K=V
  std::vector<std::string> pg;         // -p K=V
  std::optional<std::string> apply;    // FILE or -
  std::optional<std::string> replace;  // FILE or -
  bool strict = false;                 // --strict: refuse a result with problems (custos only)
};

struct SwitchoverArgs {
  std::optional<std::string> leader;     // --leader/--primary/--master
  std::optional<std::string> candidate;  // --candidate
  std::optional<std::string> scheduled;  // --scheduled (switchover only)
};

struct RestartArgs {
  bool any = false;                       // --any
  std::optional<std::string> scheduled;   // --scheduled
  std::optional<std::string> pg_version;  // --pg-version
  bool pending = false;                   // --pending
  std::optional<std::string> timeout;     // --timeout (passed through)
};

struct QueryArgs {
  std::optional<std::string> command;   // -c
  std::optional<std::string> file;      // -f
  std::optional<std::string> username;  // -U
  bool password = false;                // --password: prompt for one
  std::optional<std::string> dbname;    // -d
  std::string format = "tsv";           // --format
  std::string delimiter = "\t";         // --delimiter
  std::optional<double> watch;          // -W / -w
};

// demote-cluster: where the standby cluster is to replicate from (cluster_role.h).
struct DemoteClusterArgs {
  std::optional<std::string> host;               // --host
  std::optional<int> port;                       // --port (1..65535)
  std::optional<std::string> restore_command;    // --restore-command
  std::optional<std::string> primary_slot_name;  // --primary-slot-name
};

struct Invocation {
  Command command = Command::kList;
  GlobalOptions global;
  ListArgs list;  // list and topology (topology: format kTopology)

  // Common to the other commands.
  std::optional<std::string> cluster;           // CLUSTER_NAME (nullopt: the configuration's scope)
  std::vector<std::string> members;             // MEMBER_NAMES
  std::optional<int> group;                     // --group
  OutputFormat format = OutputFormat::kPretty;  // -f/--format (history, remove)
  bool force = false;                           // --force
  bool wait = false;                            // --wait (pause/resume/reinit)
  bool from_leader = false;                     // reinit --from-leader (Patroni 4.1)
  std::optional<std::string> role;              // -r/--role as typed
  std::optional<std::string> member;            // -m/--member (dsn, query)
  std::string flush_target;                     // restart | switchover

  EditConfigArgs edit;
  SwitchoverArgs switchover;
  RestartArgs restart;
  QueryArgs query;
  DemoteClusterArgs demote;
};

struct ParseOutcome {
  std::optional<Invocation> invocation;  // set when a command is to run
  int exit_code = 0;                     // otherwise: 0 after --help, 2 after a usage error
  std::string out;                       // help text
  std::string err;                       // error message
};

// Parses argv (argv[0] is the program name). Never throws. PATRONICTL_CONFIG_FILE and DCS_URL
// (when non-empty) stand in for -c and -d.
ParseOutcome parse_command_line(int argc, const char* const* argv);

}  // namespace custos::ctl
