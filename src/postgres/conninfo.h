// libpq connection strings: quoting of key='value' pairs, building, parsing, and the
// Patroni-style DSN format used for primary_conninfo (key=value with backslash escapes).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace custos::postgres {

// Ordered list of conninfo keywords and values (order is kept when rendering).
using ConninfoParams = std::vector<std::pair<std::string, std::string>>;

// Quotes a value for a libpq conninfo string: wraps it in single quotes and escapes
// backslashes and single quotes with a backslash. "a'b" -> 'a\'b'.
std::string quote_conninfo_value(std::string_view value);

// Renders params as "k1='v1' k2='v2'" (every value quoted; empty values kept as '').
// Throws std::invalid_argument for an empty or non-identifier keyword.
std::string build_conninfo(const ConninfoParams& params);

// Returns `params` with `key` set to `value` (replacing an existing entry in place, else appended).
ConninfoParams with_param(ConninfoParams params, const std::string& key, const std::string& value);

// Parses a conninfo string (key=value form or postgresql:// URI) with libpq's own parser.
// Only keywords that are set are returned. Error text comes from libpq.
Result<std::map<std::string, std::string>, std::string> parse_conninfo(const std::string& conninfo);

// Whether this process's libpq accepts `keyword` (libpq 15 knows no sslnegotiation, say).
// Thread-safe; the answer is computed once.
bool libpq_knows_keyword(const std::string& keyword);

// Patroni's DSN format (used for primary_conninfo and the DSN passed to scripts):
// keywords in Patroni's fixed order (dbname, user, passfile|password, host, port, sslmode, ...),
// only those present and non-empty, each as key=value where ', \ and blank are backslash-escaped.
// `passfile` replaces `password` when present. Unknown keywords are dropped.
std::string format_dsn(const std::map<std::string, std::string>& params);

}  // namespace custos::postgres
