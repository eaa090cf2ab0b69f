#include "agent/main_entry.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <iostream>
#include <thread>

#include "agent/agent.h"
#include "common/logging.h"
#include "common/version.h"
#include "config/dynamic_cache.h"
#include "config/env.h"
#include "config/loader.h"
#include "dcs/etcd3/etcd3_dcs.h"

namespace custos::agent {

namespace {

using nlohmann::json;

// Fatal configuration problems (the agent cannot run without these keys).
std::vector<std::string> essential_problems(const json& local) {
  std::vector<std::string> out;
  auto str = [&](const json& obj, const char* key) {
    return obj.is_object() && obj.contains(key) && obj[key].is_string() && !obj[key].get<std::string>().empty();
  };
  if (!str(local, "name")) out.push_back("name: required");
  if (!str(local, "scope")) out.push_back("scope: required");
  const json pg = local.is_object() && local.contains("postgresql") ? local["postgresql"] : json();
  if (!pg.is_object()) {
    out.push_back("postgresql: required");
  } else {
    if (!str(pg, "data_dir")) out.push_back("postgresql.data_dir: required");
    if (!str(pg, "listen")) out.push_back("postgresql.listen: required");
  }
  const json api = local.is_object() && local.contains("restapi") ? local["restapi"] : json();
  if (!str(api, "listen")) out.push_back("restapi.listen: required");
  return out;
}

}  // namespace

int run_agent_main(const std::string& config_path) {
  if (::geteuid() == 0) {
    std::cerr << "custos: refusing to run as root: PostgreSQL cannot run as root; run custos as the PostgreSQL OS "
                 "user (e.g. postgres)\n";
    return 1;
  }
  // Block the signals we handle before any thread exists; a dedicated thread sigwait()s them.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR2}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto env = config::patroni_environment();
  auto loaded = config::load_local_configuration(config_path, env);
  config::remove_patroni_environment();
  if (!loaded) {
    std::cerr << "custos: cannot load the configuration: " << loaded.error().to_string() << "\n";
    return 1;
  }
  const json local = loaded->local;
  {
    std::string level = "INFO";
    if (local.contains("log") && local["log"].is_object() && local["log"].contains("level") &&
        local["log"]["level"].is_string())
      level = local["log"]["level"].get<std::string>();
    init_logging(level);
  }
  for (const auto& w : loaded->warnings) spdlog::warn("config: {}", w);
  auto problems = essential_problems(local);
  if (!problems.empty()) {
    for (const auto& p : problems) std::cerr << "custos: configuration error: " << p << "\n";
    return 1;
  }
  // Dynamic configuration until the DCS `config` is read: the local cache, else bootstrap.dcs.
  json dynamic = json::object();
  {
    config::Config probe(local);
    auto cache = config::load_dynamic_cache(probe.data_dir());
    if (cache && cache.value()) {
      dynamic = *cache.value();
    } else if (probe.bootstrap().is_object() && probe.bootstrap().contains("dcs") &&
               probe.bootstrap()["dcs"].is_object()) {
      dynamic = probe.bootstrap()["dcs"];
    }
  }
  config::Config config(local, dynamic);
  for (const auto& w : config.warnings()) spdlog::warn("config: {}", w);
  const std::string dcs_name = config.dcs_section_name();
  if (dcs_name != "etcd3" && dcs_name != "etcd") {
    std::cerr << "custos: configuration error: " << (dcs_name.empty() ? std::string("no DCS section configured")
                                                                        : "DCS '" + dcs_name + "' is not supported yet")
              << " (use etcd3)\n";
    return 1;
  }
  auto dcs = dcs::etcd3::Etcd3Dcs::from_config(config.raw());
  if (!dcs) {
    std::cerr << "custos: configuration error: " << dcs.error() << "\n";
    return 1;
  }
  std::unique_ptr<dcs::Dcs> store = std::move(dcs).value();
  spdlog::info("custos {} starting: member '{}' of cluster '{}' (ttl {}, loop_wait {}, retry_timeout {})", kVersion,
               config.name(), config.scope(), config.ttl(), config.loop_wait(), config.retry_timeout());

  Agent agent(config, std::move(store), loaded->path);
  std::thread signals([&agent, set] {
    while (true) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGUSR2) return;
      if (sig == SIGHUP) {
        spdlog::info("SIGHUP: reloading the configuration");
        agent.request_reload();
      } else {
        spdlog::info("received signal {}: shutting down", sig);
        agent.request_stop();
      }
    }
  });
  int rc = agent.run();
  pthread_kill(signals.native_handle(), SIGUSR2);
  signals.join();
  return rc;
}

}  // namespace custos::agent
