// custos: the agent. `custos CONFIG` runs it; `--validate-config [-p] [-i] [CONFIG]`,
// `--generate-sample-config [FILE]`, `--generate-config [--dsn DSN] [FILE]` and `--version`
// answer and exit, as Patroni 4.1's command line does.
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "agent/main_entry.h"
#include "app/help_text.h"
#include "common/version.h"
#include "config/env.h"
#include "config/loader.h"
#include "config/records.h"
#include "config/validate.h"
#include "postgres/config_generator.h"

namespace {

namespace fs = std::filesystem;

// Loads CONFIG (file or directory) with the PATRONI_* variables on top, or PATRONI_CONFIGURATION,
// or the variables alone, validates it, prints every problem, one per line, then a count; with
// `print` the configuration itself as YAML when it has no error. Exit 0 with only warnings, 1 on
// errors.
int validate_config(const std::string& path, bool print, bool ignore_listen_port) {
  std::error_code ec;
  if (!path.empty() && !fs::exists(path, ec)) {
    std::cerr << "ERROR  (root): " << path << ": no such file or directory\n";
    return 1;
  }
  auto loaded = custos::config::load_local_configuration(path, custos::config::patroni_environment());
  const std::string shown = path.empty() ? std::string("(environment)") : path;
  if (!loaded) {
    std::cerr << "ERROR  (root): " << loaded.error().to_string() << "\n" << shown << ": 1 error(s), 0 warning(s)\n";
    return 1;
  }
  custos::config::ValidateOptions options;
  options.check_listen_port = !ignore_listen_port;
  const auto problems = custos::config::validate_config(loaded->local, options);
  std::size_t errors = 0, warnings = 0;
  // With --print stdout carries only the YAML, so that it can be piped into a file.
  std::ostream& report = print ? std::cerr : std::cout;
  for (const auto& w : loaded->warnings) {
    ++warnings;
    report << "WARNING (environment): " << w << "\n";
  }
  for (const auto& p : problems) {
    (p.severity == custos::config::Severity::kError ? errors : warnings)++;
    report << p.to_string() << "\n";
  }
  report << shown << ": " << errors << " error(s), " << warnings << " warning(s)\n";
  if (errors > 0) return 1;
  if (print) std::cout << custos::config::yaml_dump(custos::config::to_ordered(loaded->local)) << "\n";
  return 0;
}

// Writes `text` to `path` (parent directories created) or to stdout when `path` is empty.
int write_output(const std::string& text, const std::string& path) {
  if (path.empty()) {
    std::cout << text;
    return 0;
  }
  std::error_code ec;
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::cerr << "Failed to write " << path << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{custos::app::kAgentDescription, "custos"};
  app.footer(custos::app::kAgentFooter);
  app.get_formatter()->column_width(34);
  bool show_version = false, validate = false, print = false, ignore_listen_port = false;
  bool sample = false, generate = false;
  std::string dsn, config_path;
  app.add_flag("--version", show_version, "Print the version of custos and exit.");
  auto* v = app.add_flag("--validate-config", validate,
                         "Check CONFIG (with PATRONI_* variables on top) and exit: every problem on its own line, "
                         "exit 0 when valid (warnings allowed), 1 on errors.");
  app.add_flag("-p,--print", print, "With --validate-config: print the configuration as YAML when it is valid.");
  app.add_flag("-i,--ignore-listen-port", ignore_listen_port,
               "With --validate-config: do not check that restapi.listen's port is free (validate on a running node).");
  auto* s = app.add_flag("--generate-sample-config", sample,
                         "Write a sample configuration for this host to CONFIG (or stdout); values to fill in "
                         "are #FIXME.");
  auto* g = app.add_flag("--generate-config", generate,
                         "Write a configuration for the PostgreSQL server running here (read over --dsn, or the "
                         "PG* variables) to CONFIG (or stdout).");
  app.add_option("--dsn", dsn, "With --generate-config: libpq connection string of a superuser.");
  app.add_option("CONFIG", config_path,
                 "The configuration file or directory of *.yml files (absent: PATRONI_CONFIGURATION, else "
                 "PATRONI_* variables); the output file of the --generate options.");
  v->excludes(s)->excludes(g);
  s->excludes(g);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints --help, or the usage error
    return rc == 0 ? 0 : 2;      // usage errors exit 2, as Patroni's argparse does
  }
  if (show_version) {
    std::cout << "custos " << custos::kVersion << "\n";
    return 0;
  }
  try {
    if (validate) return validate_config(config_path, print, ignore_listen_port);
    if (sample || generate) {
      const auto host = custos::postgres::this_host();
      const auto env = custos::config::patroni_environment();
      auto text = sample ? custos::postgres::generate_sample_config(env, host)
                         : custos::postgres::generate_config_from_server(dsn, env, host);
      if (!text) {
        std::cerr << text.error() << "\n";
        return 1;
      }
      return write_output(text.value(), config_path);
    }
  } catch (const std::exception& e) {
    std::cerr << "Unexpected exception: " << e.what() << "\n";
    return 1;
  }
  return custos::agent::run_agent_main(config_path);
}
