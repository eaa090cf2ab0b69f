// Settings of the etcd backends (v3 from an `etcd3` section, v2 from an `etcd` section: Patroni
// reads both with the same options), built from the Patroni configuration: the section plus the
// top-level scope/namespace/name/ttl/loop_wait/retry_timeout/citus.group. Pure (no I/O).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "dcs/dcs.h"

namespace custos::dcs::etcd_common {

struct EtcdSettings {
  // The section these settings came from ("etcd3" or "etcd"): names the backend in messages.
  std::string section = "etcd3";
  // Base URLs of the configured endpoints, e.g. "http://127.0.0.1:2379" (no trailing '/').
  std::vector<std::string> endpoints;
  // `proxy` given: talk only to the configured URL, never discover cluster members.
  bool use_proxies = false;
  // DNS SRV discovery (`srv`, also spelled `discovery_srv` or `srv_domain`; `srv_suffix`):
  // tried first (etcd_common/srv_discovery.h); `endpoints` (hosts, host, url) are the fallback.
  std::string srv;
  std::string srv_suffix;
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::string cacert;  // CA bundle for https
  std::string cert;    // client certificate
  std::string key;     // client key
  std::string key_password;  // passphrase of an encrypted `key`
  bool verify = true;  // verify the server certificate (https)

  std::string namespace_ = "/service";
  std::string scope;
  std::string name;
  DcsTiming timing;
  std::optional<int> citus_group;
  // custosctl mode: no lease, no background watcher, linearizable reads.
  bool ctl = false;
  // Reads with serializable=false (linearizable) even in daemon mode.
  bool linearizable_reads = false;

  // "/<namespace>/<scope>/" with runs of '/' collapsed.
  std::string base_path() const;
  // Where this member's keys live: base_path() + "<group>/" with a Citus group, else base_path().
  std::string client_path() const;
  // What get_cluster() reads: base_path() for a Citus coordinator (group 0), else client_path().
  std::string cluster_prefix() const;
  bool is_citus_coordinator() const { return citus_group && *citus_group == 0; }

  // From the whole Patroni configuration: the section named `section` ("etcd3" or "etcd");
  // scope, namespace, name, ttl, loop_wait, retry_timeout and citus.group from the top level
  // (ttl/loop_wait/retry_timeout also from bootstrap.dcs when absent at the top level).
  // Errors start with "<section> configuration: ".
  static Result<EtcdSettings, std::string> from_patroni_config(const nlohmann::json& config,
                                                               const std::string& section = "etcd3");
  // From one section that already holds scope/namespace/name/ttl/loop_wait/retry_timeout/group
  // next to host(s)/url/proxy/protocol/username/password/cacert/cert/key.
  static Result<EtcdSettings, std::string> from_section(const nlohmann::json& section,
                                                        const std::string& section_name = "etcd3");

 private:
  // from_section() without the message prefix.
  static Result<EtcdSettings, std::string> parse_section(const nlohmann::json& section,
                                                         const std::string& section_name);
};

}  // namespace custos::dcs::etcd_common
