// The `config` key (dcs.md §2.3): the dynamic configuration as a JSON object plus its versions.
// A value that is not a JSON object gives data {} with modify_version 0 (ignored by appliers).
#pragma once

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "dcs/raw_node.h"

namespace custos::dcs {

class ClusterConfig {
 public:
  ClusterConfig() = default;
  ClusterConfig(Version version, nlohmann::json data, Version modify_version);

  static ClusterConfig from_node(Version version, std::string_view value, Version modify_version);
  static ClusterConfig from_node(Version version, std::string_view value) {
    return from_node(version, value, version);
  }

  // CAS version of the key.
  Version version = 0;
  // Change marker; 0 when the value was invalid.
  Version modify_version = 0;

  // Always an object.
  const nlohmann::json& data() const noexcept { return data_; }
  // The value was a JSON object (backends never report a 0 version for an existing key).
  bool is_valid() const noexcept { return modify_version != 0; }

  // The first truthy of `permanent_replication_slots`, `permanent_slots`, `slots`; {} when none
  // or when that value is not an object.
  const nlohmann::json& permanent_slots() const noexcept;
  // `ignore_slots` if a truthy array, else [].
  const nlohmann::json& ignore_slots_matchers() const noexcept;
  // `max_timelines_history` through parse_int, default 0.
  int64_t max_timelines_history() const;
  // `postgresql.use_slots` through patroni_parse_bool (unparsable -> false), default true.
  bool use_slots() const;

  bool operator==(const ClusterConfig& other) const noexcept;

 private:
  nlohmann::json data_ = nlohmann::json::object();
};

}  // namespace custos::dcs
