// WAL positions (LSN): PostgreSQL prints them as "X/Y" (two hex halves); we carry them as int64.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace custos {

// Parses "X/Y" (hexadecimal high and low 32-bit halves, surrounding blanks allowed) into
// (X << 32) | Y. Returns nullopt for anything malformed or out of range.
std::optional<int64_t> parse_lsn(std::string_view text);

// Formats as PostgreSQL does: upper-case hex without leading zeros, e.g. "0/3000148".
std::string format_lsn(int64_t lsn);

}  // namespace custos
