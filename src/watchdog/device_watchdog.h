// DeviceWatchdog: the agent's watchdog (agent::Watchdog) as Patroni's Watchdog facade behaves:
// - activate(): opens the device of the configuration, sets its timeout to ttl - safety_margin
//   and checks what the device took; `required` fails when no device could be armed with a
//   timeout at most that long, `automatic` goes on without one (and says why). A device whose
//   timeout is shorter than loop_wait is closed again.
// - keepalive(): writes the keepalive; a changed configuration (ttl, loop_wait, safety_margin,
//   driver, device) is applied then, so that the new timeout starts with a fresh lease.
// - disable(): the magic close; a device that cannot be disabled gets a last keepalive and a
//   warning that the system will reboot.
// - After a failed activation the device is replaced by a null one: activation is retried only
//   after the configuration changes (no log line every cycle).
//
// Thread: any; one internal lock (a leaf) guards everything, held across the device's system
// calls (each a few microseconds). Errors: logged with Patroni's messages; never thrown.
#pragma once

#include <functional>
#include <memory>

#include "agent/watchdog.h"
#include "common/thread_annotations.h"
#include "watchdog/watchdog_config.h"
#include "watchdog/watchdog_device.h"

namespace custos::watchdog {

class DeviceWatchdog final : public agent::Watchdog {
 public:
  using DeviceFactory = std::function<std::unique_ptr<WatchdogDevice>(const WatchdogConfig&)>;
  explicit DeviceWatchdog(const WatchdogConfig& config, DeviceFactory factory = make_device);
  // A device still armed is left armed (only disable() disarms it): an agent that exits while
  // PostgreSQL still runs as primary must still be fenced by the watchdog.
  ~DeviceWatchdog() override;

  // Patroni exits at start when `required` names no usable driver on this platform.
  bool required_but_unsupported() const;

  bool activate() override;
  void keepalive() override;
  void disable() override;
  bool is_running() const override;
  bool is_healthy() const override;
  void reload_config(const WatchdogConfig& config) override;

 private:
  bool activate_locked() REQUIRES(mu_);
  // The timeout the device has after setting ours; nullopt when it was closed as unsafe.
  Result<std::optional<int>, std::string> set_timeout_locked() REQUIRES(mu_);
  void disable_locked() REQUIRES(mu_);
  // Activation failed: said, the device closed, replaced by none.
  void activation_failed(const std::string& error) REQUIRES(mu_);
  std::unique_ptr<WatchdogDevice> make(const WatchdogConfig& c) const;

  const DeviceFactory factory_;
  mutable Mutex mu_;
  WatchdogConfig config_ GUARDED_BY(mu_);
  WatchdogConfig active_config_ GUARDED_BY(mu_);
  std::unique_ptr<WatchdogDevice> impl_ GUARDED_BY(mu_);
  bool active_ GUARDED_BY(mu_) = false;
};

}  // namespace custos::watchdog
