#include "postgres/crash_recovery.h"

#include <chrono>

#include "postgres/config_files.h"
#include "common/logging.h"

namespace custos::postgres {

std::vector<std::string> crash_recovery_command(const CrashRecoveryRequest& r) {
  std::vector<std::string> argv = {r.postgres_bin, "--single", "-D", r.data_dir};
  if (!r.config_file.empty()) argv.push_back("--config-file=" + r.config_file);
  for (const auto& [k, v] : r.parameters) {
    if (k == "listen_addresses" || k == "port") continue;
    argv.push_back("-c");
    argv.push_back(k + "=" + v);
  }
  for (const char* extra : {"archive_mode=on", "archive_command=false"}) {
    argv.push_back("-c");
    argv.push_back(extra);
  }
  argv.push_back("template1");
  return argv;
}

Status<std::string> run_crash_recovery(const CrashRecoveryRequest& request, ProcessRunner& runner) {
  remove_recovery_signals(request.data_dir);
  RunOptions ro;
  ro.cancel = &request.cancel;
  ro.timeout = std::chrono::hours(1);
  ro.stdin_data = std::string();
  ro.on_output_line = log_child_output("postgres --single");
  auto r = runner.run(crash_recovery_command(request), ro);
  if (!r) return make_error("crash recovery: " + r.error());
  if (!r->success()) return make_error("crash recovery " + r->describe() + ": " + r->err);
  return Unit{};
}

}  // namespace custos::postgres
