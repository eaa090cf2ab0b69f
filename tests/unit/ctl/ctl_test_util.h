// Builds Clusters from Patroni-shaped DCS keys for the rendering tests.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcs/cluster.h"

namespace custos::ctl::test {

using json = nlohmann::json;
constexpr int64_t kMiB = 1024 * 1024;

// A member value as Patroni 3.3 writes it.
inline std::string member_value(const std::string& host_port, const std::string& role, const std::string& state,
                                std::optional<int64_t> xlog, std::optional<int> timeline, json extra = json::object()) {
  json m = {{"conn_url", "postgres://" + host_port + "/postgres"},
            {"api_url", "http://" + host_port.substr(0, host_port.rfind(':')) + ":8008/patroni"},
            {"state", state},
            {"role", role},
            {"version", "3.3.1"}};
  if (xlog) m["xlog_location"] = *xlog;
  if (timeline) m["timeline"] = *timeline;
  for (auto& [k, v] : extra.items()) m[k] = v;
  return m.dump();
}

inline dcs::RawNodes nodes(const std::vector<std::pair<std::string, std::string>>& kv) {
  dcs::RawNodes out;
  dcs::Version v = 10;
  for (const auto& [k, value] : kv) {
    dcs::RawNode n;
    n.key = k;
    n.value = value;
    n.version = n.modify_version = v++;
    if (k == "leader" || k.find("members/") != std::string::npos) n.session = "7587";
    out.push_back(std::move(n));
  }
  return out;
}

inline dcs::Cluster cluster(const std::vector<std::pair<std::string, std::string>>& kv) {
  return dcs::Cluster::from_nodes(nodes(kv));
}

}  // namespace custos::ctl::test
