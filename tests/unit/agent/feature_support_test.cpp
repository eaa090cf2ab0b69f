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
            {"slots", {{"s1", {{"type", "physical"}}}, {"cdc", {{"type", "logical"}, {"database", "d"}, {"plugin", "p"}}}}},
            {"postgresql", {{"callbacks", {{"on_start", "/bin/true"}}}, {"create_replica_methods", {"wal_e", "basebackup"}}}},
            {"bootstrap", {{"method", "pgbackrest"}}},
            {"watchdog", {{"mode", "required"}}}};  // watchdog devices are supported: not named
  auto out = unsupported_features(c);
  std::string all;
  for (const auto& l : out) all += l + "\n";
  EXPECT_EQ(all.find("slots.cdc"), std::string::npos);  // permanent logical slots are managed
  EXPECT_EQ(all.find("'basebackup'"), std::string::npos);
  EXPECT_EQ(all.find("wal_e"), std::string::npos);  // custom replica methods run
  EXPECT_EQ(all.find("synchronous_mode"), std::string::npos);  // managed since ha.md §6 is implemented
  EXPECT_TRUE(out.empty()) << all;
  EXPECT_EQ(all.find("watchdog"), std::string::npos);
  EXPECT_EQ(all.find("failsafe_mode"), std::string::npos);
  EXPECT_EQ(all.find("slots.s1"), std::string::npos);  // permanent physical slots are managed
  EXPECT_EQ(all.find("callbacks"), std::string::npos);  // callbacks run (agent/script_hooks.h)
  EXPECT_EQ(all.find("bootstrap.method"), std::string::npos);  // custom bootstrap methods run
  EXPECT_EQ(all.find("standby_cluster"), std::string::npos);   // standby clusters run
}

// failsafe_mode (ha.md §7) and the watchdog are carried out: never named, whatever the value.
TEST(FeatureSupport, FailsafeModeAndTheWatchdogAreSupported) {
  for (const json& v : {json(true), json("on"), json(1)})
    for (const auto& l : unsupported_features(json{{"failsafe_mode", v}, {"watchdog", {{"mode", "required"}}}}))
      ADD_FAILURE() << l;
}

// Patroni 4 quorum commit, member_slots_ttl and Citus are carried out; a Citus section Patroni
// would ignore is named.
TEST(FeatureSupport, Patroni4SettingsAndCitusAreSupported) {
  EXPECT_TRUE(unsupported_features(json{{"synchronous_mode", "Quorum"}}).empty());
  EXPECT_TRUE(unsupported_features(json{{"member_slots_ttl", "30min"}}).empty());
  EXPECT_TRUE(unsupported_features(json{{"citus", {{"group", 0}, {"database", "citus"}}}}).empty());
  EXPECT_TRUE(unsupported_features(json{{"citus", {{"group", "2"}, {"database", "citus"}}}}).empty());
  for (const json& bad : {json{{"group", 1}}, json{{"database", "citus"}}, json{{"group", "x"}, {"database", "c"}},
                          json{{"group", 1}, {"database", 5}}}) {
    auto out = unsupported_features(json{{"citus", bad}});
    ASSERT_EQ(out.size(), 1u) << bad.dump();
    EXPECT_NE(out[0].find("citus:"), std::string::npos);
  }
}
