// SIGHUP / POST /reload on a running agent: the file is read again with the PATRONI_* overrides
// of the start-up environment on top, the log level takes effect, the REST API is told (its
// TLS settings), PostgreSQL is reloaded with new parameters, and on_reload fires.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/loader.h"
#include "sim_cluster.h"

namespace custos::test {
namespace {

namespace fs = std::filesystem;

TEST(AgentReload, FileEnvironmentLogLevelRestAndPostgresql) {
  const fs::path dir = fs::temp_directory_path() / ("custos-reload-" + std::to_string(::getpid()));
  fs::create_directories(dir / "data");
  const std::string path = (dir / "custos.yml").string();
  auto write = [&](const std::string& level, const std::string& work_mem) {
    std::ofstream(path, std::ios::trunc) << "scope: sim\nname: node1\nlog:\n  level: " << level
                                         << "\nrestapi:\n  listen: 127.0.0.1:8008\n  connect_address: 127.0.0.1:8008\n"
                                         << "etcd3:\n  hosts: 127.0.0.1:2379\npostgresql:\n  listen: 127.0.0.1:5432\n"
                                         << "  data_dir: " << (dir / "data").string() << "\n  parameters:\n    work_mem: "
                                         << work_mem << "\n";
  };
  write("INFO", "4MB");
  const config::EnvMap env = {{"PATRONI_RESTAPI_CONNECT_ADDRESS", "10.9.9.9:8008"}};
  auto loaded = config::load_local_configuration(path, env);
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  agent::SettingsStore settings(config::Config(loaded->local), path, env);

  SimClock clock;
  InMemoryStore store(clock);
  InMemoryDcs dcs(store, "node1");
  FakePostgresNode pg;
  pg.make_primary();
  FakeMemberQueries members;
  RecordingWatchdog watchdog;
  RecordingHooks hooks;
  agent::Agent agent(agent::AgentServices{dcs, pg, clock, members, watchdog, hooks}, settings);
  int rest_reloads = 0;
  std::string rest_api_url;
  agent.set_reload_listener([&](const agent::EffectiveSettings& s) {
    ++rest_reloads;
    rest_api_url = s.pg.api_url;
  });
  agent.start();
  agent.run_cycle();
  spdlog::set_level(spdlog::level::info);

  write("DEBUG", "8MB");
  agent.request_reload();
  pg.clear_calls();
  agent.run_cycle();
  EXPECT_EQ(spdlog::get_level(), spdlog::level::debug);
  EXPECT_EQ(rest_reloads, 1);
  EXPECT_EQ(rest_api_url, "http://10.9.9.9:8008/patroni");  // the environment override survived
  EXPECT_EQ(settings.current()->pg.conf_parameters.at("work_mem"), "8MB");
  EXPECT_EQ(pg.settings().conf_parameters.at("work_mem"), "8MB");
  EXPECT_TRUE(pg.called("rewrite_configuration"));
  EXPECT_TRUE(pg.called("reload"));
  auto fired = hooks.fired();
  EXPECT_NE(std::find(fired.begin(), fired.end(), "on_reload master"), fired.end());
  spdlog::set_level(spdlog::level::info);
  agent.worker().shutdown();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace custos::test
