#include "agent/systemd_notifier.h"

#include <systemd/sd-daemon.h>

#include <spdlog/spdlog.h>

namespace custos::agent {

namespace {
// STATUS= is one line of text; keep it short and free of newlines.
std::string status_line(const std::string& text) {
  std::string s = text.substr(0, 200);
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}
}  // namespace

SystemdNotifier::SystemdNotifier() {
  uint64_t usec = 0;
  // The variables stay set: sd_notify reads NOTIFY_SOCKET at every call. Children do not get
  // them (common/process.cpp leaves them out), so PostgreSQL, built with systemd support,
  // does not speak for the unit.
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_ = std::chrono::microseconds(usec);
    spdlog::info("systemd watchdog on: a keepalive after every HA cycle, at most {} s apart", usec / 1000000.0);
  }
}

void SystemdNotifier::cycle_done(const std::string& status) {
  std::string message;
  if (!ready_sent_.exchange(true)) message += "READY=1\n";
  if (watchdog_) message += "WATCHDOG=1\n";
  message += "STATUS=" + status_line(status);
  const int rc = sd_notify(0, message.c_str());
  if (rc < 0) spdlog::debug("sd_notify failed: {}", rc);
}

void SystemdNotifier::stopping() { sd_notify(0, "STOPPING=1\nSTATUS=stopping"); }

}  // namespace custos::agent
