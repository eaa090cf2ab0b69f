// YAML text -> nlohmann::json with PyYAML `safe_load` (YAML 1.1) scalar meaning: plain scalars
// resolve to null/bool/int/float (yes/no/on/off, 0x.., 0o.., sexagesimal, .inf...), quoted or
// `!!str` scalars stay strings, `<<` merge keys are honoured. Errors carry yaml-cpp's line/column.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace custos::config {

using json = nlohmann::json;

struct YamlError {
  std::string message;
  int line = -1;    // 1-based; -1 when unknown
  int column = -1;  // 1-based; -1 when unknown
  std::string to_string() const;
};

// Limits that keep hostile input (alias bombs, huge documents) from exhausting memory.
inline constexpr std::size_t kMaxYamlBytes = 16u * 1024u * 1024u;
inline constexpr std::size_t kMaxYamlNodes = 1000000;
inline constexpr int kMaxYamlDepth = 200;

// Parses one YAML document. An empty document yields null.
Result<json, YamlError> parse_yaml(std::string_view text);

// Resolves a plain (unquoted) scalar the way PyYAML's SafeLoader does.
json resolve_plain_scalar(const std::string& text);

}  // namespace custos::config
