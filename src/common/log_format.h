// LogFormat: one agent log line laid out as Patroni (Python's logging) lays it out, from the
// `log` section's `type`, `format`, `dateformat` and `static_fields`:
//   - plain: a Python %-style format over LogRecord attributes, default
//     "%(asctime)s %(levelname)s: %(message)s" ("2026-12-03 10:49:13,042 INFO: ...");
//   - json (python-json-logger): the fields named in `format` (a %-style string or a list of
//     names and {name: renamed} mappings) plus `static_fields`, one JSON object per line.
// asctime is local time, "%Y-%m-%d %H:%M:%S,mmm" without a dateformat, else strftime(dateformat).
// Attributes custos has no equivalent for are filled as documented in docs/compatibility.md
// (name "custos", funcName "-", lineno 0). Building never fails: a format Python would reject
// falls back to the default with a warning. Pure; render() is const and thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace custos {

// What a line is rendered from.
struct LogRecord {
  std::chrono::system_clock::time_point time;
  int level = 20;            // Python's levelno: 10 DEBUG, 20 INFO, 30 WARNING, 40 ERROR, 50 CRITICAL
  std::string_view message;
  pid_t process = 0;
  uint64_t thread = 0;       // the OS thread id
};

// Python's level name of a levelno ("WARNING" for 30; "Level N" otherwise).
std::string python_level_name(int levelno);

class LogFormat {
 public:
  static constexpr const char* kDefaultFormat = "%(asctime)s %(levelname)s: %(message)s";

  LogFormat();  // plain, the default format
  // `type`: "plain"/"json" (anything else: plain); `format`: string, or for json also a list;
  // `dateformat`: string or null/""; `static_fields`: mapping (json only). Problems are
  // appended to `warnings` in Patroni's words where Patroni has them.
  static LogFormat from_config(const nlohmann::json& log_section, std::vector<std::string>* warnings = nullptr);

  std::string render(const LogRecord& record) const;  // without a trailing newline
  bool is_json() const { return json_; }

 private:
  struct Piece {
    std::string literal;  // when field is empty
    std::string field;    // LogRecord attribute
    std::string spec;     // printf flags/width/precision, e.g. "-8"
    char conversion = 's';
  };
  static bool parse(std::string_view format, std::vector<Piece>& out, std::string& error);
  std::string attribute_text(const Piece& p, const LogRecord& r) const;
  nlohmann::json attribute_json(const std::string& field, const LogRecord& r) const;
  std::string asctime(const LogRecord& r) const;

  bool json_ = false;
  std::vector<Piece> pieces_;
  std::vector<std::pair<std::string, std::string>> json_fields_;  // attribute, key
  nlohmann::json static_fields_ = nlohmann::json::object();
  std::string dateformat_;
  std::chrono::system_clock::time_point start_;
};

}  // namespace custos
