#include "ctl/commands.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include "common/logging.h"
#include "common/version.h"
#include "config/env.h"
#include "ctl/command_context.h"
#include "ctl/ctl_config.h"
#include "ctl/dcs_factory.h"

namespace custos::ctl {

namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int) { g_interrupted.store(true); }

// %L in the log pattern: the level name in capitals, as Python's logging writes it.
class UpperLevelFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static const char* const kNames[] = {"TRACE", "DEBUG",    "INFO", "WARNING",
                                         "ERROR", "CRITICAL", "OFF"};
    const auto i = static_cast<size_t>(msg.level);
    const std::string_view name = i < std::size(kNames) ? kNames[i] : "UNKNOWN";
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<UpperLevelFlag>();
  }
};

// Logs of the libraries (etcd client...) go to stderr so that stdout stays parsable. Level
// from LOGLEVEL / PATRONI_LOGLEVEL / PATRONI_LOG_LEVEL (the last one set wins), default WARNING.
std::string setup_logging() {
  std::string level = "WARNING";
  for (const char* name : {"LOGLEVEL", "PATRONI_LOGLEVEL", "PATRONI_LOG_LEVEL"})
    if (const char* v = std::getenv(name); v && *v) level = v;
  auto logger = spdlog::get("custosctl");
  if (!logger) logger = spdlog::stderr_color_mt("custosctl");
  spdlog::set_default_logger(logger);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<UpperLevelFlag>('*').set_pattern("%Y-%m-%d %H:%M:%S,%e - %* - %v");
  spdlog::set_formatter(std::move(formatter));
  auto parsed = parse_log_level(level);
  spdlog::set_level(static_cast<spdlog::level::level_enum>(parsed.value_or(spdlog::level::warn)));
  return level;
}

// "YYYY-MM-DD HH:MM:SS" in local time (patronictl's timestamp(0)).
std::string local_timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// Sleeps up to `seconds`; false when interrupted (Ctrl-C / SIGTERM).
bool interruptible_sleep(double seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (g_interrupted.load()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return !g_interrupted.load();
}

int fail(std::ostream& err, const std::string& message) {
  err << "Error: " << message << "\n";
  err.flush();
  return 1;
}

int run_list(const Invocation& inv, std::ostream& out, std::ostream& err) {
  ConfigRequest request;
  request.config_file = inv.global.config_file.value_or(default_config_file());
  request.dcs_url = inv.global.dcs_url;
  request.insecure = inv.global.insecure;
  auto loaded = load_ctl_configuration(request, config::patroni_environment());
  if (!loaded) return fail(err, loaded.error());
  const nlohmann::json& config = *loaded;

  const ListArgs& args = inv.list;
  std::vector<std::string> names = args.cluster_names;
  if (names.empty() && config.contains("scope") && config["scope"].is_string() &&
      !config["scope"].get<std::string>().empty())
    names.push_back(config["scope"].get<std::string>());
  if (names.empty()) {
    spdlog::warn("Listing members: No cluster names were provided");
    return 0;
  }

  ListOptions options;
  options.format = args.format;
  options.extended = args.extended;
  options.group = args.group;
  options.citus = is_citus_config(config) || args.group.has_value();
  options.presentation = presentation_of_config(config);

  std::map<std::string, std::unique_ptr<dcs::Dcs>> stores;
  for (const auto& name : names) {
    if (stores.count(name)) continue;
    auto store = make_ctl_dcs(config, name, args.group);
    if (!store) return fail(err, store.error());
    stores[name] = std::move(store).value();
  }

  const double watch = args.watch.value_or(0.0);
  const bool clear = watch > 0 && ::isatty(STDOUT_FILENO);
  if (watch > 0) {
    g_interrupted.store(false);
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
  }
  while (true) {
    if (clear) out << "\033[2J\033[1;1H";
    if (args.timestamp) out << local_timestamp() << "\n";
    for (const auto& name : names) {
      auto cluster = stores[name]->get_cluster();
      if (!cluster) {
        out.flush();
        return fail(err, "cannot read cluster \"" + name +
                             "\" from the DCS: " + cluster.error().describe());
      }
      if (cluster->is_empty()) spdlog::warn("cluster \"{}\" has no keys in the DCS", name);
      out << render_members(*cluster, name, options);
    }
    out.flush();
    if (watch <= 0) return 0;
    if (!interruptible_sleep(watch)) {
      err << "\nAborted!\n";
      return 1;
    }
  }
}

}  // namespace

int run_invocation(const Invocation& invocation, std::ostream& out, std::ostream& err) {
  return run_invocation(invocation, out, err, std::cin, nullptr);
}

int run_invocation(const Invocation& invocation, std::ostream& out, std::ostream& err,
                   std::istream& in, MemberApi* api) {
  setup_logging();
  try {
    if (invocation.command == Command::kList || invocation.command == Command::kTopology)
      return run_list(invocation, out, err);
    CommandContext ctx(invocation, out, err, in, api);
    if (invocation.command != Command::kVersion) ctx.load();
    switch (invocation.command) {
      case Command::kList:
      case Command::kTopology:
        return 1;
      case Command::kVersion:
        return run_version(ctx);
      case Command::kShowConfig:
        return run_show_config(ctx);
      case Command::kHistory:
        return run_history(ctx);
      case Command::kDsn:
        return run_dsn(ctx);
      case Command::kEditConfig:
        return run_edit_config(ctx);
      case Command::kPause:
        return run_pause(ctx, true);
      case Command::kResume:
        return run_pause(ctx, false);
      case Command::kSwitchover:
        return run_switchover(ctx, false);
      case Command::kFailover:
        return run_switchover(ctx, true);
      case Command::kRestart:
        return run_restart(ctx);
      case Command::kReinit:
        return run_reinit(ctx);
      case Command::kReload:
        return run_reload(ctx);
      case Command::kFlush:
        return run_flush(ctx);
      case Command::kRemove:
        return run_remove(ctx);
      case Command::kQuery:
        return run_query(ctx);
      case Command::kDemoteCluster:
        return run_demote_cluster(ctx);
      case Command::kPromoteCluster:
        return run_promote_cluster(ctx);
    }
  } catch (const PromptAborted&) {
    out.flush();
    err << "Aborted!\n";
    return 1;
  } catch (const CtlError& e) {
    out.flush();
    return fail(err, e.what());
  } catch (const std::exception& e) {
    out.flush();
    return fail(err, std::string("unexpected failure: ") + e.what());
  }
  return 1;
}

int run_ctl(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  ParseOutcome parsed = parse_command_line(argc, argv);
  if (!parsed.invocation) {
    out << parsed.out;
    err << parsed.err;
    return parsed.exit_code;
  }
  return run_invocation(*parsed.invocation, out, err);
}

}  // namespace custos::ctl
