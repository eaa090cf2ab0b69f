// One key of the cluster's DCS prefix as a backend read it, before any parsing: what every
// backend hands to Cluster::from_nodes so that the cluster model is built in one place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace custos::dcs {

// Modification marker of a key: etcd mod_revision, ZooKeeper version, Consul ModifyIndex...
using Version = int64_t;

struct RawNode {
  // Path relative to the cluster base `/<namespace>/<scope>/`, without a leading slash:
  // "leader", "members/node1", "config", ... With Citus groups: "1/leader", "0/members/a".
  std::string key;
  // The value exactly as stored (may be anything: other writers are not trusted).
  std::string value;
  // Version used for compare-and-set (etcd: mod_revision).
  Version version = 0;
  // Change marker where a backend has a different one from the CAS version (ZooKeeper mzxid);
  // equal to `version` elsewhere.
  Version modify_version = 0;
  // Owner of a TTL-bound key: etcd lease ID (decimal string), ZooKeeper ephemeralOwner, ...
  std::optional<std::string> session;
};

using RawNodes = std::vector<RawNode>;

}  // namespace custos::dcs
