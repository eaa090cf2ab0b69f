// One cluster member as published in `members/<name>` (dcs.md §2.2), parsed defensively, with
// the derived properties of Patroni's Member (urls, state, role, tags, version, lsn...).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcs/raw_node.h"

namespace custos::dcs {

// Patroni software version "X.Y.Z" as numbers; compares lexicographically like a Python tuple.
using PatroniVersion = std::vector<int64_t>;
// Parses "1.2.3" -> {1,2,3} (any number of dot-separated decimal components, each optionally
// surrounded by spaces and signed, as Python's int()). nullopt for empty or garbage.
std::optional<PatroniVersion> parse_patroni_version(std::string_view text);
std::string to_string(const PatroniVersion& version);

// True for "master" and "primary" (Patroni 3.3 writes "master"; readers accept both).
bool is_primary_role(std::string_view role) noexcept;

class Member {
 public:
  Member() = default;
  // `data` that is not a JSON object is replaced by {}.
  Member(std::string name, Version version, std::optional<std::string> session,
         nlohmann::json data);

  // Parses a `members/<name>` value: a value starting with "postgres" is a legacy connection
  // URL (parse_connection_string); otherwise a JSON object, anything else gives empty data.
  static Member from_node(Version version, std::string name, std::optional<std::string> session,
                          std::string_view value);

  // Key version (etcd mod_revision) and TTL owner of the member key. -1 for a placeholder
  // member built from the leader key alone.
  Version version = 0;
  std::optional<std::string> session;

  const std::string& name() const noexcept { return name_; }
  // Always a JSON object (possibly empty).
  const nlohmann::json& data() const noexcept { return data_; }

  // `conn_url` if a non-empty string; else built from `conn_kwargs` as
  // "postgresql://host:port" (port default 5432); else nullopt.
  std::optional<std::string> conn_url() const;
  std::optional<std::string> api_url() const;
  std::optional<std::string> proxy_url() const;
  // `state`, "unknown" when missing or not a string.
  std::string state() const;
  // `role` as written (e.g. "master", "primary", "replica"); "" when missing or not a string.
  std::string role() const;
  bool is_primary() const { return is_primary_role(role()); }
  bool is_running() const { return state() == "running"; }

  // `tags` when it is an object, else {}.
  const nlohmann::json& tags() const noexcept;
  // Tag rules of Patroni's Tags class: Python truthiness (a quoted "false" is true), except
  // nostream, read with patroni_parse_bool (common/json_truth.h).
  bool nofailover() const;         // tag nofailover if set and not null, else failover_priority <= 0
  int64_t failover_priority() const;  // 0 if nofailover is truthy, else tag (default 1)
  bool clonefrom_tag() const;      // tag clonefrom truthy
  bool clonefrom() const;          // tag clonefrom truthy and a conn_url exists
  bool noloadbalance() const;
  bool nosync() const;                // tag nosync if set and not null, else sync_priority <= 0 (Patroni 4.1)
  int64_t sync_priority() const;      // 0 if nosync is truthy, else tag sync_priority (default 1)
  bool nostream() const;           // patroni_parse_bool(tag), unparsable or missing -> false
  // tag replicatefrom if a string (non-strings give nullopt).
  std::optional<std::string> replicatefrom() const;

  std::optional<PatroniVersion> patroni_version() const;
  // `xlog_location` through parse_int.
  std::optional<int64_t> lsn() const;
  // `receive_lsn` / `replay_lsn` (Patroni 4.1 replicas publish both); nullopt when absent.
  std::optional<int64_t> receive_lsn() const;
  std::optional<int64_t> replay_lsn() const;
  // `timeline` through parse_int.
  std::optional<int64_t> timeline() const;
  std::optional<std::string> replication_state() const;
  bool pending_restart() const;
  bool is_paused() const;  // `pause` truthy

  // Connection keywords: the `conn_kwargs` object of data when non-empty (merged over
  // {"host": null, "port": null, "dbname": null}), else derived from conn_url(); {} when neither
  // exists. Then merge_auth(auth).
  nlohmann::json conn_kwargs(const nlohmann::json& auth = nullptr) const;

  bool operator==(const Member& other) const noexcept;

 private:
  std::string name_;
  nlohmann::json data_ = nlohmann::json::object();
};

}  // namespace custos::dcs
