#include "mpp/citus_settings.h"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/text.h"

namespace custos::mpp {

namespace {

std::optional<long long> as_int(const std::string& v) {
  try {
    std::size_t used = 0;
    const long long n = std::stoll(v, &used);
    if (used != v.size()) return std::nullopt;
    return n;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void set_command_line(postgres::NodeSettings& s, const std::string& name, const std::string& value) {
  for (auto& [k, v] : s.command_line)
    if (k == name) {
      v = value;
      return;
    }
  // Keep kCommandLineParameters order: wal_level and max_prepared_transactions follow the
  // entries before them in that list; appending is enough for postgres, which takes any order.
  s.command_line.emplace_back(name, value);
}

std::optional<std::string> command_line_value(const postgres::NodeSettings& s, const std::string& name) {
  for (const auto& [k, v] : s.command_line)
    if (k == name) return v;
  return std::nullopt;
}

}  // namespace

void apply_citus_settings(postgres::NodeSettings& s) {
  set_command_line(s, "wal_level", "logical");
  const auto prepared = command_line_value(s, "max_prepared_transactions");
  if (!prepared || as_int(std::string(trim_blanks(*prepared))).value_or(0) == 0) {
    const auto max_connections = command_line_value(s, "max_connections");
    const long long connections = max_connections ? as_int(std::string(trim_blanks(*max_connections))).value_or(100) : 100;
    set_command_line(s, "max_prepared_transactions", std::to_string(connections * 2));
  }
  std::vector<std::string> libraries = {"citus"};
  if (auto it = s.conf_parameters.find("shared_preload_libraries"); it != s.conf_parameters.end())
    for (const auto& lib : split_trimmed(it->second, ','))
      if (!lib.empty() && lib != "citus") libraries.push_back(lib);
  std::string joined;
  for (const auto& lib : libraries) joined += (joined.empty() ? "" : ",") + lib;
  s.conf_parameters["shared_preload_libraries"] = joined;
  const std::string host = s.local_address(s.use_unix_socket);
  s.conf_parameters["citus.local_hostname"] = host.empty() ? "localhost" : host;
}

}  // namespace custos::mpp
