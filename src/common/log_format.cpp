#include "common/log_format.h"

#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <map>

namespace custos {

namespace {

using nlohmann::json;

enum class Kind { kString, kInt, kFloat };

// The LogRecord attributes Python's logging offers, by type.
const std::map<std::string, Kind>& attributes() {
  static const std::map<std::string, Kind> a = {
      {"asctime", Kind::kString},  {"created", Kind::kFloat},       {"filename", Kind::kString},
      {"funcName", Kind::kString}, {"levelname", Kind::kString},    {"levelno", Kind::kInt},
      {"lineno", Kind::kInt},      {"message", Kind::kString},      {"module", Kind::kString},
      {"msecs", Kind::kFloat},     {"msg", Kind::kString},          {"name", Kind::kString},
      {"pathname", Kind::kString}, {"process", Kind::kInt},         {"processName", Kind::kString},
      {"relativeCreated", Kind::kFloat}, {"thread", Kind::kInt},    {"threadName", Kind::kString},
      {"taskName", Kind::kString}, {"args", Kind::kString},         {"exc_info", Kind::kString},
      {"exc_text", Kind::kString}, {"stack_info", Kind::kString}};
  return a;
}

std::string type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::string: return "str";
    case json::value_t::boolean: return "bool";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "int";
    case json::value_t::number_float: return "float";
    case json::value_t::array: return "list";
    case json::value_t::object: return "dict";
    default: return "NoneType";
  }
}

// Python's json.dumps with its default separators and ensure_ascii.
void python_dump(const json& v, std::string& out) {
  switch (v.type()) {
    case json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, x] : v.items()) {
        if (!first) out += ", ";
        first = false;
        python_dump(json(k), out);
        out += ": ";
        python_dump(x, out);
      }
      out += '}';
      return;
    }
    case json::value_t::array: {
      out += '[';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ", ";
        python_dump(v[i], out);
      }
      out += ']';
      return;
    }
    default: out += v.dump(-1, ' ', true, json::error_handler_t::replace);
  }
}

}  // namespace

std::string python_level_name(int levelno) {
  switch (levelno) {
    case 10: return "DEBUG";
    case 20: return "INFO";
    case 30: return "WARNING";
    case 40: return "ERROR";
    case 50: return "CRITICAL";
    case 0: return "NOTSET";
    default: return "Level " + std::to_string(levelno);
  }
}

LogFormat::LogFormat() : start_(std::chrono::system_clock::now()) {
  std::string error;
  parse(kDefaultFormat, pieces_, error);
}

bool LogFormat::parse(std::string_view f, std::vector<Piece>& out, std::string& error) {
  out.clear();
  std::string literal;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      literal += f[i];
      continue;
    }
    if (i + 1 < f.size() && f[i + 1] == '%') {
      literal += '%';
      ++i;
      continue;
    }
    if (i + 1 >= f.size() || f[i + 1] != '(') {
      error = "a '%' not followed by '(name)' at offset " + std::to_string(i);
      return false;
    }
    const size_t close = f.find(')', i + 2);
    if (close == std::string_view::npos) {
      error = "an unclosed '%(' at offset " + std::to_string(i);
      return false;
    }
    Piece p;
    p.field = std::string(f.substr(i + 2, close - i - 2));
    auto it = attributes().find(p.field);
    if (it == attributes().end()) {
      error = "unknown LogRecord attribute '" + p.field + "'";
      return false;
    }
    size_t j = close + 1;
    while (j < f.size() && std::string_view("-+ #0").find(f[j]) != std::string_view::npos) p.spec += f[j++];
    while (j < f.size() && std::isdigit(static_cast<unsigned char>(f[j]))) p.spec += f[j++];
    if (j < f.size() && f[j] == '.') {
      p.spec += f[j++];
      while (j < f.size() && std::isdigit(static_cast<unsigned char>(f[j]))) p.spec += f[j++];
    }
    if (j >= f.size()) {
      error = "'%(" + p.field + ")' without a conversion type";
      return false;
    }
    p.conversion = f[j];
    if (std::string_view("srdiufFeEgGxXo").find(p.conversion) == std::string_view::npos) {
      error = std::string("unsupported conversion '") + p.conversion + "' for '" + p.field + "'";
      return false;
    }
    if (std::string_view("sr").find(p.conversion) == std::string_view::npos && it->second == Kind::kString) {
      error = "'%(" + p.field + ")" + p.conversion + "' needs a number, " + p.field + " is a string";
      return false;
    }
    if (!literal.empty()) out.push_back(Piece{std::move(literal), "", "", 's'});
    literal.clear();
    out.push_back(std::move(p));
    i = j;
  }
  if (!literal.empty()) out.push_back(Piece{std::move(literal), "", "", 's'});
  return true;
}

