#include "config/config.h"

#include <gtest/gtest.h>

#include "config/loader.h"
#include "test_util.h"

using namespace custos::config;
using custos::config::testing::fixture_path;

TEST(ConfigView, FullFixture) {
  auto loaded = load_config_path(fixture_path("patroni_full.yml"));
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  Config c(loaded.value());
  EXPECT_EQ(c.name(), "postgresql0");
  EXPECT_EQ(c.scope(), "batman");
  EXPECT_EQ(c.namespace_path(), "/service/");
  EXPECT_EQ(c.base_path(), "/service/batman/");
  EXPECT_EQ(c.ttl(), 30);
  EXPECT_EQ(c.loop_wait(), 10);
  EXPECT_EQ(c.retry_timeout(), 10);
  EXPECT_EQ(c.dcs_section_name(), "etcd3");
  json dcs = c.dcs_section();
  EXPECT_EQ(dcs["hosts"].size(), 3u);
  EXPECT_EQ(dcs["scope"], "batman");
  EXPECT_EQ(dcs["name"], "postgresql0");
  EXPECT_EQ(dcs["namespace"], "/service/");
  EXPECT_EQ(dcs["ttl"], 30);
  EXPECT_EQ(dcs["loop_wait"], 10);
  EXPECT_EQ(dcs["retry_timeout"], 10);
  EXPECT_EQ(dcs["group"], 0);  // citus propagated
  EXPECT_EQ(c.restapi()["listen"], "0.0.0.0:8008");
  EXPECT_EQ(c.restapi()["auth"], "username:password");
  EXPECT_EQ(c.postgresql()["authentication"]["superuser"]["username"], "postgres");
  EXPECT_EQ(c.tags()["datacenter"], "eu-west-1a");
  EXPECT_EQ(c.citus_group(), 0);
  EXPECT_EQ(c.citus_database(), "citus");
  EXPECT_EQ(c.data_dir(), "/nonexistent/custos-fixture/data/postgresql0");
  EXPECT_EQ(c.config_dir(), "/nonexistent/custos-fixture/conf");
  EXPECT_EQ(c.create_replica_methods(), (std::vector<std::string>{"wal_e", "basebackup"}));
  EXPECT_TRUE(c.use_pg_rewind());
  // Command-line parameters set locally are ignored; others kept.
  EXPECT_EQ(c.postgresql()["parameters"]["max_connections"], 100);
  EXPECT_EQ(c.postgresql()["parameters"]["shared_preload_libraries"], "citus");
  EXPECT_EQ(c.raw()["bootstrap"]["dcs"]["synchronous_mode"], false);  // explicit value kept
}

TEST(ConfigView, BasePathNormalisation) {
  EXPECT_EQ(Config(json::parse(R"({"scope": "s"})")).base_path(), "/service/s/");
  EXPECT_EQ(Config(json::parse(R"({"scope": "s", "namespace": "service"})")).base_path(), "/service/s/");
  EXPECT_EQ(Config(json::parse(R"({"scope": "s", "namespace": "//a//b/"})")).base_path(), "/a/b/s/");
  EXPECT_EQ(Config(json::parse(R"({"scope": "s", "namespace": "/"})")).namespace_path(), "/");
  EXPECT_EQ(collapse_slashes("//x///y"), "/x/y");
}

TEST(ConfigView, DynamicChangesTimingAndDcsSection) {
  Config c(json::parse(R"({"scope": "s", "name": "n", "etcd": {"host": "h:2379", "ttl": 5}})"));
  EXPECT_EQ(c.dcs_section_name(), "etcd");
  EXPECT_EQ(c.dcs_section()["ttl"], 30);  // top-level wins over the section's own
  Config d = c.with_dynamic(json::parse(R"({"ttl": 60, "loop_wait": 5, "retry_timeout": 20, "pause": true})"));
  EXPECT_EQ(d.timing(), (Timing{60, 5, 20}));
  EXPECT_EQ(d.dcs_section()["ttl"], 60);
  EXPECT_EQ(d.dcs_section()["retry_timeout"], 20);
  EXPECT_TRUE(d.global().is_paused());
  EXPECT_FALSE(c.global().is_paused());
}

// Patroni reads the older singular key when create_replica_methods is not given.
TEST(ConfigView, TheOlderCreateReplicaMethodKeyIsRead) {
  Config c(json::parse(R"({"postgresql": {"create_replica_method": ["pgbackrest", "basebackup"]}})"));
  EXPECT_EQ(c.create_replica_methods(), (std::vector<std::string>{"pgbackrest", "basebackup"}));
  Config both(json::parse(
      R"({"postgresql": {"create_replica_methods": ["wal_g"], "create_replica_method": ["pgbackrest"]}})"));
  EXPECT_EQ(both.create_replica_methods(), std::vector<std::string>{"wal_g"});
}

TEST(ConfigView, MissingAndMistypedValuesGiveDefaults) {
  Config c(json::parse(R"({"name": 5, "postgresql": "x", "tags": [1], "citus": {"group": -1, "database": 3}})"));
  EXPECT_EQ(c.name(), "5");
  EXPECT_EQ(c.scope(), "");
  EXPECT_TRUE(c.tags().is_object());
  EXPECT_TRUE(c.tags().empty());
  EXPECT_EQ(c.data_dir(), "");
  EXPECT_EQ(c.dcs_section_name(), "");
  EXPECT_TRUE(c.dcs_section().empty());
  EXPECT_FALSE(c.citus_group().has_value());
  EXPECT_EQ(c.create_replica_methods(), std::vector<std::string>{"basebackup"});
  Config garbage(json("not an object"), json(42));
  EXPECT_EQ(garbage.ttl(), 30);
}

TEST(ConfigView, KubernetesNamespaceIsOverriddenByTopLevelNamespaceLikePatroni) {
  Config c(json::parse(R"({"scope": "s", "namespace": "/svc", "kubernetes": {"namespace": "k8s", "labels": {}}})"));
  EXPECT_EQ(c.dcs_section()["namespace"], "/svc");
  Config d(json::parse(R"({"scope": "s", "kubernetes": {"namespace": "k8s", "labels": {}}})"));
  EXPECT_EQ(d.dcs_section()["namespace"], "k8s");
}
