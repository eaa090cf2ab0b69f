// Watchdog: the seam for a hardware/software watchdog (ha.md §11): armed before this node
// promotes, kept alive with every lock refresh, disabled on pause, demote and clean shutdown.
// NoWatchdog is what custos runs with until watchdog devices are supported (issue 12): it can
// never be armed, so `watchdog.mode: required` refuses promotion (and is warned about at start).
//
// Thread: HA loop only. Blocking: at most a device ioctl. Errors: activate() returns false.
#pragma once

namespace custos::agent {

class Watchdog {
 public:
  virtual ~Watchdog() = default;
  // Arms the watchdog (timeout = ttl - safety_margin); false when it cannot be armed.
  virtual bool activate() = 0;
  virtual void keepalive() = 0;
  virtual void disable() = 0;
  virtual bool is_running() const = 0;
  // False when the configured mode requires a watchdog that does not work.
  virtual bool is_healthy() const = 0;
};

class NoWatchdog final : public Watchdog {
 public:
  bool activate() override { return false; }
  void keepalive() override {}
  void disable() override {}
  bool is_running() const override { return false; }
  bool is_healthy() const override { return true; }
};

}  // namespace custos::agent
