// SettingsStore: the configuration in force, shared by the HA loop and the REST threads as one
// immutable snapshot (EffectiveSettings). The loop applies the DCS `config` value and reloads
// the local configuration (SIGHUP, POST /reload): the file is read again and the PATRONI_*
// variables captured at start-up are applied on top again (they were removed from the process
// environment), as Patroni does. Readers keep the snapshot they took; nothing is read half-way.
//
// Thread: current() from any thread; apply_dynamic/reload_local/set_managed_ssn from the loop.
// Blocking: reload_local reads the configuration file(s). Errors: a file that cannot be read or
// parsed leaves the settings as they were and is returned as text.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "common/thread_annotations.h"
#include "config/config.h"
#include "config/env.h"
#include "ha/settings.h"
#include "postgres/node_settings.h"

namespace custos::agent {

struct EffectiveSettings {
  config::Config config;
  ha::HaSettings ha;
  postgres::NodeSettings pg;
};

class SettingsStore {
 public:
  // `config_path`: re-read on reload (empty: the configuration came from the environment only).
  // `environment`: the PATRONI_* variables of the process at start-up.
  SettingsStore(config::Config initial, std::string config_path, config::EnvMap environment);

  std::shared_ptr<const EffectiveSettings> current() const EXCLUDES(mu_);

  struct DynamicApplied {
    bool changed = false;  // false when `dynamic` equals what is in force
    // Set when Patroni would refuse `dynamic` (a timing value int() cannot read): the
    // configuration in force stays, only its global keys (pause, modes, slots) come from it.
    std::optional<std::string> refused;
  };
  // The DCS `config` value (dynamic configuration).
  DynamicApplied apply_dynamic(const nlohmann::json& dynamic) EXCLUDES(mu_);
  // Re-reads the local configuration (file + captured environment).
  Status<std::string> reload_local() EXCLUDES(mu_);
  // synchronous_standby_names as the HA loop manages it (NodeSettings::managed_...).
  void set_managed_synchronous_standby_names(std::optional<std::string> value) EXCLUDES(mu_);

  const std::string& config_path() const { return config_path_; }

 private:
  std::shared_ptr<const EffectiveSettings> build(config::Config config) const REQUIRES(mu_);

  const std::string config_path_;
  const config::EnvMap environment_;
  mutable Mutex mu_;
  std::optional<std::string> managed_ssn_ GUARDED_BY(mu_);
  std::shared_ptr<const EffectiveSettings> current_ GUARDED_BY(mu_);
};

}  // namespace custos::agent
