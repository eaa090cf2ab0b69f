#include "postgres/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace custos::postgres {

namespace {
[[noreturn]] void fail(const std::string& what, const std::string& path, int err) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(err));
}
}  // namespace

void write_file_atomic(const std::string& path, const std::string& content, mode_t mode) {
  std::string tmpl = path + ".tmpXXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkstemp(buf.data());
  if (fd < 0) fail("cannot create temporary file for", path, errno);
  std::string tmp(buf.data());
  auto cleanup = [&](const char* what) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(what, path, e);
  };
  if (::fchmod(fd, mode) != 0) cleanup("cannot chmod");
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      cleanup("cannot write");
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) cleanup("cannot fsync");
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    fail("cannot close", path, e);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    fail("cannot rename into", path, e);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::optional<std::string> read_small_file(const std::string& path, size_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buf[1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<size_t>(n));
      if (text.size() <= limit) continue;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n == 0) {
      break;
    }
    ::close(fd);
    return std::nullopt;  // a read error, or larger than the file can be
  }
  ::close(fd);
  return text;
}

int data_dir_major_version(const std::string& data_dir) {
  // Asked every cycle (the recovery settings).
  const auto text = read_small_file(data_dir + "/PG_VERSION", 4096);
  if (!text || text->empty()) return 0;
  const char* p = text->data();
  const char* end = p + text->size();
  while (p < end && std::isspace(static_cast<unsigned char>(*p))) ++p;
  int major = 0;
  const auto [rest, ec] = std::from_chars(p, end, major);
  return ec == std::errc() && rest != p ? major : 0;
}

}  // namespace custos::postgres
