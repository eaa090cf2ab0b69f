// Process-wide logging set-up on top of spdlog (level names as Patroni's `log.level`).
#pragma once

#include <optional>
#include <string>

namespace custos {

// Parses a Patroni log level name (DEBUG, INFO, WARN, WARNING, ERROR, FATAL, CRITICAL),
// case-insensitively. Returns nullopt for anything else.
std::optional<int> parse_log_level(const std::string& name);

// Sets the global spdlog level and a Patroni-like line format "<time> <LEVEL>: <message>".
void init_logging(const std::string& level = "INFO");

}  // namespace custos
