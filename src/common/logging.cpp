#include "common/logging.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace custos {

std::optional<int> parse_log_level(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::toupper(c); });
  if (n == "DEBUG") return spdlog::level::debug;
  if (n == "INFO") return spdlog::level::info;
  if (n == "WARN" || n == "WARNING") return spdlog::level::warn;
  if (n == "ERROR") return spdlog::level::err;
  if (n == "FATAL" || n == "CRITICAL") return spdlog::level::critical;
  return std::nullopt;
}

void init_logging(const std::string& level) {
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S,%e %^%l%$: %v");
  auto parsed = parse_log_level(level);
  spdlog::set_level(static_cast<spdlog::level::level_enum>(parsed.value_or(spdlog::level::info)));
}

}  // namespace custos
