#include "postgres/rewind.h"
#include "common/logging.h"

#include <spdlog/spdlog.h>

namespace custos::postgres {

std::vector<std::string> pg_rewind_command(const RewindRequest& r) {
  std::vector<std::string> argv = {r.pg_rewind_bin};
  if (!r.config_file.empty()) argv.push_back("--config-file=" + r.config_file);
  argv.push_back("-D");
  argv.push_back(r.data_dir);
  argv.push_back("--source-server=" + r.source_conninfo);
  return argv;
}

Status<std::string> run_pg_rewind(const RewindRequest& request, ProcessRunner& runner) {
  RunOptions o;
  o.cancel = &request.cancel;
  o.timeout = request.timeout;
  o.env["PGPASSFILE"] = request.pgpass;
  o.env["PGOPTIONS"] = "-c statement_timeout=0";
  o.env["LANG"] = "C";
  o.env["LC_ALL"] = "C";
  spdlog::info("running pg_rewind from {}", request.source_conninfo);
  o.on_output_line = log_child_output("pg_rewind");
  auto r = runner.run(pg_rewind_command(request), o);
  if (!r) return make_error("pg_rewind: " + r.error());
  if (!r->success()) return make_error("pg_rewind " + r->describe() + ": " + r->err + r->out);
  spdlog::info("pg_rewind succeeded");
  return Unit{};
}

}  // namespace custos::postgres
