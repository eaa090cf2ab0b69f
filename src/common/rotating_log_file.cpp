#include "common/rotating_log_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace custos {

RotatingLogFile::RotatingLogFile(std::string path, uint64_t max_bytes, int backup_count, std::optional<mode_t> mode)
    : path_(std::move(path)), max_bytes_(max_bytes), backup_count_(backup_count < 0 ? 0 : backup_count), mode_(mode) {}

RotatingLogFile::~RotatingLogFile() { close(); }

void RotatingLogFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string RotatingLogFile::open() {
  close();
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode_ ? *mode_ : 0666);
  if (fd_ < 0) return std::strerror(errno);
  if (mode_) ::fchmod(fd_, *mode_);
  struct stat st {};
  size_ = ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return "";
}

void RotatingLogFile::rotate() {
  close();
  if (backup_count_ > 0) {
    auto name = [&](int i) { return path_ + "." + std::to_string(i); };
    for (int i = backup_count_ - 1; i > 0; --i) {
      if (::access(name(i).c_str(), F_OK) == 0) {
        ::unlink(name(i + 1).c_str());
        ::rename(name(i).c_str(), name(i + 1).c_str());
      }
    }
    ::unlink(name(1).c_str());
    ::rename(path_.c_str(), name(1).c_str());
  }
  open();
}

void RotatingLogFile::write(std::string_view line) {
  if (fd_ < 0 && !open().empty()) {
    ++failed_writes_;
    return;
  }
  if (max_bytes_ > 0 && size_ + line.size() >= max_bytes_) rotate();
  if (fd_ < 0) {
    ++failed_writes_;
    return;
  }
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ++failed_writes_;
      close();
      return;
    }
    done += static_cast<size_t>(n);
  }
  size_ += done;
}

void RotatingLogFile::flush() {
  // Every line is written with write(2): nothing is buffered here.
}

}  // namespace custos
