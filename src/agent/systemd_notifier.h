// SystemdNotifier: the agent's side of a systemd unit with Type=notify (packaging/custos.service),
// through Debian's libsystemd: READY=1 once the REST API listens and the first HA cycle ran,
// WATCHDOG=1 after every HA cycle when the unit sets WatchdogSec= (a hung HA loop then gets the
// agent restarted), STATUS= with the last cycle's message, STOPPING=1 at shutdown. Outside
// systemd (no NOTIFY_SOCKET) every call does nothing. Any thread; one datagram per call, which
// blocks only while systemd's socket queue is full (systemd reads it at once). Also after a
// failed cycle (Agent::run_cycle_guarded).
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

namespace custos::agent {

class SystemdNotifier {
 public:
  SystemdNotifier();

  // After an HA cycle: READY=1 the first time, WATCHDOG=1 when the watchdog is on, STATUS=.
  void cycle_done(const std::string& status);
  void stopping();
  // WatchdogSec= of the unit (from WATCHDOG_USEC for this process); nullopt when off.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }

 private:
  std::optional<std::chrono::microseconds> watchdog_;
  std::atomic<bool> ready_sent_{false};
};

}  // namespace custos::agent
