#include "postgres/postmaster_pid.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include "common/text.h"

#include <charconv>
#include <vector>

namespace custos::postgres {

namespace {
std::string trim(std::string_view s) { return std::string(trim_blanks(s)); }

template <class T>
bool to_int(const std::string& s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}
}  // namespace

std::optional<PostmasterPidFile> parse_postmaster_pid(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    lines.push_back(trim(text.substr(0, nl)));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
  PostmasterPidFile pf;
  long pid = 0;
  if (lines.empty() || !to_int(lines[0], pid) || pid <= 0) return std::nullopt;
  pf.pid = static_cast<pid_t>(pid);
  if (lines.size() > 1) pf.data_dir = lines[1];
  if (lines.size() > 2) to_int(lines[2], pf.start_time);
  if (lines.size() > 3) to_int(lines[3], pf.port);
  if (lines.size() > 4) pf.socket_dir = lines[4];
  if (lines.size() > 5) pf.listen_addr = lines[5];
  if (lines.size() > 6) pf.shmem_key = lines[6];
  if (lines.size() > 7) pf.status = lines[7];
  return pf;
}

std::optional<PostmasterPidFile> read_postmaster_pid(const std::string& data_dir) {
  // Read every cycle: plain system calls, no stream machinery. The file is a few hundred bytes.
  const int fd = ::open((data_dir + "/postmaster.pid").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buf[1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<size_t>(n));
      if (text.size() <= 64 * 1024) continue;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n == 0) {
      break;
    }
    ::close(fd);
    return std::nullopt;  // a read error, or not a postmaster.pid
  }
  ::close(fd);
  return parse_postmaster_pid(text);
}

}  // namespace custos::postgres
