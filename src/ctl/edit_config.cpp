#include "ctl/edit_config.h"

#include <algorithm>
#include <tuple>

#include "config/merge.h"
#include "config/validate.h"
#include "config/yaml.h"
#include "ctl/records.h"

namespace custos::ctl {

namespace {

std::string strip(const std::string& s) {
  const char* ws = " \t\r\n\v\f";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) return out;
    start = p + 1;
  }
}

void set_path_value(json& config, std::vector<std::string> path, const json& value,
                    std::vector<std::string> prefix) {
  if (prefix.size() == 2 && prefix[0] == "postgresql" && prefix[1] == "parameters") {
    std::string joined;
    for (size_t i = 0; i < path.size(); ++i) joined += (i ? "." : "") + path[i];
    path = {joined};
  }
  const std::string key = path[0];
  if (!config.is_object()) config = json::object();
  if (path.size() == 1) {
    if (value.is_null())
      config.erase(key);
    else
      config[key] = value;
    return;
  }
  if (!config.contains(key) || !config[key].is_object()) config[key] = json::object();
  prefix.push_back(key);
  set_path_value(config[key], std::vector<std::string>(path.begin() + 1, path.end()), value,
                 prefix);
  if (config[key].is_object() && config[key].empty()) config.erase(key);
}

std::vector<std::string> listify(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  return split(t, '\n');
}

struct Opcode {
  char tag;  // 'e'qual, 'r'eplace, 'd'elete, 'i'nsert
  size_t i1, i2, j1, j2;
};

std::vector<Opcode> opcodes(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> lcs(n + 1, std::vector<size_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;)
    for (size_t j = m; j-- > 0;)
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  std::vector<Opcode> out;
  size_t i = 0, j = 0;
  auto push = [&](char tag, size_t i1, size_t i2, size_t j1, size_t j2) {
    if (!out.empty()) {
      Opcode& last = out.back();
      const bool last_change = last.tag != 'e', this_change = tag != 'e';
      if ((last.tag == tag) || (last_change && this_change)) {
        last.i2 = i2;
        last.j2 = j2;
        if (last_change && this_change) {
          const bool has_a = last.i2 > last.i1, has_b = last.j2 > last.j1;
          last.tag = has_a && has_b ? 'r' : has_a ? 'd' : 'i';
        }
        return;
      }
    }
    out.push_back({tag, i1, i2, j1, j2});
  };
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      push('e', i, i + 1, j, j + 1);
      ++i, ++j;
    } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      push('i', i, i, j, j + 1);
      ++j;
    } else {
      push('d', i, i + 1, j, j);
      ++i;
    }
  }
  return out;
}

std::string format_range(size_t start, size_t stop) {
  size_t beginning = start + 1;
  const size_t length = stop - start;
  if (length == 1) return std::to_string(beginning);
  if (length == 0) beginning -= 1;
  return std::to_string(beginning) + "," + std::to_string(length);
}

}  // namespace

std::string format_config_for_editing(const json& data) {
  return yaml_dump(to_ordered(data)) + "\n";
}

Result<json, std::string> apply_config_changes(json data, const std::vector<std::string>& pairs) {
  for (const auto& pair : pairs) {
    const auto eq = pair.find('=');
    if (pair.empty() || eq == std::string::npos)
      return Err<std::string>{"Invalid parameter setting " + pair};
    const std::string key_path = strip(pair.substr(0, eq));
    auto value = config::parse_yaml(pair.substr(eq + 1));
    if (!value)
      return Err<std::string>{"Invalid parameter setting " + pair + ": " +
                              value.error().to_string()};
    set_path_value(data, split(key_path, '.'), *value, {});
  }
  return data;
}

std::vector<std::string> pg_pairs_to_set_pairs(const std::vector<std::string>& pg_pairs) {
  std::vector<std::string> out;
  for (const auto& p : pg_pairs) {
    const auto b = p.find_first_not_of(" \t\r\n\v\f");
    out.push_back("postgresql.parameters." +
                  (b == std::string::npos ? std::string() : p.substr(b)));
  }
  return out;
}

Result<json, std::string> apply_yaml_text(json data, const std::string& yaml_text,
                                          const std::string& source) {
  auto patch = config::parse_yaml(yaml_text);
  if (!patch)
    return Err<std::string>{"cannot parse " + source + " as YAML: " + patch.error().to_string()};
  if (patch->is_null()) return data;
  if (!patch->is_object())
    return Err<std::string>{"the configuration in " + source + " is not a mapping"};
  config::patch_config(data, *patch);
  return data;
}

Result<json, std::string> parse_edited_yaml(const std::string& yaml_text) {
  auto parsed = config::parse_yaml(yaml_text);
  if (!parsed)
    return Err<std::string>{"cannot parse the edited configuration: " + parsed.error().to_string()};
  return *parsed;
}

std::vector<std::string> unified_diff(const std::string& before, const std::string& after) {
  const auto a = listify(before), b = listify(after);
  auto codes = opcodes(a, b);
  std::vector<std::string> out;
  if (std::none_of(codes.begin(), codes.end(), [](const Opcode& o) { return o.tag != 'e'; }))
    return out;
  const size_t n = 3;
  if (codes.front().tag == 'e') {
    auto& c = codes.front();
    c.i1 = std::max(c.i1, c.i2 >= n ? c.i2 - n : 0);
    c.j1 = std::max(c.j1, c.j2 >= n ? c.j2 - n : 0);
  }
  if (codes.back().tag == 'e') {
    auto& c = codes.back();
    c.i2 = std::min(c.i2, c.i1 + n);
    c.j2 = std::min(c.j2, c.j1 + n);
  }
  std::vector<std::vector<Opcode>> groups;
  std::vector<Opcode> group;
  for (Opcode c : codes) {
    if (c.tag == 'e' && c.i2 - c.i1 > 2 * n) {
      group.push_back({'e', c.i1, std::min(c.i2, c.i1 + n), c.j1, std::min(c.j2, c.j1 + n)});
      groups.push_back(group);
      group.clear();
      c.i1 = std::max(c.i1, c.i2 - n);
      c.j1 = std::max(c.j1, c.j2 - n);
    }
    group.push_back(c);
  }
  if (!group.empty() && !(group.size() == 1 && group[0].tag == 'e')) groups.push_back(group);

  for (const auto& g : groups) {
    if (out.empty()) {
      out.push_back("--- ");
      out.push_back("+++ ");
    }
    out.push_back("@@ -" + format_range(g.front().i1, g.back().i2) + " +" +
                  format_range(g.front().j1, g.back().j2) + " @@");
    for (const auto& c : g) {
      if (c.tag == 'e') {
        for (size_t i = c.i1; i < c.i2; ++i) out.push_back(" " + a[i]);
        continue;
      }
      if (c.tag == 'r' || c.tag == 'd')
        for (size_t i = c.i1; i < c.i2; ++i) out.push_back("-" + a[i]);
      if (c.tag == 'r' || c.tag == 'i')
        for (size_t j = c.j1; j < c.j2; ++j) out.push_back("+" + b[j]);
    }
  }
  return out;
}

}  // namespace custos::ctl
