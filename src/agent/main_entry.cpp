// The custos daemon's main: loads the configuration, wires the real implementations of every
// interface the agent speaks to (the only place that does), and runs the loop. Threads made
// here, once: the signal thread; the others are made by the objects constructed here (REST pool,
// member-query pool, async worker, death watcher, DCS watcher), see docs/architecture.md.
#include "agent/systemd_notifier.h"
#include "agent/main_entry.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <iostream>
#include <thread>

#include "agent/agent.h"
#include "agent/citus_worker_events.h"
#include "agent/hooks.h"
#include "agent/script_hooks.h"
#include "agent/member_queries.h"
#include "agent/operations.h"
#include "agent/settings_store.h"
#include "agent/state_mapping.h"
#include "postgres/conninfo.h"
#include "agent/watchdog.h"
#include "watchdog/device_watchdog.h"
#include "api/operations.h"
#include "api/rest_server.h"
#include "common/clock.h"
#include "common/json_truth.h"
#include "common/logging.h"
#include "common/process_runner.h"
#include "common/thread_pool.h"
#include "common/version.h"
#include "config/rest_client_options.h"
#include "config/dynamic_cache.h"
#include "config/env.h"
#include "config/loader.h"
#include "dcs/instrumented_dcs.h"
#include "dcs/factory/dcs_factory.h"
#include "mpp/citus_coordinator.h"
#include "net/host_resolver.h"
#include "postgres/local_postgres.h"

namespace custos::agent {

constexpr std::chrono::milliseconds kCallbackGraceAtExit{10000};

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

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

// rest-api.md §9: another agent answers /liveness at our member's api_url. As Patroni, the
// cluster must be read first: "Can not get cluster from dcs" every 5 s until it can.
bool duplicate_member_running(dcs::Dcs& dcs, net::HttpClient& http, const std::string& name) {
  auto c = dcs.get_cluster();
  while (!c) {
    spdlog::warn("Can not get cluster from dcs: {}", c.error().describe());
    std::this_thread::sleep_for(5s);
    c = dcs.get_cluster();
  }
  auto m = c->get_member(name, false);
  if (!m || !m->api_url()) return false;
  auto url = net::Url::parse(*m->api_url());
  if (!url) return false;
  net::HttpRequest req;
  req.url = url->origin() + "/liveness";
  auto r = http.request(req, 3s);
  if (!r) spdlog::debug("{} does not answer: {}", req.url, r.error().describe());
  return r.ok();
}

// Calls to other members (leader race, switchover checks, duplicate name) carry the TLS
// client settings and basic authentication Patroni's agent sends (config/rest_client_options.h).
net::HttpClientOptions member_http_options(const config::Config& config) {
  return config::rest_client_options(
      config.local(), "Patroni/" + std::string(announced_patroni_version(config.presentation())) + " custos/" + kVersion);
}

}  // namespace

