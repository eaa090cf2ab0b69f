// The etcd endpoints a client talks to, shared by the etcd backends: the configured ones or those
// DNS SRV discovery names, the one in use (a random start, so that agents spread over the
// cluster as Patroni's do), failover to the next one, and the merge of a discovered member list
// (discovered first, configured ones kept as a fallback).
//
// Thread: any (one leaf lock, never held during I/O). Blocking: only resolve() (DNS and the
// peers' /members answers). Errors: none thrown; an empty list means nothing is known yet.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/thread_annotations.h"
#include "dcs/etcd_common/etcd_settings.h"
#include "dcs/etcd_common/srv_discovery.h"

namespace custos::net {
class HttpClient;
}

namespace custos::dcs::etcd_common {

// The clientURLs strings of a list of etcd members ([{"clientURLs": [...]}, ...], as both
// GET <peer>/members and the v3 member list give them); anything else in it is skipped.
std::vector<std::string> member_client_urls(const nlohmann::json& members);

// GET `members_url` (a peer's /members, for SRV server records) with `http` within `timeout`:
// its members' clientURLs; none (and a warning tagged `log_tag`) when it cannot be asked.
std::vector<std::string> fetch_peer_client_urls(net::HttpClient& http, const std::string& members_url,
                                                std::chrono::milliseconds timeout, const std::string& log_tag);

class EndpointList {
 public:
  // `peer_members` answers the GET <peer url>/members of SRV server records (see
  // discover_etcd_endpoints); `resolver` null means the system resolver. `log_tag` starts
  // every log line ("etcd3", "etcd").
  EndpointList(const EtcdSettings& settings, std::shared_ptr<SrvResolver> resolver, PeerMembersQuery peer_members,
               std::string log_tag);

  // With `srv` set: resolves it while no endpoint is known (at most every 5 s). False when there
  // is still none.
  bool ensure() EXCLUDES(mu_);
  std::string current() const EXCLUDES(mu_);
  std::vector<std::string> all() const EXCLUDES(mu_);
  std::size_t size() const EXCLUDES(mu_);
  // Moves on from `failed` to the next endpoint (nothing when another thread already did);
  // returns the one now in use.
  std::string fail_over(const std::string& failed) EXCLUDES(mu_);
  // Replaces the list with the members' client URLs (origins) followed by the configured
  // endpoints; keeps the current endpoint when it is still listed.
  void merge_discovered(const std::vector<std::string>& client_urls) EXCLUDES(mu_);
  // True, and the refresh time set, when the member list is due again (every `every`); never
  // with use_proxies (the hosts are proxies: no topology behind them).
  bool member_refresh_due(std::chrono::steady_clock::duration every) EXCLUDES(mu_);

 private:
  const EtcdSettings settings_;
  std::shared_ptr<SrvResolver> resolver_;
  PeerMembersQuery peer_members_;
  const std::string log_tag_;
  mutable Mutex mu_;
  std::vector<std::string> endpoints_ GUARDED_BY(mu_);
  std::size_t current_ GUARDED_BY(mu_) = 0;
  std::chrono::steady_clock::time_point srv_resolved_at_ GUARDED_BY(mu_) = {};
  std::chrono::steady_clock::time_point members_refreshed_ GUARDED_BY(mu_) = {};
};

}  // namespace custos::dcs::etcd_common
