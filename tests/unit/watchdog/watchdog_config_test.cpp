#include "watchdog/watchdog_config.h"

#include <gtest/gtest.h>

using namespace custos::watchdog;
using nlohmann::json;

TEST(WatchdogConfig, ModesAreReadAsPatroniReadsThem) {
  EXPECT_EQ(parse_mode(false), Mode::off);
  for (const char* off : {"off", "OFF", "disable", "Disabled"}) EXPECT_EQ(parse_mode(off), Mode::off) << off;
  for (const char* a : {"auto", "automatic", "Automatic"}) EXPECT_EQ(parse_mode(a), Mode::automatic) << a;
  for (const char* r : {"require", "required", "REQUIRED"}) EXPECT_EQ(parse_mode(r), Mode::required) << r;
  std::string unknown;
  EXPECT_EQ(parse_mode("sometimes", &unknown), Mode::off);
  EXPECT_EQ(unknown, "sometimes");
  unknown.clear();
  EXPECT_EQ(parse_mode(json(5), &unknown), Mode::off);
  EXPECT_EQ(unknown, "5");
}

TEST(WatchdogConfig, DefaultsAreAutomaticOnDevWatchdogWithAFiveSecondMargin) {
  auto c = WatchdogConfig::from_sections(json(), 30, 10);
  EXPECT_EQ(c.mode, Mode::automatic);
  EXPECT_EQ(c.device(), "/dev/watchdog");
  EXPECT_EQ(c.driver, "default");
  EXPECT_EQ(c.timeout(), 25);
  EXPECT_EQ(c.timing_slack(), 15);
}

TEST(WatchdogConfig, SectionValuesAndTheHalfTtlMargin) {
  std::vector<std::string> warnings;
  auto c = WatchdogConfig::from_sections(
      json{{"mode", "required"}, {"device", "/tmp/wd"}, {"safety_margin", -1}, {"driver", "testing"}}, 21, 2,
      &warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(c.mode, Mode::required);
  EXPECT_EQ(c.device(), "/tmp/wd");
  EXPECT_EQ(c.driver, "testing");
  EXPECT_EQ(c.timeout(), 10);  // ttl // 2
  EXPECT_EQ(c.driver_config, json({{"device", "/tmp/wd"}}));
}

TEST(WatchdogConfig, UnreadableValuesAreNamedAndReplacedByDefaults) {
  std::vector<std::string> warnings;
  auto c = WatchdogConfig::from_sections(json{{"mode", "sometimes"}, {"safety_margin", "x"}, {"driver", 3}}, 30, 10,
                                         &warnings);
  EXPECT_EQ(c.mode, Mode::off);
  EXPECT_EQ(c.safety_margin, 5);
  EXPECT_EQ(c.driver, "default");
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_EQ(warnings[0], "Watchdog mode sometimes not recognized, disabling watchdog");
  EXPECT_NE(warnings[1].find("watchdog.safety_margin"), std::string::npos);
  EXPECT_NE(warnings[2].find("watchdog.driver"), std::string::npos);
  // A margin given as a string of digits is read as Python's int() reads it.
  EXPECT_EQ(WatchdogConfig::from_sections(json{{"safety_margin", "7"}}, 30, 10).safety_margin, 7);
}

TEST(WatchdogConfig, EqualityFollowsWhatARunningWatchdogDependsOn) {
  auto a = WatchdogConfig::from_sections(json{{"device", "/a"}}, 30, 10);
  EXPECT_EQ(a, WatchdogConfig::from_sections(json{{"device", "/a"}}, 30, 10));
  EXPECT_NE(a, WatchdogConfig::from_sections(json{{"device", "/b"}}, 30, 10));
  EXPECT_NE(a, WatchdogConfig::from_sections(json{{"device", "/a"}}, 40, 10));
}
