#include "postgres/postmaster_pid.h"

#include "common/text.h"
#include "postgres/file_util.h"

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
  // Read every cycle; the file is a few hundred bytes (64 KiB or more is not a postmaster.pid).
  const auto text = read_small_file(data_dir + "/postmaster.pid", 64 * 1024);
  if (!text) return std::nullopt;
  return parse_postmaster_pid(*text);
}

}  // namespace custos::postgres
