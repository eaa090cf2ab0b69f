#include "dcs/member_positions.h"

#include "common/lsn.h"

namespace custos::dcs {

nlohmann::ordered_json member_positions(const Member& member, int64_t cluster_lsn, bool with_lsns) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  auto put = [&](const char* lsn_key, const char* lag_key, std::optional<int64_t> lsn) {
    if (lsn && *lsn <= 0) lsn.reset();  // Patroni: a zero (or garbage) position is unknown
    if (with_lsns) out[lsn_key] = lsn ? nlohmann::ordered_json(format_lsn(*lsn)) : "unknown";
    if (!lsn)
      out[lag_key] = "unknown";
    else
      out[lag_key] = cluster_lsn > *lsn ? cluster_lsn - *lsn : 0;  // both > 0 here: no overflow
  };
  put("lsn", "lag", member.lsn());
  if (with_lsns) {
    put("receive_lsn", "receive_lag", member.receive_lsn());
    put("replay_lsn", "replay_lag", member.replay_lsn());
  }
  return out;
}

}  // namespace custos::dcs
