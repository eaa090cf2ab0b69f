// WatchdogConfig: the `watchdog` section (config.md §2.9) together with the dynamic ttl and
// loop_wait it is measured against, read as Patroni reads it: `mode` off/automatic/required
// (also false, disable(d), auto, require; anything else is off with a warning; default
// automatic), `device` (/dev/watchdog), `safety_margin` (5; -1 = half the ttl), `driver`
// (`default` = the Linux device, `testing` = Patroni's test harness that writes the commands as
// text). Two configs compare equal when a running watchdog would not need to change.
//
// Pure values: any thread. from_sections never fails: what cannot be read is named in
// `warnings` and replaced by Patroni's default.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace custos::watchdog {

enum class Mode { off, automatic, required };
const char* to_string(Mode mode);

struct WatchdogConfig {
  static constexpr const char* kDefaultDevice = "/dev/watchdog";

  Mode mode = Mode::automatic;
  int ttl = 30;
  int loop_wait = 10;
  int safety_margin = 5;
  std::string driver = "default";
  // The section without mode, safety_margin and driver (the driver's own keys: device, ...).
  nlohmann::json driver_config = nlohmann::json::object();

  // `section` = the local `watchdog` value (null when absent); ttl and loop_wait in force.
  static WatchdogConfig from_sections(const nlohmann::json& section, int ttl, int loop_wait,
                                      std::vector<std::string>* warnings = nullptr);

  std::string device() const;
  // Seconds the device is set to: ttl - safety_margin, or ttl / 2 when safety_margin is -1.
  int timeout() const { return safety_margin == -1 ? ttl / 2 : ttl - safety_margin; }
  // What is left of the timeout after one loop_wait; negative = the watchdog cannot be used.
  int timing_slack() const { return timeout() - loop_wait; }

  bool operator==(const WatchdogConfig&) const = default;
};

// Patroni's reading of `mode`: off for a value it does not know (named in *unrecognized).
Mode parse_mode(const nlohmann::json& value, std::string* unrecognized = nullptr);

}  // namespace custos::watchdog
