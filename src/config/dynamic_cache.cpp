#include "config/dynamic_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "config/config.h"

namespace custos::config {

std::string dynamic_cache_path(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / kDynamicCacheFileName).string();
}

Result<std::optional<json>, std::string> load_dynamic_cache(const std::string& data_dir) {
  std::string path = dynamic_cache_path(data_dir);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::optional<json>();
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(path + ": cannot open");
  std::ostringstream buf;
  buf << in.rdbuf();
  json parsed = json::parse(buf.str(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return make_error(path + ": not valid JSON");
  if (!parsed.is_object()) return make_error(path + ": not a JSON object");
  return std::optional<json>(std::move(parsed));
}

json startup_dynamic_configuration(const json& local, std::vector<std::string>* warnings) {
  const Config probe(local);
  if (!probe.data_dir().empty()) {
    auto cache = load_dynamic_cache(probe.data_dir());
    if (!cache) {
      if (warnings) warnings->push_back("cannot use the cached dynamic configuration: " + cache.error());
    } else if (cache.value()) {
      return *cache.value();
    }
  }
  const json& bootstrap = probe.bootstrap();
  if (bootstrap.contains("dcs") && bootstrap["dcs"].is_object()) return bootstrap["dcs"];
  return json::object();
}

Status<std::string> save_dynamic_cache(const std::string& data_dir, const json& dynamic) {
  std::string path = dynamic_cache_path(data_dir);
  std::string text;
  try {
    text = dynamic.dump(-1, ' ', false, json::error_handler_t::replace);
  } catch (const std::exception& e) {
    return make_error(std::string("cannot serialise dynamic configuration: ") + e.what());
  }
  mode_t mode = 0600;
  struct stat st {};
  if (::stat(data_dir.c_str(), &st) == 0 && (st.st_mode & S_IRGRP)) mode = 0640;

  std::string tmpl = path + ".XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) return make_error(path + ": cannot create temporary file: " + std::strerror(errno));
  std::string tmp(name.data());
  auto fail = [&](const std::string& what) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    return make_error(tmp + ": " + what + ": " + std::strerror(err));
  };
  if (::fchmod(fd, mode) != 0) return fail("fchmod");
  std::size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("fsync");
  if (::close(fd) != 0) {
    fd = -1;
    return fail("close");
  }
  fd = -1;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename");
  return Unit{};
}

}  // namespace custos::config
