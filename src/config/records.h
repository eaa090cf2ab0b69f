// Machine-readable renderings of JSON values the way Patroni and patronictl print them: Python's
// json.dumps (", " and ": " separators, ASCII only, keys in insertion order) and PyYAML's
// safe_dump (keys sorted, block or flow style, strings that would read back as another type
// quoted).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace custos::config {

using ordered_json = nlohmann::ordered_json;

// Conversions between nlohmann's map-ordered and insertion-ordered values. Never throw:
// invalid UTF-8 (a member name from a hostile key) is replaced.
ordered_json to_ordered(const nlohmann::json& value);
nlohmann::json to_plain(const ordered_json& value);

// json.dumps(value) of Python's standard library, one line.
std::string python_json_dumps(const ordered_json& value);

// yaml.safe_dump(value, default_flow_style=flow, allow_unicode=True) without a trailing
// newline. Multi-line strings are written as literal blocks in block style.
std::string yaml_dump(const ordered_json& value, bool flow = false);

// True when a plain YAML scalar with this text would not read back as this string (bool/null/
// number/timestamp look-alikes in YAML 1.1, leading indicators, surrounding spaces...).
bool yaml_needs_quotes(const std::string& text);

}  // namespace custos::config
