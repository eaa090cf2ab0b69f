#include "watchdog/device_watchdog.h"

#include <spdlog/spdlog.h>

namespace custos::watchdog {

DeviceWatchdog::DeviceWatchdog(const WatchdogConfig& config, DeviceFactory factory)
    : factory_(std::move(factory)), config_(config), active_config_(config) {
  MutexLock lk(mu_);
  impl_ = make(config_);
}

DeviceWatchdog::~DeviceWatchdog() = default;

std::unique_ptr<WatchdogDevice> DeviceWatchdog::make(const WatchdogConfig& c) const {
  if (c.mode == Mode::off) return std::make_unique<NullWatchdogDevice>();
  auto d = factory_(c);
  return d ? std::move(d) : std::make_unique<NullWatchdogDevice>();
}

bool DeviceWatchdog::required_but_unsupported() const {
  MutexLock lk(mu_);
  return config_.mode == Mode::required && impl_->is_null();
}

void DeviceWatchdog::reload_config(const WatchdogConfig& config) {
  MutexLock lk(mu_);
  config_ = config;
  // Turning the watchdog off is done at once; anything else waits for the next keepalive of an
  // armed watchdog, so that its new timeout starts together with a fresh lease.
  if (config_.mode == Mode::off) {
    if (active_) disable_locked();
    active_config_ = config_;
    impl_ = std::make_unique<NullWatchdogDevice>();
  }
  if (!active_) {
    if (config_.driver != active_config_.driver || config_.driver_config != active_config_.driver_config)
      impl_ = make(config_);
    active_config_ = config_;
  }
}

bool DeviceWatchdog::activate() {
  MutexLock lk(mu_);
  active_ = true;
  const bool ok = activate_locked();
  // Nothing armed: a later configuration change may bring a device that works (Patroni keeps
  // the failed state until the agent restarts).
  if (!impl_->is_running()) active_ = false;
  return ok;
}

Result<std::optional<int>, std::string> DeviceWatchdog::set_timeout_locked() {
  auto settable = impl_->has_set_timeout();
  if (!settable) return make_error(settable.error());
  if (*settable) {
    if (auto st = impl_->set_timeout(config_.timeout()); !st) return make_error(st.error());
  }
  auto actual = impl_->get_timeout();
  if (!actual) return make_error(actual.error());
  // A device that cannot take our timeout and fires before the next cycle would reboot a
  // healthy primary: close it again when it can be disabled.
  if (impl_->is_running() && *actual < config_.loop_wait) {
    spdlog::error("loop_wait of {} seconds is too long for watchdog {} second timeout", config_.loop_wait, *actual);
    auto disable = impl_->can_be_disabled();
    if (disable && *disable) {
      spdlog::info("Disabling watchdog due to unsafe timeout.");
      (void)impl_->close();
      impl_ = std::make_unique<NullWatchdogDevice>();
      return std::optional<int>();
    }
  }
  return std::optional<int>(*actual);
}

bool DeviceWatchdog::activate_locked() {
  active_config_ = config_;
  if (config_.timing_slack() < 0) {
    spdlog::warn("Watchdog not supported because leader TTL {} is less than 2x loop_wait {}", config_.ttl,
                 config_.loop_wait);
    impl_ = std::make_unique<NullWatchdogDevice>();
  }
  std::optional<int> actual_timeout;
  if (auto st = impl_->open(); !st) {
    activation_failed(st.error());
  } else if (auto t = set_timeout_locked(); !t) {
    activation_failed(t.error());
  } else {
    actual_timeout = *t;
  }
  if (impl_->is_running()) {
    auto disable = impl_->can_be_disabled();
    if (disable && !*disable)
      spdlog::warn("Watchdog implementation can't be disabled. Watchdog will trigger after Patroni loses leader key.");
  }
  if (!impl_->is_running() || !actual_timeout || *actual_timeout > config_.timeout()) {
    if (config_.mode == Mode::required) {
      if (impl_->is_null())
        spdlog::error("Configuration requires watchdog, but watchdog could not be configured.");
      else
        spdlog::error(
            "Configuration requires watchdog, but a safe watchdog timeout {} could not be configured. Watchdog "
            "timeout is {}.",
            config_.timeout(), actual_timeout ? std::to_string(*actual_timeout) : std::string("None"));
      return false;
    }
    if (!impl_->is_null() && actual_timeout)
      spdlog::warn("Watchdog timeout {} seconds does not ensure safe termination within {} seconds", *actual_timeout,
                   config_.timeout());
  }
  if (impl_->is_running()) {
    spdlog::info("{} activated with {} second timeout, timing slack {} seconds", impl_->describe(),
                 actual_timeout.value_or(0), config_.timing_slack());
  } else if (config_.mode == Mode::required) {
    spdlog::error("Configuration requires watchdog, but watchdog could not be activated");
    return false;
  }
  return true;
}

void DeviceWatchdog::activation_failed(const std::string& error) {
  spdlog::warn("Could not activate {}: {}", impl_->describe(), error);
  // Closed with the magic character: a device left open would stay armed with nobody keeping it
  // alive.
  if (impl_->is_running()) (void)impl_->close();
  impl_ = std::make_unique<NullWatchdogDevice>();
}

void DeviceWatchdog::disable() {
  MutexLock lk(mu_);
  disable_locked();
  active_ = false;
}

void DeviceWatchdog::disable_locked() {
  if (impl_->is_running()) {
    auto disable = impl_->can_be_disabled();
    if (disable && !*disable) {
      // Give the administrator the whole timeout to clean up before the reboot.
      (void)impl_->keepalive();
      auto t = impl_->get_timeout();
      spdlog::warn("Watchdog implementation can't be disabled. System will reboot after {} seconds when watchdog "
                   "times out.",
                   t ? std::to_string(*t) : std::string("?"));
    }
  }
  if (auto st = impl_->close(); !st) spdlog::error("Error while disabling watchdog: {}", st.error());
}

void DeviceWatchdog::keepalive() {
  MutexLock lk(mu_);
  if (!active_) return;
  if (auto st = impl_->keepalive(); !st) {
    spdlog::error("Error while sending keepalive: {}", st.error());
    return;
  }
  if (config_ == active_config_) return;
  // A pending configuration change is applied now, right after a keepalive.
  if (config_.mode != Mode::off && active_config_.mode == Mode::off) {
    impl_ = make(config_);
    activate_locked();
  }
  if (config_.driver != active_config_.driver || config_.driver_config != active_config_.driver_config) {
    disable_locked();
    impl_ = make(config_);
    activate_locked();
  }
  if (config_.timeout() != active_config_.timeout() && impl_->is_running()) {
    if (auto st = impl_->set_timeout(config_.timeout()); !st) {
      spdlog::error("Error while sending keepalive: {}", st.error());
      return;
    }
  }
  active_config_ = config_;
}

bool DeviceWatchdog::is_running() const {
  MutexLock lk(mu_);
  return impl_->is_running();
}

bool DeviceWatchdog::is_healthy() const {
  MutexLock lk(mu_);
  if (config_.mode != Mode::required) return true;
  return config_.timing_slack() >= 0 && impl_->is_healthy();
}

}  // namespace custos::watchdog