int run_agent_main(const std::string& config_path) {
  if (::geteuid() == 0) {
    // Patroni starts as root too (and then fails where PostgreSQL refuses root): said loudly,
    // not refused.
    std::cerr << "custos: WARNING: running as root: PostgreSQL refuses to run as root, so custos cannot initialize, "
                 "start or clone it; run custos as the PostgreSQL OS user (e.g. postgres)\n";
  }
  // Block the signals we handle before any thread exists; a dedicated thread sigwait()s them.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR2}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // The PATRONI_* variables are read once and then removed from the environment (children must
  // not inherit passwords); the SettingsStore keeps them for every reload.
  auto env = config::patroni_environment();
  auto loaded = config::load_local_configuration(config_path, env);
  config::remove_patroni_environment();
  if (!loaded) {
    std::cerr << "custos: cannot load the configuration: " << loaded.error().to_string() << "\n";
    return 1;
  }
  const json local = loaded->local;
  for (const auto& p : configure_logging(local.contains("log") ? local["log"] : json())) spdlog::warn("{}", p);
  for (const auto& w : loaded->warnings) spdlog::warn("config: {}", w);
  auto problems = essential_problems(local);
  if (!problems.empty()) {
    for (const auto& p : problems) std::cerr << "custos: configuration error: " << p << "\n";
    return 1;
  }
  // Dynamic configuration until the DCS `config` is read: the local cache, else bootstrap.dcs.
  std::vector<std::string> cache_warnings;
  const json dynamic = config::startup_dynamic_configuration(local, &cache_warnings);
  for (const auto& w : cache_warnings) spdlog::warn("{}", w);
  config::Config config(local, dynamic);
  for (const auto& w : config.warnings()) spdlog::warn("config: {}", w);
  // Host name lookups of every HTTP client (etcd, members) with a deadline, on one thread; it
  // outlives everything that resolves (declared first, destroyed last).
  net::HostResolver resolver(1);
  net::HostResolver::install(&resolver);
  auto made = dcs::make_dcs(config.raw(), dcs::DcsMode::agent);
  if (!made) {
    std::cerr << "custos: configuration error: " << made.error() << "\n";
    return 1;
  }
  std::unique_ptr<dcs::Dcs> store = std::move(made).value();
  auto rest_settings = api::RestApiSettings::from_config(config.restapi(), config.presentation());
  if (!rest_settings) {
    std::cerr << "custos: configuration error: restapi: " << rest_settings.error() << "\n";
    return 1;
  }
  if (rest_settings->server_tokens_warning) spdlog::warn("{}", *rest_settings->server_tokens_warning);
  spdlog::info("custos {} starting: member '{}' of cluster '{}' (ttl {}, loop_wait {}, retry_timeout {})", kVersion,
               config.name(), config.scope(), config.ttl(), config.loop_wait(), config.retry_timeout());

  // ---- the real implementations ----
  SystemClock clock;
  SettingsStore settings(config, loaded->path, env);
  {
    const auto pg = settings.current()->pg;
    for (const auto& [who, creds] : {std::pair{"superuser", &pg.superuser}, std::pair{"replication", &pg.replication},
                                     std::pair{"rewind", &pg.rewind}})
      for (const auto& [keyword, value] : creds->extra)
        if (!postgres::libpq_knows_keyword(keyword))
          spdlog::warn("postgresql.authentication.{}.{}: this libpq does not know the keyword; custos's own "
                       "connections leave it out",
                       who, keyword);
  }
  postgres::LocalPostgres pg(settings.current()->pg, system_process_runner());
  net::HttpClient http(member_http_options(config));
  HttpMemberQueries members(http, 4);
  std::vector<std::string> watchdog_warnings;
  watchdog::DeviceWatchdog watchdog(watchdog_config_from(config, &watchdog_warnings));
  for (const auto& w : watchdog_warnings) spdlog::warn("{}", w);
  if (watchdog.required_but_unsupported()) {
    spdlog::error("Configuration requires a watchdog, but watchdog is not supported on this platform.");
    return 1;
  }
  ScriptHooks hooks(system_process_runner(),
                    hooks_config_from(config.postgresql(), config.scope(), settings.current()->pg.pg_ctl_timeout,
                                      config.presentation()));
  // custos's own metric families; every DCS request of the agent is measured.
  MetricsRegistry metrics;
  dcs::InstrumentedDcs measured_store(*store, metrics);
  AgentServices services{measured_store, pg, clock, members, watchdog, hooks};
  services.metrics = &metrics;
  // Citus (spec/citus.md): the coordinator's pg_dist_node maintainer (its thread starts here,
  // idle until this node leads as primary), or a worker's events to its coordinator.
  std::unique_ptr<mpp::CitusCoordinator> citus_coordinator;
  std::unique_ptr<CitusWorkerEvents> citus_events;
  if (const auto& citus = settings.current()->pg.citus) {
    if (citus->group == 0) {
      citus_coordinator = std::make_unique<mpp::CitusCoordinator>(
          std::make_unique<mpp::LibpqPgDistNodeSql>(settings.current()->pg.local_conninfo(citus->database)), clock);
    } else {
      citus_events = std::make_unique<CitusWorkerEvents>(measured_store, members, citus->group);
    }
  }
  services.citus_coordinator = citus_coordinator.get();
  services.citus_events = citus_events.get();

  if (duplicate_member_running(*store, http, config.name())) {
    spdlog::critical("Can't start; there is already a node named '{}' running", config.name());
    return 1;
  }

  Agent agent(services, settings);
  AgentOperations operations(agent, services, settings);
  api::RestServer rest(rest_settings.value(), agent, clock);
  api::route_operations(rest.handler(), operations);
  if (auto st = rest.start(); !st) {
    spdlog::critical("cannot start the REST API: {}", st.error());
    return 1;
  }
  agent.set_reload_listener([&rest](const EffectiveSettings& s) {
    auto rs = api::RestApiSettings::from_config(s.config.restapi(), s.config.presentation());
    if (!rs) {
      spdlog::error("restapi: {} (keeping the REST API settings in force)", rs.error());
      return;
    }
    if (rs->server_tokens_warning) spdlog::warn("{}", *rs->server_tokens_warning);
    if (auto st = rest.reload(rs.value()); !st) spdlog::error("{}", st.error());
  });

  SystemdNotifier systemd;
  agent.set_cycle_listener([&systemd](const std::string& message) { systemd.cycle_done(message); });

  std::thread signals([&agent, set] {
    set_current_thread_name("signals");
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
  const int rc = agent.run();
  systemd.stopping();
  if (citus_coordinator) citus_coordinator->shutdown();  // POST /citus calls waiting in REST threads return
  rest.stop();
  agent.shutdown();
  // The on_stop callback of the final stop (a VIP taken down, a pooler paused) gets to run
  // before the agent exits and its destructor kills what still runs; bounded so that a hung
  // script does not hold the exit.
  if (!hooks.wait_idle(kCallbackGraceAtExit))
    spdlog::warn("a callback still runs {} s after the shutdown; killing it",
                 std::chrono::duration_cast<std::chrono::seconds>(kCallbackGraceAtExit).count());
  pthread_kill(signals.native_handle(), SIGUSR2);
  signals.join();
  return rc;
}

}  // namespace custos::agent
