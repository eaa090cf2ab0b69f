// Replica creation with pg_basebackup from a running primary: --pgdata, -X stream (WAL
// streamed alongside), --dbname=<conninfo>, --checkpoint=fast unless the user chose, plus the
// user's `postgresql.basebackup` options (forbidden ones refused).
#pragma once

#include "common/cancel_token.h"

#include "common/process_runner.h"

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "postgres/initdb.h"  // InitdbOption: the same {name, optional value} option shape

namespace custos::postgres {

using ToolOption = InitdbOption;

// pgdata format wal-method xlog-method gzip version compress dbname host port username password
extern const std::vector<std::string> kForbiddenBasebackupOptions;

struct BasebackupRequest {
  std::string pg_basebackup_bin = "pg_basebackup";
  std::string data_dir;
  std::string conninfo;             // of the source, without password (use PGPASSFILE in env)
  std::vector<ToolOption> options;  // user options
  bool fast_checkpoint = true;      // adds --checkpoint=fast unless options set checkpoint
  std::map<std::string, std::string> env;  // e.g. PGPASSFILE, PGOPTIONS
  std::chrono::milliseconds timeout{std::chrono::hours(1)};
  // Cancelling it kills the program (common/process.h RunOptions::cancel).
  CancelToken cancel;
};

Result<std::vector<std::string>, std::string> basebackup_command(const BasebackupRequest& request);

// Runs pg_basebackup into an empty or absent data_dir. Error text includes its stderr.
Status<std::string> run_basebackup(const BasebackupRequest& request, ProcessRunner& runner = system_process_runner());

}  // namespace custos::postgres
