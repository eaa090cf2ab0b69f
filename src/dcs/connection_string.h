// URL helpers for member values: the legacy "postgres://...?application_name=<api_url>" member
// format (parse_connection_string) and the connection keywords derived from a conn_url.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace custos::dcs {

// Splits a legacy member value: first = the URL without its query string (fragment kept),
// second = the first non-empty `application_name` query parameter, percent-decoded (or nullopt).
std::pair<std::string, std::optional<std::string>> parse_connection_string(std::string_view value);

// The parts of a URL that conn_kwargs needs, like Python's urlparse: hostname lowercased and
// without IPv6 brackets, port (nullopt when absent or empty), path (starting with '/' or empty).
struct UrlParts {
  std::string scheme;
  std::string hostname;
  std::optional<int> port;
  std::string path;
};
// nullopt when the port is present but not a number in 0..65535 (Python raises there).
std::optional<UrlParts> parse_url(std::string_view url);

// Connection keywords from a conn_url: {"host", "port" (int, 5432 when absent or 0), "dbname"}.
// Empty object when the URL cannot be parsed.
nlohmann::json conn_kwargs_from_url(std::string_view conn_url);

// Merges `auth` into `kwargs`: non-null entries of an object `auth` override, then "username" is
// renamed "user". Non-object `auth` is ignored.
nlohmann::json merge_auth(nlohmann::json kwargs, const nlohmann::json& auth);

// "postgresql://host:port" (IPv6 host in brackets), as Patroni builds it from conn_kwargs.
std::string build_conn_url(std::string_view scheme, std::string_view host, std::string_view port);

}  // namespace custos::dcs
