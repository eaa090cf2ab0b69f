// Single-user crash recovery (ha.md §5): `postgres --single -D <data> --config-file=<conf>
// -c <command-line parameters> -c archive_mode=on -c archive_command=false template1` with
// stdin closed, after the recovery signal files were removed, so that a crashed former primary
// reaches a clean shutdown state pg_rewind accepts.
#pragma once

#include "common/cancel_token.h"

#include <string>
#include <utility>
#include <vector>

#include "common/process_runner.h"
#include "common/result.h"

namespace custos::postgres {

struct CrashRecoveryRequest {
  std::string postgres_bin = "postgres";
  std::string data_dir;
  std::string config_file;
  // The command-line parameters of the postmaster; listen_addresses and port are left out.
  std::vector<std::pair<std::string, std::string>> parameters;
  // Cancelling it kills the program (common/process.h RunOptions::cancel).
  CancelToken cancel;
};

std::vector<std::string> crash_recovery_command(const CrashRecoveryRequest& request);
// Blocking until postgres --single exits (at most an hour).
Status<std::string> run_crash_recovery(const CrashRecoveryRequest& request, ProcessRunner& runner);

}  // namespace custos::postgres
