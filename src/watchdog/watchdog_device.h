// WatchdogDevice: one watchdog the agent can arm, as Patroni's drivers see it (ha.md §11).
// - LinuxWatchdogDevice: the Linux watchdog API on a character device (/dev/watchdog): opened
//   write-only, WDIOC_GETSUPPORT / WDIOC_SETTIMEOUT / WDIOC_GETTIMEOUT ioctls, a write of "1" as
//   the keepalive, and the magic close (a write of "V" before close) so that closing disarms it.
// - TestingWatchdogDevice: Patroni's `testing` driver. The same open, keepalive and magic close,
//   but the timeout is written as the text "Ctimeout=<seconds>\n" instead of an ioctl, so that a
//   test reading a FIFO or a file sees every command. It claims MAGICCLOSE and SETTIMEOUT.
// - NullWatchdogDevice: no device (mode off, unknown driver, or activation failed).
//
// The device is opened non-blocking: a FIFO without a reader fails to open (ENXIO) and a full
// one fails a keepalive (EAGAIN), instead of blocking the HA loop.
//
// Thread: not thread-safe; DeviceWatchdog serializes all calls. Blocking: one system call.
// Errors: Status/Result with Patroni's messages ("Can't open watchdog device: ...").
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "watchdog/watchdog_config.h"

namespace custos::watchdog {

// WDIOF_* bits of struct watchdog_info.options that the agent cares about.
inline constexpr unsigned kOptionSetTimeout = 0x0080;
inline constexpr unsigned kOptionMagicClose = 0x0100;

struct DeviceSupport {
  unsigned options = 0;
  unsigned firmware_version = 0;
  std::string identity;
};

class WatchdogDevice {
 public:
  virtual ~WatchdogDevice() = default;
  virtual bool is_null() const { return false; }
  // Opened (armed).
  virtual bool is_running() const = 0;
  // Opening is expected to work (the device exists and is writable), or it is open.
  virtual bool is_healthy() const = 0;
  virtual Status<std::string> open() = 0;
  // The magic close: writes "V", then closes. No-op when not open.
  virtual Status<std::string> close() = 0;
  virtual Status<std::string> keepalive() = 0;
  virtual Result<bool, std::string> can_be_disabled() = 0;
  virtual Result<bool, std::string> has_set_timeout() = 0;
  virtual Status<std::string> set_timeout(int seconds) = 0;
  virtual Result<int, std::string> get_timeout() = 0;
  // "Linux watchdog device", or the identity the driver reports, " at <device>" when not the default.
  virtual std::string describe() = 0;
};

class NullWatchdogDevice final : public WatchdogDevice {
 public:
  bool is_null() const override { return true; }
  bool is_running() const override { return false; }
  bool is_healthy() const override { return false; }
  Status<std::string> open() override { return Unit{}; }
  Status<std::string> close() override { return Unit{}; }
  Status<std::string> keepalive() override { return Unit{}; }
  Result<bool, std::string> can_be_disabled() override { return true; }
  Result<bool, std::string> has_set_timeout() override { return false; }
  Status<std::string> set_timeout(int) override {
    return make_error(std::string("Setting timeout is not supported on NullWatchdog"));
  }
  Result<int, std::string> get_timeout() override { return 1'000'000'000; }  // big enough not to matter
  std::string describe() override { return "NullWatchdog"; }
};

class LinuxWatchdogDevice : public WatchdogDevice {
 public:
  explicit LinuxWatchdogDevice(std::string device);
  ~LinuxWatchdogDevice() override;  // closes the file without the magic character: stays armed
  LinuxWatchdogDevice(const LinuxWatchdogDevice&) = delete;
  LinuxWatchdogDevice& operator=(const LinuxWatchdogDevice&) = delete;

  bool is_running() const override { return fd_ >= 0; }
  bool is_healthy() const override;
  Status<std::string> open() override;
  Status<std::string> close() override;
  Status<std::string> keepalive() override;
  Result<bool, std::string> can_be_disabled() override;
  Result<bool, std::string> has_set_timeout() override;
  Status<std::string> set_timeout(int seconds) override;
  Result<int, std::string> get_timeout() override;
  std::string describe() override;

 protected:
  virtual Result<DeviceSupport, std::string> support();
  // Writes all of `bytes`; errors name `what`.
  Status<std::string> write_all(const std::string& bytes, const std::string& what);
  const std::string device_;
  int fd_ = -1;

 private:
  std::optional<DeviceSupport> support_cache_;
};

class TestingWatchdogDevice final : public LinuxWatchdogDevice {
 public:
  using LinuxWatchdogDevice::LinuxWatchdogDevice;
  Status<std::string> set_timeout(int seconds) override;
  Result<int, std::string> get_timeout() override { return timeout_; }

 protected:
  Result<DeviceSupport, std::string> support() override;

 private:
  int timeout_ = 60;
};

// The device a configuration names: `testing` -> TestingWatchdogDevice, `default` (on Linux)
// -> LinuxWatchdogDevice, anything else -> NullWatchdogDevice.
std::unique_ptr<WatchdogDevice> make_device(const WatchdogConfig& config);

}  // namespace custos::watchdog
