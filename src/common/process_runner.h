// ProcessRunner: how the agent runs other programs (initdb, pg_basebackup, pg_rewind,
// pg_controldata, pg_ctl, postgres itself, callbacks and scripts). SystemProcessRunner forks and
// execs for real (common/process.h); tests substitute a recorder.
//
// Thread: any (implementations are thread-safe). Blocking: run() until the child exits or its
// timeout passes (then the child's process group is killed); spawn() only until exec succeeded.
// Errors: only when the program could not be started; a failing program is a RunResult.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/process.h"
#include "common/result.h"

namespace custos {

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // Runs argv to completion under options.timeout, capturing its output.
  virtual Result<RunResult, std::string> run(const std::vector<std::string>& argv, const RunOptions& options) = 0;
  // Starts argv as a detached, long-lived child (own session); the caller reaps it.
  virtual Result<pid_t, std::string> spawn(const std::vector<std::string>& argv, const SpawnOptions& options) = 0;
};

class SystemProcessRunner final : public ProcessRunner {
 public:
  Result<RunResult, std::string> run(const std::vector<std::string>& argv, const RunOptions& options) override {
    return run_command(argv, options);
  }
  Result<pid_t, std::string> spawn(const std::vector<std::string>& argv, const SpawnOptions& options) override {
    return spawn_detached(argv, options);
  }
};

// The process-wide SystemProcessRunner, for code that has no runner injected (custosctl).
ProcessRunner& system_process_runner();

}  // namespace custos
