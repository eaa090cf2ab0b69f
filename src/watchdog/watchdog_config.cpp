#include "watchdog/watchdog_config.h"

#include <algorithm>
#include <cctype>

#include "common/python_int.h"

namespace custos::watchdog {

using json = nlohmann::json;

const char* to_string(Mode mode) {
  switch (mode) {
    case Mode::off: return "off";
    case Mode::automatic: return "automatic";
    case Mode::required: return "required";
  }
  return "off";
}

Mode parse_mode(const json& value, std::string* unrecognized) {
  if (value.is_boolean() && !value.get<bool>()) return Mode::off;  // YAML `mode: off` is false
  if (!value.is_string()) {
    if (unrecognized) *unrecognized = value.dump();
    return Mode::off;
  }
  std::string m = value.get<std::string>();
  std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (m == "require" || m == "required") return Mode::required;
  if (m == "auto" || m == "automatic") return Mode::automatic;
  if (m != "off" && m != "disable" && m != "disabled" && unrecognized) *unrecognized = value.get<std::string>();
  return Mode::off;
}

WatchdogConfig WatchdogConfig::from_sections(const json& section, int ttl, int loop_wait,
                                             std::vector<std::string>* warnings) {
  WatchdogConfig c;
  c.ttl = ttl;
  c.loop_wait = loop_wait;
  if (!section.is_object()) return c;  // no section: Patroni's defaults (automatic)
  if (auto it = section.find("mode"); it != section.end()) {
    std::string unrecognized;
    c.mode = parse_mode(*it, &unrecognized);
    if (!unrecognized.empty() && warnings)
      warnings->push_back("Watchdog mode " + unrecognized + " not recognized, disabling watchdog");
  }
  if (auto it = section.find("safety_margin"); it != section.end()) {
    auto v = python_int(*it);
    if (v && *v >= -1 && *v <= 1'000'000'000) {
      c.safety_margin = static_cast<int>(*v);
    } else if (warnings) {
      warnings->push_back("watchdog.safety_margin: " + it->dump() + " is not an integer >= -1, using 5");
    }
  }
  if (auto it = section.find("driver"); it != section.end()) {
    if (it->is_string()) c.driver = it->get<std::string>();
    else if (warnings) warnings->push_back("watchdog.driver: " + it->dump() + " is not a string, using default");
  }
  for (const auto& [k, v] : section.items())
    if (k != "mode" && k != "safety_margin" && k != "driver") c.driver_config[k] = v;
  return c;
}

std::string WatchdogConfig::device() const {
  auto it = driver_config.find("device");
  if (it != driver_config.end() && it->is_string() && !it->get<std::string>().empty()) return it->get<std::string>();
  return kDefaultDevice;
}

}  // namespace custos::watchdog
