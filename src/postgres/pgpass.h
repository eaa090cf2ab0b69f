// The pgpass file written before basebackup, rewind, post_bootstrap and for replication
// (passfile): lines `host:port:*:user:password`, ':' and '\' escaped, mode 0600.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace custos::postgres {

struct PgpassEntry {
  std::string host;  // may be comma-separated (one line per host); empty means '*'
  std::string port;  // empty means '*'
  std::string user;  // empty means '*'
  std::string password;
};

// Backslash-escapes ':' and '\'.
std::string escape_pgpass_field(std::string_view value);

// One line per host of each entry (database always '*'), as Patroni: hosts are split at ',' and
// trimmed; when a host is a Unix socket directory (starts with '/') a `localhost` line is added
// too (libpq looks up socket connections as "localhost"). Lines end with '\n'.
std::string render_pgpass(const std::vector<PgpassEntry>& entries);

// Writes the file atomically with mode 0600. Throws std::runtime_error on I/O failure.
void write_pgpass(const std::string& path, const std::vector<PgpassEntry>& entries);

}  // namespace custos::postgres
