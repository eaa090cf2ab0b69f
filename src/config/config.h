// Config: the typed view of the effective configuration (defaults <- dynamic <- local) for the
// rest of the agent. Immutable; a new dynamic config or a reloaded file gives a new Config.
// Every accessor is total (missing or mistyped values give the documented default), and
// raw() keeps the whole effective JSON tree reachable for everything not wrapped here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/presentation.h"

#include "config/dynamic.h"
#include "config/global_config.h"

namespace custos::config {

using json = nlohmann::json;

// DCS section names in the order Patroni looks for them.
inline constexpr const char* kDcsSectionNames[] = {"consul", "etcd", "etcd3", "exhibitor",
                                                   "kubernetes", "raft", "zookeeper"};

// citus.group and citus.database of a `citus` section as Patroni reads them (group: an integer or
// integer string, 0..1000000; database: a string); nullopt when missing or wrong.
std::optional<int> citus_group_of(const nlohmann::json& citus);
std::optional<std::string> citus_database_of(const nlohmann::json& citus);

class Config {
 public:
  Config();  // empty local and dynamic configuration
  // `local`: the file/env tree (see loader.h); `dynamic`: the DCS `config` object (or the cache).
  explicit Config(json local, json dynamic = json::object());

  Config with_dynamic(json dynamic) const { return Config(local_, std::move(dynamic)); }
  Config with_local(json local) const {
    Config c(std::move(local), dynamic_);
    c.global_ = global_;
    return c;
  }
  // This configuration with only the cycle's global keys (pause, synchronous_mode, slots, ...)
  // read from `dynamic`: what Patroni does with a dynamic configuration it refuses to apply
  // (dynamic_error), as it reads those keys from the DCS value every cycle.
  Config with_global_only(json dynamic) const {
    Config c = *this;
    c.global_ = dynamic.is_object() ? std::move(dynamic) : json::object();
    return c;
  }

  const json& raw() const { return effective_; }  // the effective configuration
  const json& local() const { return local_; }
  const json& dynamic() const { return dynamic_; }
  // Ignored or invalid values met while building (log them once).
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Why the dynamic configuration could not be applied (EffectiveConfig::dynamic_error).
  const std::optional<std::string>& dynamic_error() const { return dynamic_error_; }

  std::string name() const;
  std::string scope() const;
  // "/<namespace>/" with runs of '/' collapsed; namespace defaults to "service".
  std::string namespace_path() const;
  // "/<namespace>/<scope>/" with runs of '/' collapsed: the DCS base path.
  std::string base_path() const;

  Timing timing() const { return timing_; }  // already adjusted (config.md §4)
  int ttl() const { return timing_.ttl; }
  int loop_wait() const { return timing_.loop_wait; }
  int retry_timeout() const { return timing_.retry_timeout; }

  // "etcd3", "etcd", "zookeeper", "consul", "kubernetes", "exhibitor", "raft"; "" when none.
  // With several, the first in Patroni's order (kDcsSectionNames).
  std::string dcs_section_name() const;
  // The DCS section with namespace/name/scope/loop_wait/ttl/retry_timeout (and citus group and
  // database) propagated from the top level, as Patroni hands it to the DCS class.
  json dcs_section() const;

  const json& restapi() const { return section("restapi"); }
  const json& ctl() const { return section("ctl"); }
  const json& postgresql() const { return section("postgresql"); }
  const json& bootstrap() const { return section("bootstrap"); }
  const json& tags() const { return section("tags"); }
  const json& log() const { return section("log"); }
  const json& watchdog() const { return section("watchdog"); }
  const json& citus() const { return section("citus"); }
  const json& custos() const { return section("custos"); }  // custos's own settings
  // custos.compat: the Patroni generation presented (default 4.1; a value that is not one of
  // the accepted ones is an error of --validate-config and reads as the default).
  PatroniGeneration presentation() const;
  // Any top-level mapping; {} when missing or not a mapping.
  const json& section(const std::string& key) const;

  std::optional<int> citus_group() const;
  std::optional<std::string> citus_database() const;
  std::string data_dir() const;
  std::string config_dir() const;  // defaults to data_dir
  std::vector<std::string> create_replica_methods() const;  // default ["basebackup"]
  bool use_pg_rewind() const;

  // The dynamic configuration keys read each cycle (pause, sync mode, ...).
  GlobalConfig global() const { return GlobalConfig(global_); }

 private:
  std::string string_at(const json& obj, const char* key, const std::string& fallback = "") const;

  json local_;
  json dynamic_;
  json global_;  // the source of global(): dynamic_, or a refused newer value
  std::optional<std::string> dynamic_error_;
  json effective_;
  std::vector<std::string> warnings_;
  Timing timing_;
};

// Collapses runs of '/' to one.
std::string collapse_slashes(const std::string& path);

}  // namespace custos::config
