// Watchdog: the seam for a hardware/software watchdog (ha.md §11): armed before this node
// promotes (and while it stays primary), kept alive with every lock refresh and every failsafe
// confirmation, disabled on pause, demote and clean shutdown (only once PostgreSQL is stopped).
// watchdog::DeviceWatchdog (src/watchdog) is the real one: Patroni's facade over the Linux
// device or Patroni's `testing` driver; tests use a recording fake (tests/support).
//
// Thread: the HA loop and the shutdown path (main thread); the real one locks internally, so
// REST threads may read is_running/is_healthy. Blocking: at most a few device system calls.
// Errors: activate() returns false when a required watchdog cannot be armed; other failures are
// logged by the implementation.
#pragma once

#include "watchdog/watchdog_config.h"

namespace custos::agent {

class Watchdog {
 public:
  virtual ~Watchdog() = default;
  // Arms the watchdog (timeout = ttl - safety_margin). False only when the mode requires a
  // watchdog and none could be armed safely; true otherwise (automatic without a device too).
  virtual bool activate() = 0;
  virtual void keepalive() = 0;
  virtual void disable() = 0;
  // A device is armed.
  virtual bool is_running() const = 0;
  // False when the configured mode requires a watchdog that does not work.
  virtual bool is_healthy() const = 0;
  // The configuration changed (watchdog section on reload, ttl/loop_wait from the DCS). A
  // running watchdog takes it at its next keepalive, so that its timeout follows the lease.
  virtual void reload_config(const watchdog::WatchdogConfig& config) { (void)config; }
};

}  // namespace custos::agent
