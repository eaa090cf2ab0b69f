#include "config/records.h"

#include <map>
#include <regex>

#include <yaml-cpp/yaml.h>

namespace custos::config {

namespace {

void dump_python(const ordered_json& v, std::string& out) {
  if (v.is_object()) {
    out += '{';
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!first) out += ", ";
      first = false;
      out += ordered_json(it.key()).dump(-1, ' ', true, ordered_json::error_handler_t::replace);
      out += ": ";
      dump_python(it.value(), out);
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (const auto& e : v) {
      if (!first) out += ", ";
      first = false;
      dump_python(e, out);
    }
    out += ']';
  } else if (v.is_number_float()) {
    std::string s = v.dump();
    // Python writes floats with a fraction or exponent ("1.0", not "1").
    if (s.find_first_of(".eE") == std::string::npos && s.find_first_of("ni") == std::string::npos) s += ".0";
    out += s;
  } else {
    out += v.dump(-1, ' ', true, ordered_json::error_handler_t::replace);
  }
}

void emit_yaml(YAML::Emitter& e, const ordered_json& v) {
  if (v.is_object()) {
    e << YAML::BeginMap;
    std::map<std::string, const ordered_json*> sorted;  // PyYAML sorts keys
    for (auto it = v.begin(); it != v.end(); ++it) sorted[it.key()] = &it.value();
    for (const auto& [k, val] : sorted) {
      e << YAML::Key;
      if (yaml_needs_quotes(k)) e << YAML::SingleQuoted;
      e << k << YAML::Value;
      emit_yaml(e, *val);
    }
    e << YAML::EndMap;
  } else if (v.is_array()) {
    e << YAML::BeginSeq;
    for (const auto& item : v) emit_yaml(e, item);
    e << YAML::EndSeq;
  } else if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s.find('\n') != std::string::npos) {
      e << YAML::Literal << s;
    } else {
      if (yaml_needs_quotes(s)) e << YAML::SingleQuoted;
      e << s;
    }
  } else if (v.is_boolean()) {
    e << v.get<bool>();
  } else if (v.is_null()) {
    e << YAML::Null;
  } else if (v.is_number_unsigned()) {
    e << v.get<uint64_t>();
  } else if (v.is_number_integer()) {
    e << v.get<int64_t>();
  } else {
    e << v.dump();
  }
}

}  // namespace

ordered_json to_ordered(const nlohmann::json& value) {
  return ordered_json::parse(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

nlohmann::json to_plain(const ordered_json& value) {
  return nlohmann::json::parse(value.dump(-1, ' ', false, ordered_json::error_handler_t::replace));
}

std::string python_json_dumps(const ordered_json& value) {
  std::string out;
  dump_python(value, out);
  return out;
}

bool yaml_needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  if (s.front() == ' ' || s.back() == ' ' || s.front() == '\t' || s.back() == '\t') return true;
  static const std::string kLeading = "-?:,[]{}#&*!|>'\"%@`";
  if (kLeading.find(s.front()) != std::string::npos) {
    // "-foo", "?x", ":x" are plain when followed by a non-space; PyYAML still quotes most.
    if (!((s.front() == '-' || s.front() == '?' || s.front() == ':') && s.size() > 1 && s[1] != ' '))
      return true;
  }
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos || s.back() == ':') return true;
  // YAML 1.1 implicit types (PyYAML's resolvers).
  static const std::regex kImplicit(
      "^(?:"
      "yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|y|Y|n|N"
      "|~|null|Null|NULL"
      "|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
      "|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+"
      "|[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?|\\.[0-9_]+(?:[eE][-+][0-9]+)?"
      "|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN)"
      "|[0-9]{4}-[0-9]{2}-[0-9]{2}"
      "|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \\t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]*)?"
      "(?:[ \\t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?"
      "|=|<<"
      ")$");
  return std::regex_match(s, kImplicit);
}

std::string yaml_dump(const ordered_json& value, bool flow) {
  YAML::Emitter e;
  e.SetNullFormat(YAML::LowerNull);
  e.SetBoolFormat(YAML::TrueFalseBool);
  e.SetIndent(2);
  if (flow) {
    e.SetMapFormat(YAML::Flow);
    e.SetSeqFormat(YAML::Flow);
  }
  emit_yaml(e, value);
  return e.c_str();
}

}  // namespace custos::config
