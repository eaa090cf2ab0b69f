// The leader's writes of `status` and `failsafe` (and `optime/leader` for members older than
// Patroni 2.1.0), each skipped when the store already holds the same value (dcs.md §4): what
// every backend does the same way. The backend tells it what its reads showed and hands it a
// put function for the actual write.
//
// Thread: any (one leaf lock, never held during a put). Blocking: only inside `put`.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/thread_annotations.h"
#include "dcs/cluster.h"
#include "dcs/dcs.h"
#include "dcs/dcs_error.h"
#include "dcs/raw_node.h"

namespace custos::dcs {

class StatusPublisher {
 public:
  // Writes `value` to the key `relative` (to the member's own path), unconditionally.
  using Put = std::function<DcsStatus(const std::string& relative, const std::string& value)>;

  // After a read: the member's own group's `status` and `failsafe` keys among `nodes` (relative
  // keys, `own_prefix` before each: "0/" on a Citus coordinator, else "") and whether some
  // member of `cluster` runs Patroni older than 2.1.0.
  void observe(const RawNodes& nodes, const std::string& own_prefix, const Cluster& cluster) EXCLUDES(mu_);
  // Forgets what the store held (after deleting the cluster).
  void forget() EXCLUDES(mu_);

  DcsStatus write_status(const nlohmann::json& status, const Put& put) EXCLUDES(mu_);
  DcsStatus write_failsafe(const nlohmann::json& failsafe, const Put& put) EXCLUDES(mu_);
  // What a lock refresh publishes after the lock itself (status when it has an LSN, failsafe
  // when given); a failed write is logged ("<log_tag>: writing status failed: ...") and does
  // not fail the refresh, whose lock is held.
  void publish(const LeaderRefresh& refresh, const Put& put, const char* log_tag) EXCLUDES(mu_);

 private:
  Mutex mu_;
  std::optional<nlohmann::json> last_status_ GUARDED_BY(mu_);
  std::optional<nlohmann::json> last_failsafe_ GUARDED_BY(mu_);
  bool legacy_optime_ GUARDED_BY(mu_) = false;
  std::optional<int64_t> last_optime_written_ GUARDED_BY(mu_);
};

}  // namespace custos::dcs
