#include "ctl/ctl_config.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "common/json_truth.h"
#include "common/presentation.h"
#include "config/loader.h"
#include "ctl/dcs_url.h"

namespace custos::ctl {

namespace fs = std::filesystem;

std::string default_config_file() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  std::string base;
  if (xdg && *xdg) {
    base = xdg;
  } else {
    const char* home = std::getenv("HOME");
    base = std::string(home && *home ? home : "") + "/.config";
  }
  return base + "/patroni/patronictl.yaml";
}

Result<nlohmann::json, std::string> load_ctl_configuration(const ConfigRequest& request, const config::EnvMap& env) {
  std::error_code ec;
  std::string path = request.config_file;
  const bool readable = !path.empty() && fs::exists(path, ec) && ::access(path.c_str(), R_OK) == 0;
  if (!readable) {
    if (path != default_config_file())
      return Err<std::string>{"Provided config file " + path +
                              " not existing or no read rights. Check the -c/--config-file parameter"};
    path.clear();  // the default file is optional: environment only
  }
  auto loaded = config::load_local_configuration(path, env);
  if (!loaded) return Err<std::string>{"cannot load the configuration: " + loaded.error().to_string()};
  nlohmann::json cfg = std::move(loaded).value().local;
  if (!cfg.is_object()) cfg = nlohmann::json::object();

  if (request.dcs_url) {
    auto url = parse_dcs_url(*request.dcs_url);
    if (!url) return Err<std::string>{url.error()};
    cfg = apply_dcs_url(std::move(cfg), *url);
  }
  if (!cfg.contains("ctl") || !cfg["ctl"].is_object()) cfg["ctl"] = nlohmann::json::object();
  auto& ctl = cfg["ctl"];
  const bool configured = ctl.contains("insecure") && python_truthy(ctl["insecure"]);
  if (request.insecure || !ctl.contains("insecure")) ctl["insecure"] = configured || request.insecure;
  // Not an error (the agent starts with such a file too), but never a silent default: `list`
  // and `topology` print roles in the generation presented.
  if (auto warning = unaccepted_compat_warning(cfg)) spdlog::warn("{}", *warning);
  return cfg;
}

}  // namespace custos::ctl
