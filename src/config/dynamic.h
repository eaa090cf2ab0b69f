// Defaults and the dynamic configuration (DCS `config`), config.md §3, §4, §6.1: the default
// dynamic config, the command-line PostgreSQL parameters (DCS/defaults only), the timing
// adjustment, and the effective configuration = defaults <- dynamic <- local.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace custos::config {

using json = nlohmann::json;

// ---- timing (config.md §4) -------------------------------------------------------------------
inline constexpr int kDefaultTtl = 30;
inline constexpr int kDefaultLoopWait = 10;
inline constexpr int kDefaultRetryTimeout = 10;
inline constexpr int kMinTtl = 20;
inline constexpr int kMinLoopWait = 1;
inline constexpr int kMinRetryTimeout = 3;

struct Timing {
  int ttl = kDefaultTtl;
  int loop_wait = kDefaultLoopWait;
  int retry_timeout = kDefaultRetryTimeout;
  bool operator==(const Timing&) const = default;
};

// Raises values below the minimums (loop_wait 1, retry_timeout 3, ttl 20), then enforces
// loop_wait + 2*retry_timeout <= ttl: if even loop_wait=1 does not fit, loop_wait = 1 and
// retry_timeout = (ttl-1)/2; otherwise loop_wait = ttl - 2*retry_timeout. Each change is
// described in `warnings` (when given) in Patroni's words ("ttl=5 can't be smaller than 20,
// adjusting...", 'Violated the rule "loop_wait + 2*retry_timeout <= ttl", ...').
Timing adjust_timing(Timing t, std::vector<std::string>* warnings = nullptr);

// The timing of a dynamic configuration as Patroni reads it: missing keys take the defaults,
// present ones go through Python's int() (common/python_int.h; clamped to +-1e9 with a
// warning), then adjust_timing. Error (naming the key and value) when int() would raise.
Result<Timing, std::string> timing_from_dynamic(const json& dynamic, std::vector<std::string>* warnings = nullptr);

// `dynamic` with ttl/loop_wait/retry_timeout rewritten where the adjustment above changes them
// (a value raised to its minimum, loop_wait/retry_timeout lowered by the rule), keys it does not
// change left as written: the copy Patroni keeps (it adjusts the value in place) and caches in
// patroni.dynamic.json. Unchanged when a timing value is unreadable.
json with_adjusted_timing(const json& dynamic);

// ---- command-line parameters (config.md §6.1) ------------------------------------------------
struct CommandLineParameter {
  std::string name;
  json default_value;                    // null: derived elsewhere (listen, port, cluster_name)
  std::function<bool(const json&)> valid;  // accepted values from the DCS; local values never count
  bool in_defaults = true;               // false for wal_keep_segments / wal_keep_size
};

const std::vector<CommandLineParameter>& command_line_parameters();
// Case-insensitive lookup; nullptr if `name` is not a command-line parameter.
const CommandLineParameter* find_command_line_parameter(std::string_view name);

// ---- defaults --------------------------------------------------------------------------------
// The full default dynamic configuration (what a new cluster gets when bootstrap.dcs is silent).
json default_dynamic_configuration();

// ---- effective configuration -----------------------------------------------------------------
struct EffectiveConfig {
  json config = json::object();
  std::vector<std::string> warnings;  // ignored/invalid values, timing adjustments
  // Set when ttl/loop_wait/retry_timeout of the dynamic configuration is not an integer as
  // Python's int() reads it: Patroni then refuses the whole dynamic configuration and keeps
  // the one in force ('Exception when setting dynamic_configuration'). `config` is built with
  // the default timing; a caller with a configuration in force keeps that one instead.
  std::optional<std::string> dynamic_error;
};

// defaults <- dynamic <- local with Patroni's exceptions: only ttl/loop_wait/retry_timeout,
// known standby_cluster keys and postgresql.* come from the dynamic config; DCS
// postgresql.{connect_address,proxy_address,listen,config_dir,data_dir,pgpass,authentication}
// are ignored; postgresql.use_slots only from the dynamic config; command-line parameters only
// from the dynamic config/defaults (invalid ones fall back to the default); legacy forms
// normalised (postgresql.name, postgresql.replication/superuser/pg_rewind, create_replica_method);
// restapi/ctl `auth` = "user:password"; citus makes bootstrap.dcs.synchronous_mode default true.
// Never throws: malformed parts are skipped with a warning.
EffectiveConfig build_effective_configuration(const json& dynamic, const json& local);

}  // namespace custos::config
