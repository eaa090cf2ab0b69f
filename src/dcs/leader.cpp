#include "dcs/leader.h"

namespace custos::dcs {

std::optional<bool> Leader::checkpoint_after_promote() const {
  auto version = member.patroni_version();
  // 1.5.6 is the last version that does not publish `checkpoint_after_promote: false`.
  static const PatroniVersion kLastWithout{1, 5, 6};
  if (!version || version->empty() || !(*version > kLastWithout)) return std::nullopt;
  const auto& d = member.data();
  return is_primary_role(member.role()) && !d.contains("checkpoint_after_promote");
}

}  // namespace custos::dcs
