#include "dcs/cluster_config.h"

#include "common/json_truth.h"
#include "dcs/json_util.h"

namespace custos::dcs {

namespace {
const nlohmann::json& empty_object() {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  return kEmpty;
}
const nlohmann::json& empty_array() {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  return kEmpty;
}
}  // namespace

ClusterConfig::ClusterConfig(Version version, nlohmann::json data, Version modify_version)
    : version(version), modify_version(modify_version),
      data_(data.is_object() ? std::move(data) : nlohmann::json::object()) {}

ClusterConfig ClusterConfig::from_node(Version version, std::string_view value,
                                       Version modify_version) {
  auto parsed = parse_json(value);
  if (!parsed || !parsed->is_object()) return ClusterConfig(version, nlohmann::json::object(), 0);
  return ClusterConfig(version, std::move(*parsed), modify_version);
}

const nlohmann::json& ClusterConfig::permanent_slots() const noexcept {
  for (const char* key : {"permanent_replication_slots", "permanent_slots", "slots"}) {
    auto it = data_.find(key);
    if (it != data_.end() && python_truthy(*it)) return it->is_object() ? *it : empty_object();
  }
  return empty_object();
}

const nlohmann::json& ClusterConfig::ignore_slots_matchers() const noexcept {
  auto it = data_.find("ignore_slots");
  if (it != data_.end() && it->is_array()) return *it;
  return empty_array();
}

int64_t ClusterConfig::max_timelines_history() const {
  auto it = data_.find("max_timelines_history");
  if (it == data_.end()) return 0;
  auto v = parse_int(*it);
  return v ? *v : 0;
}

bool ClusterConfig::use_slots() const {
  auto pg = data_.find("postgresql");
  if (pg == data_.end() || !pg->is_object()) return true;
  auto us = pg->find("use_slots");
  if (us == pg->end()) return true;
  return patroni_parse_bool(*us).value_or(false);
}

bool ClusterConfig::operator==(const ClusterConfig& other) const noexcept {
  return version == other.version && modify_version == other.modify_version &&
         data_ == other.data_;
}

}  // namespace custos::dcs
