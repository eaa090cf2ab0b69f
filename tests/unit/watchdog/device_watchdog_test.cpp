#include "watchdog/device_watchdog.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "log_capture.h"

using namespace custos::watchdog;
using custos::Result;
using custos::Status;
using custos::Unit;
using custos::test::LogCapture;
using nlohmann::json;

namespace {

// A device whose answers the test sets; it records every command.
struct FakeDevice final : WatchdogDevice {
  struct Script {
    bool open_fails = false;
    bool settable = true;
    bool disableable = true;
    std::optional<int> fixed_timeout;  // the device ignores set_timeout and reports this
    std::vector<std::string> log;
  };
  explicit FakeDevice(std::shared_ptr<Script> s) : s(std::move(s)) {}
  bool is_running() const override { return open_; }
  bool is_healthy() const override { return true; }
  Status<std::string> open() override {
    if (s->open_fails) return custos::make_error(std::string("Can't open watchdog device: boom"));
    open_ = true;
    s->log.push_back("open");
    return Unit{};
  }
  Status<std::string> close() override {
    if (open_) s->log.push_back("close");
    open_ = false;
    return Unit{};
  }
  Status<std::string> keepalive() override {
    s->log.push_back("keepalive");
    return Unit{};
  }
  Result<bool, std::string> can_be_disabled() override { return s->disableable; }
  Result<bool, std::string> has_set_timeout() override { return s->settable; }
  Status<std::string> set_timeout(int t) override {
    s->log.push_back("timeout=" + std::to_string(t));
    timeout = t;
    return Unit{};
  }
  Result<int, std::string> get_timeout() override { return s->fixed_timeout.value_or(timeout); }
  std::string describe() override { return "fake"; }
  bool open_ = false;
  int timeout = 60;
  std::shared_ptr<Script> s;
};

WatchdogConfig config(const std::string& mode, int ttl = 30, int loop_wait = 10, int margin = 5) {
  return WatchdogConfig::from_sections(json{{"mode", mode}, {"safety_margin", margin}}, ttl, loop_wait);
}

std::pair<std::shared_ptr<FakeDevice::Script>, DeviceWatchdog::DeviceFactory> fake() {
  auto s = std::make_shared<FakeDevice::Script>();
  return {s, [s](const WatchdogConfig&) { return std::make_unique<FakeDevice>(s); }};
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(DeviceWatchdog, RequiredArmsSetsTtlMinusMarginAndKeepsAlive) {
  auto [s, factory] = fake();
  LogCapture logs;
  DeviceWatchdog w(config("required"), factory);
  EXPECT_TRUE(w.is_healthy());
  EXPECT_FALSE(w.is_running());
  ASSERT_TRUE(w.activate());
  EXPECT_TRUE(w.is_running());
  EXPECT_TRUE(logs.has("info: fake activated with 25 second timeout, timing slack 15 seconds"));
  w.keepalive();
  w.disable();
  EXPECT_FALSE(w.is_running());
  EXPECT_EQ(s->log, (std::vector<std::string>{"open", "timeout=25", "keepalive", "close"}));
}

TEST(DeviceWatchdog, AutomaticWithoutADeviceGoesOnRequiredRefuses) {
  auto [s, factory] = fake();
  s->open_fails = true;
  {
    LogCapture logs;
    DeviceWatchdog w(config("automatic"), factory);
    EXPECT_TRUE(w.activate());
    EXPECT_FALSE(w.is_running());
    EXPECT_TRUE(w.is_healthy());
    EXPECT_TRUE(logs.has("warning: Could not activate fake: Can't open watchdog device: boom"));
  }
  LogCapture logs;
  DeviceWatchdog w(config("required"), factory);
  EXPECT_FALSE(w.activate());
  EXPECT_FALSE(w.is_running());
  EXPECT_FALSE(w.is_healthy());  // the failed device was replaced by none
  EXPECT_TRUE(logs.has("error: Configuration requires watchdog, but watchdog could not be configured."));
  // Activation is not retried on the failed device until the driver or device changes.
  s->open_fails = false;
  EXPECT_FALSE(w.activate());
  w.reload_config(config("required", 40));
  EXPECT_FALSE(w.activate());
  w.reload_config(WatchdogConfig::from_sections(json{{"mode", "required"}, {"device", "/dev/watchdog1"}}, 30, 10));
  EXPECT_TRUE(w.activate());
  EXPECT_TRUE(w.is_running());
}

TEST(DeviceWatchdog, ATtlTooShortForTheLoopIsRefusedWhenRequired) {
  auto [s, factory] = fake();
  LogCapture logs;
  DeviceWatchdog w(config("required", 20, 16), factory);  // timeout 15 < loop_wait 16
  EXPECT_FALSE(w.is_healthy());
  EXPECT_FALSE(w.activate());
  EXPECT_TRUE(logs.has("warning: Watchdog not supported because leader TTL 20 is less than 2x loop_wait 16"));
  EXPECT_TRUE(s->log.empty());
}

TEST(DeviceWatchdog, ADeviceThatKeepsALongerTimeoutIsNotSafe) {
  auto [s, factory] = fake();
  s->settable = false;
  s->fixed_timeout = 60;
  LogCapture logs;
  DeviceWatchdog req(config("required"), factory);
  EXPECT_FALSE(req.activate());
  EXPECT_TRUE(logs.has("error: Configuration requires watchdog, but a safe watchdog timeout 25 could not be "
                       "configured. Watchdog timeout is 60."));
  DeviceWatchdog aut(config("automatic"), factory);
  EXPECT_TRUE(aut.activate());
  EXPECT_TRUE(logs.has("warning: Watchdog timeout 60 seconds does not ensure safe termination within 25 seconds"));
}

TEST(DeviceWatchdog, ADeviceFiringBeforeTheNextCycleIsClosedAgain) {
  auto [s, factory] = fake();
  s->settable = false;
  s->fixed_timeout = 5;
  LogCapture logs;
  DeviceWatchdog w(config("automatic"), factory);
  EXPECT_TRUE(w.activate());
  EXPECT_FALSE(w.is_running());
  EXPECT_TRUE(logs.has("error: loop_wait of 10 seconds is too long for watchdog 5 second timeout"));
  EXPECT_TRUE(logs.has("info: Disabling watchdog due to unsafe timeout."));
  EXPECT_EQ(s->log, (std::vector<std::string>{"open", "close"}));
}

TEST(DeviceWatchdog, ANewTtlReachesTheDeviceWithTheNextKeepalive) {
  auto [s, factory] = fake();
  DeviceWatchdog w(config("required"), factory);
  ASSERT_TRUE(w.activate());
  w.reload_config(config("required", 40));
  EXPECT_EQ(s->log.back(), "timeout=25");  // not yet: the lease in force is still the old one
  w.keepalive();
  EXPECT_EQ(s->log, (std::vector<std::string>{"open", "timeout=25", "keepalive", "timeout=35"}));
  w.keepalive();
  EXPECT_EQ(s->log.back(), "keepalive");  // applied once
}

TEST(DeviceWatchdog, TurningItOffDisarmsAtOnce) {
  auto [s, factory] = fake();
  DeviceWatchdog w(config("automatic"), factory);
  ASSERT_TRUE(w.activate());
  w.reload_config(config("off"));
  EXPECT_FALSE(w.is_running());
  EXPECT_EQ(s->log.back(), "close");
}

TEST(DeviceWatchdog, ADeviceThatCannotBeDisabledGetsALastKeepaliveAndAWarning) {
  auto [s, factory] = fake();
  s->disableable = false;
  LogCapture logs;
  DeviceWatchdog w(config("automatic"), factory);
  ASSERT_TRUE(w.activate());
  EXPECT_TRUE(logs.has("warning: Watchdog implementation can't be disabled. Watchdog will trigger after Patroni "
                       "loses leader key."));
  w.disable();
  EXPECT_TRUE(logs.has("warning: Watchdog implementation can't be disabled. System will reboot after 25 seconds "
                       "when watchdog times out."));
  EXPECT_EQ(s->log, (std::vector<std::string>{"open", "timeout=25", "keepalive", "close"}));
}

TEST(DeviceWatchdog, AnUnknownDriverWithRequiredIsUnsupported) {
  auto c = WatchdogConfig::from_sections(json{{"mode", "required"}, {"driver", "ipmi"}}, 30, 10);
  EXPECT_TRUE(DeviceWatchdog(c).required_but_unsupported());
  c.mode = Mode::automatic;
  EXPECT_FALSE(DeviceWatchdog(c).required_but_unsupported());
}

// The testing driver end to end: the text a test harness reads.
TEST(DeviceWatchdog, TestingDriverWritesPatronisCommands) {
  char tmpl[] = "/tmp/custos-dwd-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const std::string dev = dir + "/wd";
  std::ofstream(dev).close();
  {
    DeviceWatchdog w(WatchdogConfig::from_sections(json{{"mode", "required"}, {"driver", "testing"}, {"device", dev}},
                                                   30, 10));
    ASSERT_TRUE(w.activate());
    w.keepalive();
    w.disable();
    ASSERT_TRUE(w.activate());  // re-armed on the same device
    w.keepalive();
  }  // destroyed while armed: stays armed (no V)
  EXPECT_EQ(slurp(dev), "Ctimeout=25\n1VCtimeout=25\n1");
  std::filesystem::remove_all(dir);
}
