// Small file helpers shared by this module: atomic replace with a given mode, whole-file read,
// the data directory's PG_VERSION.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

namespace custos::postgres {

// Writes `content` to a temporary file next to `path`, fsyncs it, sets `mode` and renames it over
// `path`. Throws std::runtime_error on failure (unexpected: permissions, disk full).
void write_file_atomic(const std::string& path, const std::string& content, mode_t mode = 0600);

// Reads a whole file; throws std::runtime_error if it cannot be opened.
std::string read_file(const std::string& path);

// Reads a small file that is read often (postmaster.pid, PG_VERSION) with plain system calls;
// nullopt when it cannot be opened or read, or holds more than `limit` bytes. Never throws
// (but std::bad_alloc).
std::optional<std::string> read_small_file(const std::string& path, size_t limit);

// The major version in <data_dir>/PG_VERSION ("15" -> 15, "9.6" -> 9); 0 when the file is
// missing or holds no number. Never throws.
int data_dir_major_version(const std::string& data_dir);

}  // namespace custos::postgres
