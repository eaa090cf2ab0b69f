#include "ctl/cli.h"

#include <CLI/CLI.hpp>

#include <sstream>

namespace custos::ctl {

namespace {

void add_list_options(CLI::App* cmd, ListArgs& args, std::string& format_text, bool& w_flag, bool with_format) {
  cmd->add_option("cluster_names", args.cluster_names, "cluster names (default: the configuration's scope)");
  cmd->add_option("--group", args.group, "Citus group");
  if (with_format) {
    cmd->add_flag("-e,--extended", args.extended, "Show some extra information");
    cmd->add_flag("-t,--timestamp", args.timestamp, "Print timestamp");
    cmd->add_option("-f,--format", format_text, "Output format")
        ->check(CLI::IsMember({"pretty", "tsv", "json", "yaml", "yml"}));
  }
  cmd->add_flag("-W", w_flag, "Auto update the screen every 2 seconds");
  cmd->add_option("-w,--watch", args.watch, "Auto update the screen every X seconds")
      ->check(CLI::NonNegativeNumber);
}

}  // namespace

ParseOutcome parse_command_line(int argc, const char* const* argv) {
  ParseOutcome outcome;
  Invocation inv;
  CLI::App app{"custosctl: command-line interface for custos / Patroni clusters", "custosctl"};
  app.require_subcommand(1);
  std::string config_file, dcs_url;
  auto* c_opt = app.add_option("-c,--config-file", config_file, "Configuration file")->envname("PATRONICTL_CONFIG_FILE");
  auto* d_opt = app.add_option("-d,--dcs-url,--dcs", dcs_url, "The DCS connect url")->envname("DCS_URL");
  app.add_flag("-k,--insecure", inv.global.insecure, "Allow connections to SSL sites without certs");

  std::string list_format = "pretty";
  bool list_w = false, topo_w = false;
  ListArgs list_args, topo_args;
  std::string unused_format;
  auto* list = app.add_subcommand("list", "List the Patroni members for a given Patroni");
  add_list_options(list, list_args, list_format, list_w, true);
  auto* topology = app.add_subcommand("topology", "Prints ASCII topology for given cluster");
  add_list_options(topology, topo_args, unused_format, topo_w, false);
  auto* version = app.add_subcommand("version", "Output version of custosctl");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    outcome.out = app.help();
    if (list->parsed()) outcome.out = list->help();
    if (topology->parsed()) outcome.out = topology->help();
    outcome.exit_code = 0;
    return outcome;
  } catch (const CLI::CallForAllHelp& e) {
    outcome.out = app.help("", CLI::AppFormatMode::All);
    return outcome;
  } catch (const CLI::ParseError& e) {
    std::ostringstream msg;
    msg << "Usage: custosctl [OPTIONS] COMMAND [ARGS]...\n"
        << "Try 'custosctl --help' for help.\n\n"
        << "Error: " << e.what() << "\n";
    outcome.err = msg.str();
    outcome.exit_code = 2;
    return outcome;
  }

  if (c_opt->count() > 0 || !config_file.empty()) inv.global.config_file = config_file;
  if (d_opt->count() > 0 || !dcs_url.empty()) inv.global.dcs_url = dcs_url;
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
  } else if (version->parsed()) {
    inv.command = Command::kVersion;
  }
  outcome.invocation = std::move(inv);
  return outcome;
}

}  // namespace custos::ctl
