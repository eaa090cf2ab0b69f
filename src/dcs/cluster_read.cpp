#include "dcs/cluster_read.h"

#include <optional>
#include <vector>

namespace custos::dcs {

DcsResult<Cluster> cluster_from_read(const RawNodes& nodes, const std::string& prefix, bool citus_coordinator) {
  std::vector<KeyParseFailure> failures;
  std::optional<Cluster> parsed;
  try {
    parsed = citus_coordinator ? Cluster::from_citus_nodes(nodes, 0, &failures) : Cluster::from_nodes(nodes, &failures);
  } catch (const std::exception& e) {  // outside any one key (copying the nodes)
    failures.push_back(KeyParseFailure{"", e.what()});
  }
  if (failures.empty()) return std::move(*parsed);
  const auto& f = failures.front();
  std::string message =
      "cannot parse " + (f.key.empty() ? "the keys under " + prefix : "key " + prefix + f.key) + ": " + f.reason;
  if (failures.size() > 1) message += " (and " + std::to_string(failures.size() - 1) + " more keys)";
  return dcs_error(DcsErrorKind::kMalformedReply, std::move(message));
}

}  // namespace custos::dcs
