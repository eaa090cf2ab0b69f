#include "common/logging.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>
#include <mutex>

#include "common/log_format.h"
#include "common/python_int.h"
#include "common/rotating_log_file.h"

namespace custos {

namespace {

int python_levelno(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
    case spdlog::level::debug: return 10;
    case spdlog::level::info: return 20;
    case spdlog::level::warn: return 30;
    case spdlog::level::err: return 40;
    case spdlog::level::critical: return 50;
    default: return 0;
  }
}

// The one sink of the process: renders with a LogFormat and writes to stderr or a
// RotatingLogFile; both are replaced under the sink's own mutex.
class PatroniSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void reconfigure(LogFormat format, std::unique_ptr<RotatingLogFile> file) {
    std::lock_guard<std::mutex> lk(mutex_);
    format_ = std::move(format);
    file_ = std::move(file);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    LogRecord r;
    r.time = msg.time;
    r.level = python_levelno(msg.level);
    r.message = std::string_view(msg.payload.data(), msg.payload.size());
    r.process = ::getpid();
    r.thread = msg.thread_id;
    std::string line = format_.render(r);
    line += '\n';
    if (file_) {
      file_->write(line);
      return;
    }
    size_t done = 0;
    while (done < line.size()) {
      ssize_t n = ::write(2, line.data() + done, line.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
  }
  void flush_() override {
    if (file_) file_->flush();
  }

 private:
  LogFormat format_;
  std::unique_ptr<RotatingLogFile> file_;
};

std::shared_ptr<PatroniSink>& sink() {
  static std::shared_ptr<PatroniSink> s;
  return s;
}

void install_sink() {
  if (sink()) return;
  sink() = std::make_shared<PatroniSink>();
  auto logger = std::make_shared<spdlog::logger>("custos", sink());
  logger->set_level(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace

std::optional<int> parse_log_level(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::toupper(c); });
  if (n == "DEBUG") return spdlog::level::debug;
  if (n == "INFO") return spdlog::level::info;
  if (n == "WARN" || n == "WARNING") return spdlog::level::warn;
  if (n == "ERROR") return spdlog::level::err;
  if (n == "FATAL" || n == "CRITICAL") return spdlog::level::critical;
  return std::nullopt;
}

std::function<void(std::string_view, bool)> log_child_output(std::string program) {
  return [program = std::move(program)](std::string_view line, bool) { spdlog::info("{}: {}", program, line); };
}

std::vector<std::string> configure_logging(const nlohmann::json& log_section) {
  install_sink();
  std::vector<std::string> problems;
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& log = log_section.is_object() ? log_section : empty;
  auto get = [&](const char* k) -> const nlohmann::json* {
    auto it = log.find(k);
    return it == log.end() || it->is_null() ? nullptr : &*it;
  };

  auto level = spdlog::level::info;
  if (const auto* l = get("level")) {
    std::optional<int> parsed;
    if (l->is_string()) parsed = parse_log_level(l->get<std::string>());
    else if (auto i = python_int(*l); i && !l->is_boolean()) {
      // Python's numeric levels.
      parsed = *i <= 10 ? spdlog::level::debug : *i <= 20 ? spdlog::level::info : *i <= 30 ? spdlog::level::warn
                                                 : *i <= 40 ? spdlog::level::err : spdlog::level::critical;
    }
    if (parsed) level = static_cast<spdlog::level::level_enum>(*parsed);
    else problems.push_back("log.level: unknown level " + l->dump() + ", using INFO");
  }

  LogFormat format = LogFormat::from_config(log, &problems);

  std::unique_ptr<RotatingLogFile> file;
  if (const auto* d = get("dir")) {
    const std::string dir = d->is_string() ? d->get<std::string>() : d->dump();
    auto int_of = [&](const char* k, int64_t fallback) {
      const auto* v = get(k);
      if (!v) return fallback;
      if (auto i = python_int(*v)) return *i;
      problems.push_back(std::string("log.") + k + ": " + v->dump() + " is not an integer, using " +
                         std::to_string(fallback));
      return fallback;
    };
    const int64_t size = int_of("file_size", 25000000);
    const int64_t num = int_of("file_num", 4);
    std::optional<mode_t> mode;
    if (const auto* m = get("mode")) {
      if (auto i = python_int(*m); i && *i >= 0 && *i <= 07777) mode = static_cast<mode_t>(*i);
      else problems.push_back("log.mode: " + m->dump() + " is not a file mode; the umask decides");
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    file = std::make_unique<RotatingLogFile>(dir + "/patroni.log", static_cast<uint64_t>(std::max<int64_t>(0, size)),
                                             static_cast<int>(std::clamp<int64_t>(num, 0, 1000000)), mode);
    if (auto err = file->open(); !err.empty()) {
      problems.push_back("log.dir: cannot open " + file->path() + " (" + err + "); logging to stderr");
      file.reset();
    }
  }
  if (const auto* loggers = get("loggers")) {
    if (loggers->is_object() && !loggers->empty()) {
      std::string names;
      for (const auto& [name, value] : loggers->items()) names += (names.empty() ? "" : ", ") + name;
      problems.push_back("log.loggers (" + names +
                         "): custos logs through one logger, set by log.level; per-logger levels are not supported");
    } else if (!loggers->is_object()) {
      problems.push_back("log.loggers: expected a mapping of logger names to levels; ignored");
    }
  }
  if (const auto* dedup = get("deduplicate_heartbeat_logs"); dedup && dedup->is_boolean() && dedup->get<bool>())
    problems.push_back("log.deduplicate_heartbeat_logs: not supported by custos yet; every heartbeat line is logged");
  sink()->reconfigure(std::move(format), std::move(file));
  spdlog::set_level(level);
  return problems;
}

}  // namespace custos
