// Small file helpers shared by the writers of this module: atomic replace with a given mode.
#pragma once

#include <string>
#include <sys/types.h>

namespace custos::postgres {

// Writes `content` to a temporary file next to `path`, fsyncs it, sets `mode` and renames it over
// `path`. Throws std::runtime_error on failure (unexpected: permissions, disk full).
void write_file_atomic(const std::string& path, const std::string& content, mode_t mode = 0600);

// Reads a whole file; throws std::runtime_error if it cannot be opened.
std::string read_file(const std::string& path);

}  // namespace custos::postgres
