// Process-wide logging as Patroni configures it from the `log` section (spec/config.md,
// Patroni's log settings): level (applied again on every reload), type plain/json, format,
// dateformat, static_fields, dir (then <dir>/patroni.log with file_size/file_num rotation
// and mode instead of stderr), loggers. One spdlog sink owns the output; configure_logging
// swaps its format and destination under the sink's lock, so it may run while other threads
// log.
//
// Thread: configure_logging from the loop thread (start-up and reload); logging from any.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace custos {

// Parses a Patroni log level name (DEBUG, INFO, WARN, WARNING, ERROR, FATAL, CRITICAL),
// case-insensitively. Returns nullopt for anything else.
std::optional<int> parse_log_level(const std::string& name);

// Applies the `log` section (null or {}: Patroni's defaults, INFO on stderr). Problems (an
// unknown level, a format Python would reject, a directory that cannot be written, loggers
// custos does not have) are returned, worded for the log; the rest still applies.
std::vector<std::string> configure_logging(const nlohmann::json& log_section);

// A RunOptions::on_output_line that logs each line of a child's output at INFO as
// "<program>: <line>" (the stream does not change the level: pg_basebackup and initdb write
// their progress to stderr).
std::function<void(std::string_view line, bool from_stderr)> log_child_output(std::string program);


}  // namespace custos
