#include "watchdog/watchdog_device.h"

#include <fcntl.h>
#include <linux/watchdog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace custos::watchdog {

namespace {

// Python's OSError text, which Patroni's messages embed: "[Errno 2] No such file or directory: '/dev/watchdog'".
std::string os_error(int err, const std::string& path = "") {
  std::string s = "[Errno " + std::to_string(err) + "] " + std::strerror(err);
  if (!path.empty()) s += ": '" + path + "'";
  return s;
}

}  // namespace

LinuxWatchdogDevice::LinuxWatchdogDevice(std::string device) : device_(std::move(device)) {}

LinuxWatchdogDevice::~LinuxWatchdogDevice() {
  // No magic close here: a device still armed when its owner goes away (the agent exits with
  // PostgreSQL still running) must stay armed, as it does when a process dies.
  if (fd_ >= 0) ::close(fd_);
}

bool LinuxWatchdogDevice::is_healthy() const {
  if (fd_ >= 0) return true;
  return ::access(device_.c_str(), F_OK) == 0 && ::access(device_.c_str(), W_OK) == 0;
}

Status<std::string> LinuxWatchdogDevice::open() {
  if (fd_ >= 0) return Unit{};
  // O_APPEND: a regular file used with the testing driver keeps every command in order.
  const int fd = ::open(device_.c_str(), O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return make_error("Can't open watchdog device: " + os_error(errno, device_));
  fd_ = fd;
  return Unit{};
}

Status<std::string> LinuxWatchdogDevice::write_all(const std::string& bytes, const std::string& what) {
  if (fd_ < 0) return make_error(std::string("Watchdog device is closed"));
  std::size_t done = 0;
  int eagain = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN && ++eagain < 3) {
        ::usleep(1000);
        continue;
      }
      return make_error(what + ": " + os_error(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  return Unit{};
}

Status<std::string> LinuxWatchdogDevice::close() {
  if (fd_ < 0) return Unit{};
  auto st = write_all("V", "Error while closing " + describe());
  ::close(fd_);
  fd_ = -1;
  return st;
}

Status<std::string> LinuxWatchdogDevice::keepalive() {
  return write_all("1", "Could not send watchdog keepalive");
}

Result<DeviceSupport, std::string> LinuxWatchdogDevice::support() {
  if (support_cache_) return *support_cache_;
  if (fd_ < 0) return make_error(std::string("Watchdog device is closed"));
  watchdog_info info{};
  if (::ioctl(fd_, WDIOC_GETSUPPORT, &info) != 0)
    return make_error("Could not get information about watchdog device: " + os_error(errno));
  DeviceSupport s;
  s.options = info.options;
  s.firmware_version = info.firmware_version;
  const char* id = reinterpret_cast<const char*>(info.identity);
  s.identity.assign(id, strnlen(id, sizeof info.identity));
  support_cache_ = s;
  return s;
}

Result<bool, std::string> LinuxWatchdogDevice::can_be_disabled() {
  auto s = support();
  if (!s) return make_error(s.error());
  return (s->options & kOptionMagicClose) != 0;
}

Result<bool, std::string> LinuxWatchdogDevice::has_set_timeout() {
  auto s = support();
  if (!s) return make_error(s.error());
  return (s->options & kOptionSetTimeout) != 0;
}

Status<std::string> LinuxWatchdogDevice::set_timeout(int seconds) {
  if (!(0 < seconds && seconds < 0xFFFF))
    return make_error("Invalid timeout " + std::to_string(seconds) + ". Supported values are between 1 and 65535");
  if (fd_ < 0) return make_error(std::string("Could not set timeout on watchdog device: Watchdog device is closed"));
  int t = seconds;
  if (::ioctl(fd_, WDIOC_SETTIMEOUT, &t) != 0)
    return make_error("Could not set timeout on watchdog device: " + os_error(errno));
  return Unit{};
}

Result<int, std::string> LinuxWatchdogDevice::get_timeout() {
  if (fd_ < 0) return make_error(std::string("Could not get timeout on watchdog device: Watchdog device is closed"));
  int t = 0;
  if (::ioctl(fd_, WDIOC_GETTIMEOUT, &t) != 0)
    return make_error("Could not get timeout on watchdog device: " + os_error(errno));
  return t;
}

std::string LinuxWatchdogDevice::describe() {
  const std::string at = device_ != WatchdogConfig::kDefaultDevice ? " at " + device_ : "";
  std::string identity = "Linux watchdog device";
  std::string version;
  if (fd_ >= 0) {
    if (auto s = support()) {
      identity = s->identity;
      if (s->firmware_version) version = " (firmware " + std::to_string(s->firmware_version) + ")";
    }
  }
  return identity + version + at;
}

Result<DeviceSupport, std::string> TestingWatchdogDevice::support() {
  return DeviceSupport{kOptionMagicClose | kOptionSetTimeout, 0, "Watchdog test harness"};
}

Status<std::string> TestingWatchdogDevice::set_timeout(int seconds) {
  auto st = write_all("Ctimeout=" + std::to_string(seconds) + "\n", "Could not set timeout on watchdog device");
  if (st) timeout_ = seconds;
  return st;
}

std::unique_ptr<WatchdogDevice> make_device(const WatchdogConfig& config) {
  if (config.driver == "testing") return std::make_unique<TestingWatchdogDevice>(config.device());
  if (config.driver == "default") return std::make_unique<LinuxWatchdogDevice>(config.device());
  return std::make_unique<NullWatchdogDevice>();
}

}  // namespace custos::watchdog
