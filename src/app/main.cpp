// custos: the agent. `custos CONFIG.yml` runs it; `--version`, `--validate-config FILE`.
#include <CLI/CLI.hpp>

#include <iostream>

#include "common/version.h"

int main(int argc, char** argv) {
  CLI::App app{"custos: PostgreSQL high-availability agent (Patroni-compatible)"};
  bool show_version = false;
  app.add_flag("--version", show_version, "print the version and exit");
  CLI11_PARSE(app, argc, argv);
  if (show_version) {
    std::cout << "custos " << custos::kVersion << "\n";
    return 0;
  }
  std::cerr << "custos: the agent is not implemented yet\n";
  return 2;
}