LogFormat LogFormat::from_config(const json& log, std::vector<std::string>* warnings) {
  auto warn = [&](const std::string& m) {
    if (warnings) warnings->push_back(m);
  };
  LogFormat f;
  const json empty = json::object();
  const json& c = log.is_object() ? log : empty;
  auto get = [&](const char* k) -> const json* {
    auto it = c.find(k);
    return it == c.end() || it->is_null() ? nullptr : &*it;
  };
  const json* type = get("type");
  f.json_ = type && type->is_string() && *type == "json";
  if (const json* d = get("dateformat")) {
    if (d->is_string()) f.dateformat_ = d->get<std::string>();
    else warn("Expected log dateformat to be a string, but got \"" + type_name(*d) + "\"");
  }
  std::string format = kDefaultFormat;
  if (const json* fmt = get("format")) {
    if (fmt->is_string()) {
      format = fmt->get<std::string>();
    } else if (f.json_ && fmt->is_array()) {
      std::string joined;
      for (const auto& item : *fmt) {
        if (item.is_string()) {
          joined += (joined.empty() ? "" : " ") + std::string("%(") + item.get<std::string>() + ")s";
        } else if (item.is_object()) {
          for (const auto& [original, renamed] : item.items()) {
            if (!renamed.is_string()) {
              warn("Expected renamed log field to be a string, but got \"" + type_name(renamed) + "\"");
              continue;
            }
            joined += (joined.empty() ? "" : " ") + std::string("%(") + original + ")s";
            f.json_fields_.emplace_back(original, renamed.get<std::string>());
          }
        } else {
          warn("Expected each item of log format to be a string or dictionary, but got \"" + type_name(item) + "\"");
        }
      }
      if (!joined.empty()) format = joined;
    } else {
      warn(std::string(f.json_ ? "Expected log format to be a string or a list, but got \""
                               : "Expected log format to be a string when log type is plain, but got \"") +
           type_name(*fmt) + "\"");
    }
  }
  std::string error;
  if (!parse(format, f.pieces_, error)) {
    warn("log.format '" + format + "': " + error + "; using the default " + kDefaultFormat);
    parse(kDefaultFormat, f.pieces_, error);
    f.json_fields_.clear();
  }
  if (f.json_) {
    // Renames given as {name: key} items; the other fields keep their names.
    std::vector<std::pair<std::string, std::string>> fields;
    for (const auto& p : f.pieces_) {
      if (p.field.empty()) continue;
      std::string key = p.field;
      for (const auto& [orig, renamed] : f.json_fields_)
        if (orig == p.field) key = renamed;
      fields.emplace_back(p.field, key);
    }
    f.json_fields_ = std::move(fields);
    if (const json* s = get("static_fields")) {
      if (s->is_object()) f.static_fields_ = *s;
      else warn("log.static_fields: expected a mapping, got " + type_name(*s) + "; ignored");
    }
  } else if (get("static_fields")) {
    warn("log.static_fields is used only with log.type: json; ignored");
  }
  return f;
}

