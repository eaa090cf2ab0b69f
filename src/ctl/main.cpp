// custosctl: the command-line tool (patronictl's counterpart).
#include <CLI/CLI.hpp>

#include <iostream>

#include "common/version.h"

int main(int argc, char** argv) {
  CLI::App app{"custosctl: manage a custos/Patroni cluster"};
  app.require_subcommand(1);
  auto* version = app.add_subcommand("version", "print the custosctl version");
  CLI11_PARSE(app, argc, argv);
  if (version->parsed()) {
    std::cout << "custosctl version " << custos::kVersion << "\n";
  }
  return 0;
}
