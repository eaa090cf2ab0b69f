// custosctl's command line (ctl.md §1, §4) parsed with CLI11: the global options
// (-c/--config-file, -d/--dcs-url/--dcs, -k/--insecure) and the `list`, `topology` and
// `version` commands. Usage errors give exit code 2 and a message, as click does.
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

enum class Command { kList, kTopology, kVersion };

struct Invocation {
  Command command = Command::kList;
  GlobalOptions global;
  ListArgs list;  // list and topology (topology: format kTopology)
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
