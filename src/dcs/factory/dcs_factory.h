// Builds the Dcs backend named by a Patroni configuration, for the agent and for custosctl
// alike: the DCS section is chosen in Patroni's order (config::kDcsSectionNames; a section
// whose value is null counts as absent), and one message says which section is missing or not
// supported yet. Separate from custos_dcs so that the cluster model and the Dcs interface do not
// depend on any backend.
//
// Does not contact the DCS: errors are configuration errors only (etcd is first reached by the
// first call that needs it; in agent mode the watcher thread starts connecting in the
// background). Thread-safe (no shared state).
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "dcs/dcs.h"

namespace custos::dcs {

enum class DcsMode {
  agent,  // the HA daemon: lease-bound leader/member keys, watch cache, serializable reads
  ctl,    // custosctl (Patroni's patronictl mode): no lease, no watcher, linearizable reads
};

// The DCS section Patroni would use: the first name of config::kDcsSectionNames present in
// `patroni_config` with a non-null value; "" when there is none.
std::string dcs_section_name(const nlohmann::json& patroni_config);

// The backend for the whole Patroni configuration `patroni_config` (top-level scope, name,
// namespace, ttl, loop_wait, retry_timeout, citus plus the DCS section). `mode` overrides any
// `patronictl` key of the configuration. Errors, one line each, without a program prefix:
// - no DCS section: "Can not find suitable configuration of distributed configuration store (...)"
// - a backend not implemented yet (consul, exhibitor, kubernetes, raft):
//   "DCS `<section>` is not supported by <custos|custosctl> yet (only etcd, etcd3 and zookeeper)"
// - an invalid section: the backend's message ("etcd3 configuration: ...", "zookeeper ...").
// `etcd` is etcd's v2 API (Etcd2Dcs), `etcd3` its v3 API (Etcd3Dcs), as in Patroni.
Result<std::unique_ptr<Dcs>, std::string> make_dcs(const nlohmann::json& patroni_config, DcsMode mode);

}  // namespace custos::dcs
