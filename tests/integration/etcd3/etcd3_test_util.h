// Shared helpers of the etcd3 integration tests.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcs/etcd3/etcd3_dcs.h"
#include "etcd_server.h"

namespace custos::test {

using namespace std::chrono_literals;
using dcs::DcsErrorKind;
using dcs::etcd3::Etcd3Dcs;
using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

inline std::string unique_scope(const std::string& base) {
  static std::atomic<int> n{0};
  return base + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

struct DcsParams {
  std::vector<std::string> hosts;
  std::string scope;
  std::string name;
  int ttl = 5;
  int loop_wait = 1;
  int retry_timeout = 3;
  nlohmann::json extra = nlohmann::json::object();  // merged into the etcd3 section
  std::optional<int> citus_group;                    // a `citus` section with this group
};

inline nlohmann::json patroni_config(const DcsParams& p) {
  nlohmann::json section = {{"hosts", p.hosts}};
  for (auto& [k, v] : p.extra.items()) section[k] = v;
  nlohmann::json config = {{"scope", p.scope},         {"name", p.name},  {"ttl", p.ttl}, {"loop_wait", p.loop_wait},
                           {"retry_timeout", p.retry_timeout}, {"etcd3", section}};
  if (p.citus_group) config["citus"] = {{"group", *p.citus_group}, {"database", "citus"}};
  return config;
}

inline std::unique_ptr<Etcd3Dcs> make_dcs(const DcsParams& p) {
  auto r = Etcd3Dcs::from_config(patroni_config(p));
  if (!r) throw std::runtime_error(r.error());
  return std::move(r).value();
}

// Leader name in the cluster as read now ("" when no leader; "<error>" when the read failed).
inline std::string leader_name(Etcd3Dcs& dcs) {
  auto c = dcs.get_cluster_fresh();
  if (!c) return "<error: " + c.error().describe() + ">";
  return c->leader() ? c->leader()->name() : "";
}

}  // namespace custos::test
