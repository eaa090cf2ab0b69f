// The data directory's postmaster.pid file: pid, data dir, start time, port, socket dir, listen
// address, shared memory key and status line ("starting", "ready", "standby", "stopping").
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace custos::postgres {

struct PostmasterPidFile {
  pid_t pid = 0;
  std::string data_dir;
  int64_t start_time = 0;  // seconds since the epoch
  int port = 0;
  std::string socket_dir;   // first unix_socket_directories entry, "" if none
  std::string listen_addr;  // first listen_addresses entry, "" if none
  std::string shmem_key;
  std::string status;  // trimmed; "" while not yet written

  // "ready" (primary accepting connections) or "standby" (hot standby accepting read-only).
  bool accepting() const { return status == "ready" || status == "standby"; }
};

// Parses the file's content. Lines may be missing at the end (the postmaster fills them in while
// starting); the first line must be a positive pid. nullopt otherwise.
std::optional<PostmasterPidFile> parse_postmaster_pid(std::string_view text);

// Reads and parses <data_dir>/postmaster.pid; nullopt if missing or unparsable.
std::optional<PostmasterPidFile> read_postmaster_pid(const std::string& data_dir);

}  // namespace custos::postgres
