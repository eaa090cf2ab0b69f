#include "agent/settings_store.h"

#include "agent/node_settings_from_config.h"
#include "agent/state_mapping.h"
#include "config/loader.h"

namespace custos::agent {

SettingsStore::SettingsStore(config::Config initial, std::string config_path, config::EnvMap environment)
    : config_path_(std::move(config_path)), environment_(std::move(environment)) {
  MutexLock lk(mu_);
  current_ = build(std::move(initial));
}

std::shared_ptr<const EffectiveSettings> SettingsStore::build(config::Config config) const {
  auto s = std::make_shared<EffectiveSettings>(EffectiveSettings{config, ha_settings_from_config(config),
                                                                 node_settings_from_config(config)});
  // Synchronous mode owns synchronous_standby_names: with the mode on and nothing managed yet
  // the parameter is removed (ha.md §6.4), otherwise the managed value applies.
  if (managed_ssn_) s->pg.managed_synchronous_standby_names = managed_ssn_;
  else if (s->ha.is_synchronous_mode()) s->pg.managed_synchronous_standby_names = std::string();
  return s;
}

std::shared_ptr<const EffectiveSettings> SettingsStore::current() const {
  MutexLock lk(mu_);
  return current_;
}

SettingsStore::DynamicApplied SettingsStore::apply_dynamic(const nlohmann::json& dynamic) {
  MutexLock lk(mu_);
  if (current_->config.dynamic() == dynamic) return {};
  config::Config candidate = current_->config.with_dynamic(dynamic);
  if (candidate.dynamic_error()) {
    current_ = build(current_->config.with_global_only(dynamic));
    return {true, candidate.dynamic_error()};
  }
  current_ = build(std::move(candidate));
  return {true, std::nullopt};
}

Status<std::string> SettingsStore::reload_local() {
  if (config_path_.empty()) return Unit{};
  auto loaded = config::load_local_configuration(config_path_, environment_);
  if (!loaded) return make_error("cannot reload " + config_path_ + ": " + loaded.error().to_string());
  MutexLock lk(mu_);
  current_ = build(current_->config.with_local(loaded->local));
  return Unit{};
}

void SettingsStore::set_managed_synchronous_standby_names(std::optional<std::string> value) {
  MutexLock lk(mu_);
  if (managed_ssn_ == value) return;
  managed_ssn_ = std::move(value);
  current_ = build(current_->config);
}

}  // namespace custos::agent
