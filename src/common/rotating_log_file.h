// RotatingLogFile: the agent's log file as Python's RotatingFileHandler keeps Patroni's
// <log.dir>/patroni.log: before a line that would make the file reach `max_bytes` (0: never)
// the file is rotated (patroni.log.N-1 -> .N, ..., patroni.log -> patroni.log.1, keeping
// `backup_count` old files; 0 keeps none and goes on appending), then reopened for appending.
// `mode`: permission bits applied to the file when set (log.mode), else the umask decides.
//
// Thread: not thread-safe (the log sink serialises writes). Blocking: file I/O. Errors: open()
// returns the reason; write() failures are counted and the file is reopened on the next line.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace custos {

class RotatingLogFile {
 public:
  RotatingLogFile(std::string path, uint64_t max_bytes, int backup_count, std::optional<mode_t> mode);
  ~RotatingLogFile();
  RotatingLogFile(const RotatingLogFile&) = delete;
  RotatingLogFile& operator=(const RotatingLogFile&) = delete;

  // Opens (creating) the file; empty on success, else the reason.
  std::string open();
  // Appends `line` (with its newline), rotating first when needed.
  void write(std::string_view line);
  void flush();

  const std::string& path() const { return path_; }
  uint64_t max_bytes() const { return max_bytes_; }
  int backup_count() const { return backup_count_; }
  uint64_t failed_writes() const { return failed_writes_; }

 private:
  void rotate();
  void close();

  const std::string path_;
  const uint64_t max_bytes_;
  const int backup_count_;
  const std::optional<mode_t> mode_;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t failed_writes_ = 0;
};

}  // namespace custos