std::string LogFormat::asctime(const LogRecord& r) const {
  const auto t = std::chrono::system_clock::to_time_t(r.time);
  struct tm tm {};
  ::localtime_r(&t, &tm);
  char buf[256];
  if (!dateformat_.empty()) {
    size_t n = std::strftime(buf, sizeof buf, dateformat_.c_str(), &tm);
    return std::string(buf, n);
  }
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.time.time_since_epoch()).count() % 1000;
  char msbuf[8];
  std::snprintf(msbuf, sizeof msbuf, ",%03d", static_cast<int>(ms));
  return std::string(buf, n) + msbuf;
}

json LogFormat::attribute_json(const std::string& field, const LogRecord& r) const {
  using namespace std::chrono;
  const double created = duration<double>(r.time.time_since_epoch()).count();
  if (field == "asctime") return asctime(r);
  if (field == "created") return created;
  if (field == "levelname") return python_level_name(r.level);
  if (field == "levelno") return r.level;
  if (field == "message" || field == "msg") return std::string(r.message);
  if (field == "lineno") return 0;
  if (field == "process") return r.process;
  if (field == "thread") return r.thread;
  if (field == "msecs") return (created - std::floor(created)) * 1000.0;
  if (field == "relativeCreated") return duration<double, std::milli>(r.time - start_).count();
  if (field == "threadName")
    return r.thread == static_cast<uint64_t>(r.process) ? std::string("MainThread") : "Thread-" + std::to_string(r.thread);
  if (field == "processName") return "MainProcess";
  if (field == "name" || field == "filename" || field == "module" || field == "pathname") return "custos";
  if (field == "funcName") return "-";
  if (field == "args") return "()";
  return nullptr;  // exc_info, exc_text, stack_info, taskName: None
}

std::string LogFormat::attribute_text(const Piece& p, const LogRecord& r) const {
  const json v = attribute_json(p.field, r);
  char buf[512];
  if (p.conversion == 's' || p.conversion == 'r') {
    std::string s;
    if (v.is_string()) s = v.get<std::string>();
    else if (v.is_null()) s = "None";
    else if (v.is_number_float()) {
      std::snprintf(buf, sizeof buf, "%.17g", v.get<double>());
      s = buf;
    } else s = v.dump();
    if (p.conversion == 'r' && v.is_string()) s = "'" + s + "'";
    if (p.spec.empty()) return s;
    const std::string fmt = "%" + p.spec + "s";
    std::string out(s.size() + 600, '\0');
    int n = std::snprintf(out.data(), out.size(), fmt.c_str(), s.c_str());
    out.resize(n > 0 ? std::min(static_cast<size_t>(n), out.size() - 1) : 0);
    return out;
  }
  const std::string spec = p.spec.size() > 100 ? p.spec.substr(0, 100) : p.spec;
  if (std::string_view("diu").find(p.conversion) != std::string_view::npos) {
    const long long i = v.is_number_float() ? static_cast<long long>(v.get<double>()) : v.get<long long>();
    std::snprintf(buf, sizeof buf, ("%" + spec + "lld").c_str(), i);
  } else if (std::string_view("xXo").find(p.conversion) != std::string_view::npos) {
    const long long i = v.is_number_float() ? static_cast<long long>(v.get<double>()) : v.get<long long>();
    std::snprintf(buf, sizeof buf, ("%" + spec + "ll" + p.conversion).c_str(), i);
  } else {
    const double d = v.get<double>();
    std::snprintf(buf, sizeof buf, ("%" + spec + p.conversion).c_str(), d);
  }
  return buf;
}

std::string LogFormat::render(const LogRecord& r) const {
  if (!json_) {
    std::string out;
    for (const auto& p : pieces_) out += p.field.empty() ? p.literal : attribute_text(p, r);
    return out;
  }
  std::string out = "{";
  bool first = true;
  auto add = [&](const std::string& key, const json& value) {
    if (!first) out += ", ";
    first = false;
    python_dump(json(key), out);
    out += ": ";
    python_dump(value, out);
  };
  for (const auto& [field, key] : json_fields_) add(key, attribute_json(field, r));
  for (const auto& [key, value] : static_fields_.items()) add(key, value);
  out += "}";
  return out;
}

}  // namespace custos
