// The `leader` key (dcs.md §2.1): key version, lock owner session and the leader's Member (its
// member key data when present, else an empty member with just the name).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "dcs/member.h"
#include "dcs/raw_node.h"

namespace custos::dcs {

class Leader {
 public:
  Leader() = default;
  Leader(Version version, std::optional<std::string> session, Member member)
      : version(version), session(std::move(session)), member(std::move(member)) {}

  // Key version of `leader` (etcd mod_revision), used for CAS and watch.
  Version version = 0;
  // Owner of the lock (etcd lease ID as decimal string, ...).
  std::optional<std::string> session;
  Member member;

  const std::string& name() const noexcept { return member.name(); }
  const nlohmann::json& data() const noexcept { return member.data(); }
  std::optional<std::string> conn_url() const { return member.conn_url(); }
  std::optional<int64_t> timeline() const { return member.timeline(); }
  nlohmann::json conn_kwargs(const nlohmann::json& auth = nullptr) const {
    return member.conn_kwargs(auth);
  }

  // dcs.md §3: leader's Patroni version > 1.5.6 -> role is master/primary and the member data
  // has no `checkpoint_after_promote` key; unknown or older version -> nullopt (undefined).
  std::optional<bool> checkpoint_after_promote() const;

  bool operator==(const Leader&) const = default;
};

}  // namespace custos::dcs
