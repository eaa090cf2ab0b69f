// custos: the agent. `custos CONFIG.yml` runs it; `--version`, `--validate-config FILE`.
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

#include "common/version.h"
#include "agent/main_entry.h"
#include "config/validate.h"

namespace {

// Prints every problem, one per line, then a count. Exit 0 with only warnings, 1 on errors.
int validate_config_file(const std::string& path) {
  auto problems = custos::config::validate_config_path(path);
  std::size_t errors = 0, warnings = 0;
  for (const auto& p : problems) {
    (p.severity == custos::config::Severity::kError ? errors : warnings)++;
    std::cout << p.to_string() << "\n";
  }
  std::cout << path << ": " << errors << " error(s), " << warnings << " warning(s)\n";
  return errors > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"custos: PostgreSQL high-availability agent (Patroni-compatible)"};
  bool show_version = false;
  std::string validate_path;
  std::string config_path;
  app.add_flag("--version", show_version, "print the version and exit");
  app.add_option("--validate-config", validate_path,
                 "check a Patroni/custos YAML configuration file (or directory) and exit: 0 valid, 1 errors");
  app.add_option("CONFIG", config_path, "configuration file or directory of the agent");
  CLI11_PARSE(app, argc, argv);
  if (show_version) {
    std::cout << "custos " << custos::kVersion << "\n";
    return 0;
  }
  if (app.count("--validate-config") > 0) {
    try {
      return validate_config_file(validate_path);
    } catch (const std::exception& e) {
      std::cout << "ERROR  (root): " << e.what() << "\n" << validate_path << ": 1 error(s), 0 warning(s)\n";
      return 1;
    }
  }
  return custos::agent::run_agent_main(config_path);
}
