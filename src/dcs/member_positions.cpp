#include "dcs/member_positions.h"

#include "common/lsn.h"

namespace custos::dcs {

nlohmann::ordered_json member_positions(const Member& member, int64_t cluster_lsn, bool with_lsns) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  auto put = [&](const char* lsn_key, const char* lag_key, std::optional<int64_t> known) {
    // Patroni: a zero (or garbage) position is unknown. A plain value (0 = unknown) rather
    // than the optional keeps g++ -O2 from a false maybe-uninitialized warning.
    const int64_t lsn = known.value_or(0) > 0 ? known.value_or(0) : 0;
    if (with_lsns) out[lsn_key] = lsn > 0 ? nlohmann::ordered_json(format_lsn(lsn)) : "unknown";
    if (lsn <= 0)
      out[lag_key] = "unknown";
    else
      out[lag_key] = cluster_lsn > lsn ? cluster_lsn - lsn : 0;  // both > 0 here: no overflow
  };
  put("lsn", "lag", member.lsn());
  if (with_lsns) {
    put("receive_lsn", "receive_lag", member.receive_lsn());
    put("replay_lsn", "replay_lag", member.replay_lsn());
  }
  return out;
}

}  // namespace custos::dcs
