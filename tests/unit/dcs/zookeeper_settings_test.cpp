// The zookeeper section as Patroni reads it, and what Debian's C client cannot do refused with
// a message that says so (never accepted and ignored).
#include <gtest/gtest.h>

#include "dcs/zookeeper/zookeeper_settings.h"

namespace custos::dcs::zookeeper {
namespace {

using nlohmann::json;

json config(json section) { return {{"scope", "demo"}, {"name", "n1"}, {"ttl", 20}, {"zookeeper", std::move(section)}}; }

TEST(ZooKeeperSettings, HostsInEveryFormPatroniTakes) {
  auto list = ZooKeeperSettings::from_patroni_config(config({{"hosts", {"z1:2181", "z2", "[::1]:2182"}}}));
  ASSERT_TRUE(list) << list.error();
  EXPECT_EQ(list->hosts, "z1:2181,z2:2181,[::1]:2182");
  auto text = ZooKeeperSettings::from_patroni_config(config({{"hosts", " z1:1, z2:2 "}}));
  ASSERT_TRUE(text) << text.error();
  EXPECT_EQ(text->hosts, "z1:1,z2:2");
  EXPECT_EQ(text->timing.ttl, 20);
  auto chroot = ZooKeeperSettings::from_patroni_config(config({{"hosts", "z1,z2:2/patroni/prod"}}));
  ASSERT_TRUE(chroot) << chroot.error();
  EXPECT_EQ(chroot->hosts, "z1:2181,z2:2/patroni/prod");
  EXPECT_FALSE(ZooKeeperSettings::from_patroni_config(config({{"hosts", "z1/"}})));
  EXPECT_EQ(text->base_path(), "/service/demo/");
}

TEST(ZooKeeperSettings, AuthDataAsAMappingOrAsPairs) {
  auto map = ZooKeeperSettings::from_patroni_config(config({{"hosts", "z"}, {"auth_data", {{"digest", "u:p"}}}}));
  ASSERT_TRUE(map) << map.error();
  ASSERT_EQ(map->auth_data.size(), 1u);
  EXPECT_EQ(map->auth_data[0], (std::pair<std::string, std::string>{"digest", "u:p"}));
  auto pairs = ZooKeeperSettings::from_patroni_config(
      config({{"hosts", "z"}, {"auth_data", json::array({json::array({"digest", "a:b"})})}}));
  ASSERT_TRUE(pairs) << pairs.error();
  EXPECT_EQ(pairs->auth_data[0].second, "a:b");
}

TEST(ZooKeeperSettings, CitusGroupsAndPaths) {
  json c = config({{"hosts", "z"}});
  c["citus"] = {{"group", "0"}, {"database", "citus"}};
  c["namespace"] = "/ns/";
  auto coord = ZooKeeperSettings::from_patroni_config(c);
  ASSERT_TRUE(coord) << coord.error();
  EXPECT_TRUE(coord->is_citus_coordinator());
  EXPECT_EQ(coord->client_path(), "/ns/demo/0/");
  EXPECT_EQ(coord->cluster_prefix(), "/ns/demo/");
}

TEST(ZooKeeperSettings, WhatTheClientCannotDoIsRefusedWithTheReason) {
  auto ssl = ZooKeeperSettings::from_patroni_config(config({{"hosts", "z"}, {"use_ssl", true}}));
  ASSERT_FALSE(ssl);
  EXPECT_NE(ssl.error().find("`use_ssl` is not supported"), std::string::npos) << ssl.error();
  EXPECT_NE(ssl.error().find("without TLS"), std::string::npos) << ssl.error();
  EXPECT_TRUE(ZooKeeperSettings::from_patroni_config(config({{"hosts", "z"}, {"use_ssl", false}})));
  // From PATRONI_ZOOKEEPER_USE_SSL: a string.
  EXPECT_TRUE(ZooKeeperSettings::from_patroni_config(config({{"hosts", "z"}, {"use_ssl", "false"}})));
  EXPECT_FALSE(ZooKeeperSettings::from_patroni_config(config({{"hosts", "z"}, {"use_ssl", "true"}})));
  auto acls = ZooKeeperSettings::from_patroni_config(
      config({{"hosts", "z"}, {"set_acls", {{"CN=principal", json::array({"ALL"})}}}}));
  ASSERT_FALSE(acls);
  EXPECT_NE(acls.error().find("`set_acls` is not supported"), std::string::npos) << acls.error();
  auto exhibitor = ZooKeeperSettings::from_patroni_config(config({{"exhibitor", {{"hosts", {"e"}}}}}));
  ASSERT_FALSE(exhibitor);
  EXPECT_NE(exhibitor.error().find("exhibitor"), std::string::npos);
}

TEST(ZooKeeperSettings, BadInputNamesWhatIsWrong) {
  const std::vector<std::pair<json, std::string>> cases = {
      {config(json::object()), "`hosts` is required"},
      {config({{"hosts", 5}}), "`hosts` must be a list"},
      {config({{"hosts", json::array({1})}}), "`hosts` entries must be strings"},
      {config({{"hosts", ""}}), "`hosts` is empty"},
      {config({{"hosts", "z:99999"}}), "invalid port"},
      {config({{"hosts", "z"}, {"auth_data", "digest"}}), "`auth_data` must be a mapping"},
      {config({{"hosts", "z"}, {"auth_data", {{"digest", 5}}}}), "`auth_data`.digest must be a string"},
      {json{{"name", "n"}, {"zookeeper", {{"hosts", "z"}}}}, "`scope` is required"},
      {json{{"scope", "s"}, {"name", "a/b"}, {"zookeeper", {{"hosts", "z"}}}}, "must not contain '/'"},
      {json{{"scope", "s"}, {"name", "n"}, {"ttl", "x"}, {"zookeeper", {{"hosts", "z"}}}}, "`ttl` must be an integer"},
      {json{{"scope", "s"}, {"name", "n"}, {"zookeeper", "z"}}, "must be a mapping"},
  };
  for (const auto& [c, message] : cases) {
    auto r = ZooKeeperSettings::from_patroni_config(c);
    ASSERT_FALSE(r) << c.dump();
    EXPECT_EQ(r.error().rfind("zookeeper configuration: ", 0), 0u) << r.error();
    EXPECT_NE(r.error().find(message), std::string::npos) << r.error() << " / expected: " << message;
  }
}

}  // namespace
}  // namespace custos::dcs::zookeeper
