// Validation of a local configuration tree for `custos --validate-config` (config.md §5):
// required keys, types, minimums and ranges, the timing rule, addresses, data_dir, tags,
// forbidden initdb/pg_basebackup options, and unknown keys (warnings). Never throws: garbage in
// gives errors out. Checks that touch the machine (listen port free, data_dir contents,
// `postgres --version`) are injectable so that tests stay hermetic.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace custos::config {

using json = nlohmann::json;

enum class Severity { kError, kWarning };

struct Problem {
  Severity severity = Severity::kError;
  std::string path;  // dotted key path, e.g. "bootstrap.dcs.ttl"; "(root)" for the whole file
  std::string message;
  // "ERROR  bootstrap.dcs.ttl: must be >= 20, got 5" / "WARNING restapi.foo: unknown key ..."
  std::string to_string() const;
};

struct ValidateOptions {
  // restapi.listen must be bindable. Default check binds a socket; replace for tests.
  bool check_listen_port = true;
  std::function<bool(const std::string& host, int port)> port_is_free;
  // postgresql.data_dir: absent/empty, or PG_VERSION + pg_wal (pg_xlog before 10).
  bool check_data_dir = true;
  // Major version printed by `postgres --version` for the configured binary ("16", "9.6");
  // nullopt when it cannot be run (then the comparison is skipped with a warning).
  // Default runs the binary; set check_postgres_version=false to skip.
  bool check_postgres_version = true;
  std::function<std::optional<std::string>(const std::string& postgres_binary)> postgres_major_version;
};

// Validates a local configuration tree (as loaded from YAML/env, before defaults).
std::vector<Problem> validate_config(const json& config, const ValidateOptions& options = {});

// Validates a dynamic configuration object (bootstrap.dcs, DCS `config`, PATCH /config result);
// `prefix` is prepended to key paths ("bootstrap.dcs", or "" for the DCS object itself).
std::vector<Problem> validate_dynamic_configuration(const json& dynamic, const std::string& prefix);
// Every problem of a dynamic configuration about to be stored (PATCH/PUT /config, edit-config),
// errors and warnings alike, as "path: message". Patroni stores such a value; custos stores it
// too and reports these as warnings (log, X-Custos-Warning header), or refuses when asked to be
// strict (custosctl edit-config --strict). "(root): ..." when it is not a mapping.
std::vector<std::string> dynamic_configuration_problems(const json& dynamic);
// Patroni's warnings for contradicting tags (nofailover with failover_priority, nosync with
// sync_priority), in its words: "Conflicting configuration between nofailover: True and
// failover_priority: 1. Defaulting to nofailover: True". Logged at start and on reload.
std::vector<std::string> contradictory_tag_warnings(const json& tags);

// Parses YAML text then validates; YAML errors come back as one error with line/column.
std::vector<Problem> validate_config_text(std::string_view yaml_text, const ValidateOptions& options = {});

// Loads a file or directory (config.md §1 merge rules, without environment) then validates.
std::vector<Problem> validate_config_path(const std::string& path, const ValidateOptions& options = {});

bool has_errors(const std::vector<Problem>& problems);

// Default implementations of the injectable checks.
bool default_port_is_free(const std::string& host, int port);
std::optional<std::string> default_postgres_major_version(const std::string& postgres_binary);

}  // namespace custos::config
