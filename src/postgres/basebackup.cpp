#include "postgres/basebackup.h"

#include <algorithm>

#include "common/process.h"
#include "common/logging.h"

namespace custos::postgres {

const std::vector<std::string> kForbiddenBasebackupOptions = {
    "pgdata", "format", "wal-method", "xlog-method", "gzip", "version", "compress", "dbname",
    "host",   "port",   "username",   "password"};

Result<std::vector<std::string>, std::string> basebackup_command(const BasebackupRequest& r) {
  if (r.data_dir.empty()) return make_error(std::string("pg_basebackup: no data directory"));
  std::vector<std::string> argv{r.pg_basebackup_bin, "--pgdata=" + r.data_dir, "-X", "stream",
                                "--dbname=" + r.conninfo};
  bool user_checkpoint = false;
  for (const auto& o : r.options) {
    if (o.name.empty() || o.name.front() == '-') return make_error("invalid pg_basebackup option '" + o.name + "'");
    if (std::find(kForbiddenBasebackupOptions.begin(), kForbiddenBasebackupOptions.end(), o.name) !=
        kForbiddenBasebackupOptions.end())
      return make_error(o.name + " option for pg_basebackup is not allowed");
    user_checkpoint |= o.name == "checkpoint";
    argv.push_back(o.value ? "--" + o.name + "=" + *o.value : "--" + o.name);
  }
  if (r.fast_checkpoint && !user_checkpoint) argv.push_back("--checkpoint=fast");
  return argv;
}

Status<std::string> run_basebackup(const BasebackupRequest& r, ProcessRunner& runner) {
  auto argv = basebackup_command(r);
  if (!argv) return make_error(argv.error());
  RunOptions o;
  o.cancel = &r.cancel;
  o.timeout = r.timeout;
  o.env = r.env;
  o.on_output_line = log_child_output("pg_basebackup");
  auto res = runner.run(argv.value(), o);
  if (!res) return make_error(res.error());
  if (!res->success()) return make_error("pg_basebackup " + res->describe() + ": " + res->err);
  return Unit{};
}

}  // namespace custos::postgres
