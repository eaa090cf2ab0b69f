#include "agent/feature_support.h"

#include <gtest/gtest.h>

using custos::agent::unsupported_features;
using nlohmann::json;

TEST(FeatureSupport, PlainConfigurationNamesNothing) {
  json c = {{"ttl", 30}, {"postgresql", {{"use_pg_rewind", true}, {"create_replica_methods", {"basebackup"}}}},
            {"bootstrap", {{"method", "initdb"}}}, {"synchronous_mode", true}, {"watchdog", {{"mode", "automatic"}}}};
  EXPECT_TRUE(unsupported_features(c).empty());
  EXPECT_TRUE(unsupported_features(json::array()).empty());
}

TEST(FeatureSupport, EachUnsupportedFeatureIsNamedByItsKey) {
  json c = {{"synchronous_mode", "on"},
            {"failsafe_mode", true},
            {"standby_cluster", {{"host", "h"}}},
            {"slots", {{"s1", {{"type", "physical"}}}}},
            {"postgresql", {{"callbacks", {{"on_start", "/bin/true"}}}, {"create_replica_methods", {"wal_e", "basebackup"}}}},
            {"bootstrap", {{"method", "pgbackrest"}}},
            {"watchdog", {{"mode", "required"}}}};
  auto out = unsupported_features(c);
  std::string all;
  for (const auto& l : out) all += l + "\n";
  for (const char* key : {"failsafe_mode:", "standby_cluster:", "slots:", "postgresql.callbacks:",
                          "'wal_e'", "bootstrap.method:", "watchdog.mode:"})
    EXPECT_NE(all.find(key), std::string::npos) << key << " missing in\n" << all;
  EXPECT_EQ(all.find("'basebackup'"), std::string::npos);
  EXPECT_EQ(all.find("synchronous_mode"), std::string::npos);  // managed since ha.md §6 is implemented
}

// failsafe_mode is read like the mode itself (parse_bool): a quoted "false" is off.
TEST(FeatureSupport, FailsafeModeReadWithParseBool) {
  auto named = [](const json& v) {
    for (const auto& l : unsupported_features(json{{"failsafe_mode", v}}))
      if (l.rfind("failsafe_mode:", 0) == 0) return true;
    return false;
  };
  EXPECT_FALSE(named("false"));
  EXPECT_FALSE(named("maybe"));
  EXPECT_FALSE(named(2));
  EXPECT_TRUE(named("ON"));
  EXPECT_TRUE(named(1));
  EXPECT_TRUE(named(true));
}
