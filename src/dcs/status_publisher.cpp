#include "dcs/status_publisher.h"

#include "dcs/json_util.h"

#include <spdlog/spdlog.h>

namespace custos::dcs {

using json = nlohmann::json;

void StatusPublisher::observe(const RawNodes& nodes, const std::string& own_prefix, const Cluster& cluster) {
  std::optional<json> status, failsafe;
  for (const auto& n : nodes) {
    if (n.key.compare(0, own_prefix.size(), own_prefix) != 0) continue;
    const std::string rel = n.key.substr(own_prefix.size());
    // Parsed with the model's depth-capped parser: a hostile nested value must not recurse us
    // to death.
    if (rel == "status") {
      auto j = parse_json(n.value);
      if (j && j->is_object()) status = std::move(*j);
    } else if (rel == "failsafe") {
      auto j = parse_json(n.value);
      if (j && j->is_object()) failsafe = std::move(*j);
    }
  }
  // optime/leader is kept up to date only for members older than Patroni 2.1.0.
  const auto min_version = cluster.min_version();
  const bool legacy = min_version && *min_version < PatroniVersion{2, 1, 0};
  MutexLock lock(mu_);
  last_status_ = std::move(status);
  last_failsafe_ = std::move(failsafe);
  legacy_optime_ = legacy;
}

void StatusPublisher::forget() {
  MutexLock lock(mu_);
  last_status_.reset();
  last_failsafe_.reset();
  last_optime_written_.reset();
}

DcsStatus StatusPublisher::write_status(const json& status, const Put& put) {
  bool skip, legacy;
  std::optional<int64_t> last_optime;
  {
    MutexLock lock(mu_);
    skip = last_status_ && *last_status_ == status;
    legacy = legacy_optime_;
    last_optime = last_optime_written_;
  }
  if (!skip) {
    auto s = put("status", status.dump());
    if (!s) return s;
    MutexLock lock(mu_);
    last_status_ = status;
  }
  // Members older than Patroni 2.1.0 read the leader's position from optime/leader.
  if (legacy && status.is_object() && status.contains("optime") && status["optime"].is_number_integer()) {
    const int64_t optime = status["optime"].get<int64_t>();
    if (last_optime != optime) {
      auto s = put("optime/leader", std::to_string(optime));
      if (!s) return s;
      MutexLock lock(mu_);
      last_optime_written_ = optime;
    }
  }
  return Unit{};
}

DcsStatus StatusPublisher::write_failsafe(const json& failsafe, const Put& put) {
  {
    MutexLock lock(mu_);
    if (last_failsafe_ && *last_failsafe_ == failsafe) return Unit{};
  }
  auto s = put("failsafe", failsafe.dump());
  if (!s) return s;
  MutexLock lock(mu_);
  last_failsafe_ = failsafe;
  return Unit{};
}

void StatusPublisher::publish(const LeaderRefresh& refresh, const Put& put, const char* log_tag) {
  if (refresh.last_lsn) {
    const json status = ClusterStatus::value_of(*refresh.last_lsn, refresh.slots, refresh.retain_slots);
    if (auto s = write_status(status, put); !s) spdlog::warn("{}: writing status failed: {}", log_tag, s.error().describe());
  }
  if (refresh.failsafe) {
    if (auto s = write_failsafe(*refresh.failsafe, put); !s)
      spdlog::warn("{}: writing failsafe failed: {}", log_tag, s.error().describe());
  }
}

}  // namespace custos::dcs
