// The configuration custosctl works with (ctl.md §1): the config file (-c, PATRONICTL_CONFIG_FILE,
// default <XDG config dir>/patroni/patronictl.yaml) or PATRONI_* variables, loaded like the
// daemon's but without validation; --dcs-url replacing the DCS section; -k forcing
// ctl.insecure.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "config/env.h"

namespace custos::ctl {

// $XDG_CONFIG_HOME/patroni/patronictl.yaml, else ~/.config/patroni/patronictl.yaml.
std::string default_config_file();

struct ConfigRequest {
  std::string config_file;             // the path to read (default_config_file() when not given)
  std::optional<std::string> dcs_url;  // --dcs-url / DCS_URL
  bool insecure = false;               // -k
};

// Loads the configuration. A missing or unreadable file is an error unless it is the default
// path (then the PATRONI_* environment alone is used). Errors: unreadable/invalid file, bad
// --dcs-url.
Result<nlohmann::json, std::string> load_ctl_configuration(const ConfigRequest& request,
                                                           const config::EnvMap& env);

}  // namespace custos::ctl
