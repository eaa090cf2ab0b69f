// NodeStateSource: what the REST server asks of the agent. snapshot() is cheap and never
// blocks; the other calls are bounded by the timeout they are given.
#pragma once

#include <chrono>
#include <optional>

#include "api/node_snapshot.h"
#include "dcs/dcs.h"

namespace custos::api {

class NodeStateSource {
 public:
  virtual ~NodeStateSource() = default;

  // The latest published snapshot (in memory, never blocks).
  virtual NodeSnapshot snapshot() const = 0;

  // A fresh status query against PostgreSQL for GET /patroni, bounded by `timeout`; nullopt
  // when PostgreSQL is not running or did not answer in time (the caller then reports the
  // snapshot's cached PgStatus).
  virtual std::optional<PgStatus> live_pg_status(std::chrono::milliseconds timeout) = 0;

  // A fresh read of the cluster for GET /cluster (bounded by the DCS's retry_timeout).
  virtual dcs::DcsResult<dcs::Cluster> fresh_cluster() = 0;

  // Starts the next HA cycle early (e.g. after a change through the API).
  virtual void wake_ha_loop() = 0;

  // custos's own metric families in the text exposition format (common/metrics_registry.h),
  // appended to GET /metrics; empty for a source that records none. Never blocks on I/O.
  virtual std::string own_metrics() const { return {}; }

  // What the agent did lately, for the status page: [{"time", "kind", "text"}], oldest first
  // (agent/recent_events.h); empty for a source that keeps none. Never blocks on I/O.
  virtual nlohmann::json recent_events() const { return nlohmann::json::array(); }
};

}  // namespace custos::api
