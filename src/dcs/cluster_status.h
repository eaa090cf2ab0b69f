// The `status` key (dcs.md §2.8) as the class ClusterStatus (Patroni: Status; renamed because
// custos::Status<E> of common/result.h is visible in this namespace): the leader's last known
// LSN and the LSNs of permanent slots; also built from the legacy `optime/leader` integer.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace custos::dcs {

class ClusterStatus {
 public:
  ClusterStatus() = default;
  ClusterStatus(int64_t last_lsn, std::optional<std::map<std::string, int64_t>> slots)
      : last_lsn(last_lsn), slots(std::move(slots)) {}

  static ClusterStatus empty() { return ClusterStatus{}; }
  // JSON object {"optime", "slots", "retain_slots"}; a plain JSON integer is a legacy optime; anything else
  // empty. Bad optime -> 0. `slots` may be an object or a JSON string holding one; entries whose
  // value is not int-like (parse_int) are dropped; slots stays nullopt if not an object.
  static ClusterStatus from_node(std::string_view value);

  int64_t last_lsn = 0;
  std::optional<std::map<std::string, int64_t>> slots;
  // Patroni 4 (member_slots_ttl): slot names of members whose slots are kept, also after they
  // left; a list or a JSON string holding one (non-string and empty entries dropped).
  std::optional<std::vector<std::string>> retain_slots;

  bool is_empty() const noexcept { return last_lsn == 0 && !slots && !retain_slots; }

  // The `status` value a leader writes: {"optime", "slots" when not empty, "retain_slots"
  // when not empty}.
  static nlohmann::json value_of(int64_t last_lsn, const std::map<std::string, int64_t>& slots,
                                 const std::vector<std::string>& retain_slots);
  bool operator==(const ClusterStatus&) const = default;
};

}  // namespace custos::dcs
