// pg_rewind of a former primary from the new leader (ha.md §4): the command line and its run
// (password through a pgpass file, PGOPTIONS=-c statement_timeout=0, LANG=C).
#pragma once

#include "common/cancel_token.h"

#include <chrono>
#include <string>
#include <vector>

#include "common/process_runner.h"
#include "common/result.h"

namespace custos::postgres {

struct RewindRequest {
  std::string pg_rewind_bin = "pg_rewind";
  std::string data_dir;
  std::string source_conninfo;  // without password
  std::string pgpass;           // PGPASSFILE
  std::string config_file;      // --config-file when the configuration lives outside data_dir
  std::chrono::milliseconds timeout{std::chrono::hours(1)};
  // Cancelling it kills the program (common/process.h RunOptions::cancel).
  CancelToken cancel;
};

std::vector<std::string> pg_rewind_command(const RewindRequest& request);
// Blocking up to request.timeout. The error names pg_rewind's exit and its output.
Status<std::string> run_pg_rewind(const RewindRequest& request, ProcessRunner& runner);

}  // namespace custos::postgres
