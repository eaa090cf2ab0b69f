// The `sync` key (dcs.md §2.6): which primary last managed synchronous replication and which
// members are confirmed synchronous standbys.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dcs/raw_node.h"

namespace custos::dcs {

class SyncState {
 public:
  SyncState() = default;
  SyncState(std::optional<Version> version, std::optional<std::string> leader,
            std::optional<std::string> sync_standby, int64_t quorum = 0);

  static SyncState empty(std::optional<Version> version = std::nullopt);
  // Invalid JSON, non-objects, missing/empty/non-string `leader` -> empty(version).
  // A non-string `sync_standby` counts as absent. `quorum` (Patroni 4 quorum commit) is read as
  // Python's int() reads it when truthy (0 otherwise); a value int() refuses (a non-numeric
  // string, a list) makes the whole key empty(version), as Patroni 4 reads it.
  static SyncState from_node(std::optional<Version> version, std::string_view value);

  // Key version (nullopt when the key does not exist).
  std::optional<Version> version;
  std::optional<std::string> leader;
  std::optional<std::string> sync_standby;
  // Patroni 4: in quorum mode a voter racing for the lock must see this many other nodes of
  // members() + leader; 0 outside quorum mode (and from Patroni 3 writers).
  int64_t quorum = 0;

  // No leader.
  bool is_empty() const noexcept { return !leader || leader->empty(); }
  // sync_standby split on ',', trimmed, empties dropped; [] when empty().
  std::vector<std::string> members() const;
  // Case-insensitive (Python str.lower) membership among members(); with check_leader also
  // the leader.
  bool matches(std::optional<std::string_view> name, bool check_leader = false) const;
  // Case-insensitive comparison with the leader field; false when empty() or name empty.
  bool leader_matches(std::optional<std::string_view> name) const;

  bool operator==(const SyncState&) const = default;
};

}  // namespace custos::dcs
