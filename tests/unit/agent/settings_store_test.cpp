// SettingsStore: readers get whole snapshots; a reload reads the file again and applies the
// PATRONI_* variables captured at start-up on top again (they are gone from the environment).
#include "agent/settings_store.h"
#include "config/loader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace custos::test {
namespace {

namespace fs = std::filesystem;

struct TempConfig {
  TempConfig() {
    dir = fs::temp_directory_path() / ("custos-settings-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    path = (dir / "custos.yml").string();
  }
  ~TempConfig() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void write(const std::string& yaml) {
    std::ofstream out(path, std::ios::trunc);
    out << yaml;
  }
  fs::path dir;
  std::string path;
};

const char* kYaml = R"(scope: demo
name: node1
restapi:
  listen: 127.0.0.1:8008
  connect_address: 127.0.0.1:8008
etcd3:
  hosts: 127.0.0.1:2379
postgresql:
  listen: 127.0.0.1:5432
  data_dir: /tmp/x
  parameters:
    work_mem: 4MB
tags:
  nofailover: false
)";

TEST(SettingsStore, ReloadKeepsTheEnvironmentOverrides) {
  TempConfig f;
  f.write(kYaml);
  config::EnvMap env = {{"PATRONI_POSTGRESQL_CONNECT_ADDRESS", "10.1.1.1:5432"}, {"PATRONI_NAME", "from-env"}};
  auto loaded = config::load_local_configuration(f.path, env);
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  agent::SettingsStore store(config::Config(loaded->local), f.path, env);
  EXPECT_EQ(store.current()->config.name(), "from-env");
  EXPECT_EQ(store.current()->pg.connect_address.host, "10.1.1.1");
  f.write(std::string(kYaml) + "log:\n  level: DEBUG\n");
  ASSERT_TRUE(store.reload_local());
  const auto s = store.current();
  EXPECT_EQ(s->config.name(), "from-env");
  EXPECT_EQ(s->pg.connect_address.host, "10.1.1.1");
  EXPECT_EQ(s->config.log()["level"], "DEBUG");
}

TEST(SettingsStore, AFileThatCannotBeReadLeavesTheSettingsInForce) {
  TempConfig f;
  f.write(kYaml);
  auto loaded = config::load_local_configuration(f.path, {});
  ASSERT_TRUE(loaded);
  agent::SettingsStore store(config::Config(loaded->local), f.path, {});
  f.write("scope: [unclosed\n");
  auto st = store.reload_local();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find(f.path), std::string::npos);
  EXPECT_EQ(store.current()->config.name(), "node1");
}

TEST(SettingsStore, DynamicConfigurationAndManagedStandbyNames) {
  TempConfig f;
  f.write(kYaml);
  auto loaded = config::load_local_configuration(f.path, {});
  ASSERT_TRUE(loaded);
  agent::SettingsStore store(config::Config(loaded->local), f.path, {});
  EXPECT_FALSE(store.current()->pg.managed_synchronous_standby_names);
  EXPECT_TRUE(store.apply_dynamic({{"ttl", 40}, {"synchronous_mode", true}}).changed);
  EXPECT_FALSE(store.apply_dynamic({{"ttl", 40}, {"synchronous_mode", true}}).changed);
  EXPECT_EQ(store.current()->ha.ttl, 40);
  // Synchronous mode with nothing managed yet: the parameter is removed.
  EXPECT_EQ(store.current()->pg.managed_synchronous_standby_names, std::optional<std::string>(""));
  store.set_managed_synchronous_standby_names("node2");
  EXPECT_EQ(store.current()->pg.effective_conf_parameters()["synchronous_standby_names"], "node2");
  EXPECT_EQ(store.current()->pg.effective_conf_parameters()["work_mem"], "4MB");
}

TEST(SettingsStore, RefusedDynamicConfigurationKeepsTheOneInForceButItsGlobalKeys) {
  TempConfig f;
  f.write(kYaml);
  auto loaded = config::load_local_configuration(f.path, {});
  ASSERT_TRUE(loaded);
  agent::SettingsStore store(config::Config(loaded->local), f.path, {});
  ASSERT_TRUE(store.apply_dynamic({{"ttl", 40}, {"loop_wait", 7}}).changed);
  // As Patroni: int("often") raises, the dynamic configuration is not applied ...
  auto refused = store.apply_dynamic({{"ttl", 60}, {"loop_wait", "often"}, {"pause", true}});
  EXPECT_TRUE(refused.changed);
  ASSERT_TRUE(refused.refused);
  EXPECT_NE(refused.refused->find("often"), std::string::npos);
  EXPECT_EQ(store.current()->ha.ttl, 40);
  EXPECT_EQ(store.current()->ha.loop_wait, 7);
  // ... but pause is read from the DCS value every cycle.
  EXPECT_TRUE(store.current()->config.global().is_paused());
  // A reload of the local file keeps that state.
  ASSERT_TRUE(store.reload_local());
  EXPECT_EQ(store.current()->ha.ttl, 40);
  EXPECT_TRUE(store.current()->config.global().is_paused());
  // A readable value applies again.
  auto fixed = store.apply_dynamic({{"ttl", 60}, {"loop_wait", 5}});
  EXPECT_FALSE(fixed.refused);
  EXPECT_EQ(store.current()->ha.ttl, 60);
  EXPECT_FALSE(store.current()->config.global().is_paused());
}

TEST(SettingsStore, ReadersOnOtherThreadsSeeWholeSnapshots) {
  TempConfig f;
  f.write(kYaml);
  auto loaded = config::load_local_configuration(f.path, {});
  ASSERT_TRUE(loaded);
  agent::SettingsStore store(config::Config(loaded->local), f.path, {});
  std::atomic<bool> done{false}, reading{false};
  std::atomic<int> torn{0}, reads{0};
  std::thread reader([&] {
    while (!done) {
      reading = true;
      ++reads;
      auto s = store.current();
      // ttl and loop_wait always change together below.
      if (static_cast<int>(s->ha.ttl) - static_cast<int>(s->ha.loop_wait) != 20) ++torn;
    }
  });
  while (!reading) std::this_thread::yield();
  for (int i = 0; i < 2000; ++i) store.apply_dynamic({{"ttl", 30 + i % 7}, {"loop_wait", 10 + i % 7}});
  done = true;
  reader.join();
  EXPECT_GT(reads.load(), 1);
  EXPECT_EQ(torn.load(), 0);
}

}  // namespace
}  // namespace custos::test
