// Settings of the ZooKeeper backend, built from the Patroni configuration: the `zookeeper`
// section (hosts, use_ssl, cacert, cert, key, key_password, verify, set_acls, auth_data) plus the
// top-level scope/namespace/name/ttl/loop_wait/retry_timeout/citus.group. Pure (no I/O).
//
// What Debian's ZooKeeper C client (libzookeeper-mt, built without OpenSSL) cannot do is refused
// with a message saying so, never accepted and ignored: `use_ssl: true`, and `set_acls`, whose
// x509 principals only a TLS connection can satisfy.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "dcs/dcs.h"

namespace custos::dcs::zookeeper {

struct ZooKeeperSettings {
  // "host:port,host:port[/chroot]" as the C client takes it (default port 2181 added where
  // missing; a chroot after the last host, as kazoo takes it).
  std::string hosts;
  // (scheme, credential) pairs added to the session (zoo_add_auth), e.g. ("digest", "u:p").
  std::vector<std::pair<std::string, std::string>> auth_data;
  std::string namespace_ = "/service";
  std::string scope;
  std::string name;
  DcsTiming timing;
  std::optional<int> citus_group;
  bool ctl = false;  // custosctl: not a member (no member key; still a session)

  // "/<namespace>/<scope>/" with runs of '/' collapsed.
  std::string base_path() const;
  // base_path() + "<group>/" with a Citus group, else base_path().
  std::string client_path() const;
  // What get_cluster() reads: base_path() for a Citus coordinator, else client_path().
  std::string cluster_prefix() const;
  bool is_citus_coordinator() const { return citus_group && *citus_group == 0; }

  // From the whole Patroni configuration. Errors start with "zookeeper configuration: ".
  static Result<ZooKeeperSettings, std::string> from_patroni_config(const nlohmann::json& config);
};

}  // namespace custos::dcs::zookeeper
