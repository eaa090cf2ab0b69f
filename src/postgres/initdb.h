// initdb bootstrap: renders `bootstrap.initdb` options (`flag` -> --flag, {opt: val} ->
// --opt=val, forbidden options refused) and runs initdb with --username=<superuser> and
// --pwfile=<temporary file>.
#pragma once

#include "common/cancel_token.h"

#include "common/process_runner.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace custos::postgres {

struct InitdbOption {
  std::string name;
  std::optional<std::string> value;  // nullopt: a bare flag
  bool operator==(const InitdbOption&) const = default;
};

// Options the user may not pass (custos passes them itself or they break bootstrap).
extern const std::vector<std::string> kForbiddenInitdbOptions;  // pgdata nosync pwfile sync-only version

// Accepts the YAML/JSON shapes of `bootstrap.initdb`: a list whose items are strings (flags) or
// single-key maps with a string value, or a map (keys with empty/false/null values skipped,
// numbers and booleans converted to text). Values wrapped in matching quotes are unquoted.
// Refuses forbidden options and any other shape, with a message.
Result<std::vector<InitdbOption>, std::string> parse_initdb_options(const nlohmann::json& config);

// `--name` / `--name=value`, refusing forbidden or empty names.
Result<std::vector<std::string>, std::string> render_initdb_options(const std::vector<InitdbOption>& options);

struct InitdbRequest {
  std::string initdb_bin = "initdb";
  std::string data_dir;
  std::vector<InitdbOption> options;
  std::string superuser;                         // --username=; omitted when empty
  std::optional<std::string> superuser_password; // written to a 0600 temp file for --pwfile=
  std::string temp_dir;                          // for the pwfile; $TMPDIR or /tmp when empty
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  // Cancelling it kills the program (common/process.h RunOptions::cancel).
  CancelToken cancel;
};

// The argv: initdb <user options> --username=... [--pwfile=<pwfile>] --pgdata=<data_dir>.
Result<std::vector<std::string>, std::string> initdb_command(const InitdbRequest& request, const std::string& pwfile);

// Runs initdb (LANG/LC_ALL not forced: the locale is initdb's to choose). The password file is
// removed afterwards in every case. Error text includes initdb's output.
Status<std::string> run_initdb(const InitdbRequest& request, ProcessRunner& runner = system_process_runner());

}  // namespace custos::postgres
