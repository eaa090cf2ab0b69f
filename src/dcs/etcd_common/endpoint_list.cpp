#include "dcs/etcd_common/endpoint_list.h"

#include <algorithm>
#include <random>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "net/http_client.h"

namespace custos::dcs::etcd_common {

using namespace std::chrono_literals;

std::vector<std::string> member_client_urls(const nlohmann::json& members) {
  std::vector<std::string> out;
  if (!members.is_array()) return out;
  for (const auto& m : members)
    if (m.is_object() && m.contains("clientURLs") && m["clientURLs"].is_array())
      for (const auto& u : m["clientURLs"])
        if (u.is_string()) out.push_back(u.get<std::string>());
  return out;
}

std::vector<std::string> fetch_peer_client_urls(net::HttpClient& http, const std::string& members_url,
                                                std::chrono::milliseconds timeout, const std::string& log_tag) {
  net::HttpRequest req;
  req.url = members_url;
  auto r = http.request(req, timeout);
  if (!r || r->status >= 400) {
    spdlog::warn("{}: GET {} failed: {}", log_tag, members_url,
                 r ? "HTTP " + std::to_string(r->status) : r.error().describe());
    return {};
  }
  return member_client_urls(nlohmann::json::parse(r->body, nullptr, false));
}

EndpointList::EndpointList(const EtcdSettings& settings, std::shared_ptr<SrvResolver> resolver,
                           PeerMembersQuery peer_members, std::string log_tag)
    : settings_(settings),
      resolver_(std::move(resolver)),
      peer_members_(std::move(peer_members)),
      log_tag_(std::move(log_tag)) {
  const bool srv = !settings_.srv.empty() && !settings_.use_proxies;
  {
    MutexLock lock(mu_);
    endpoints_ = settings_.endpoints;
    if (!srv && endpoints_.empty()) endpoints_.push_back("http://127.0.0.1:2379");
  }
  if (srv) {
    if (!resolver_) resolver_ = std::make_shared<DnsSrvResolver>();
    ensure();
  }
  thread_local std::mt19937 rng{std::random_device{}()};
  MutexLock lock(mu_);
  if (!endpoints_.empty()) current_ = std::uniform_int_distribution<std::size_t>(0, endpoints_.size() - 1)(rng);
}

bool EndpointList::ensure() {
  if (settings_.srv.empty() || settings_.use_proxies) return true;
  {
    MutexLock lock(mu_);
    if (!endpoints_.empty()) return true;
    const auto now = std::chrono::steady_clock::now();
    if (srv_resolved_at_ != std::chrono::steady_clock::time_point{} && now - srv_resolved_at_ < 5s) return false;
    srv_resolved_at_ = now;
  }
  std::vector<std::string> found =
      discover_etcd_endpoints(settings_.srv, settings_.srv_suffix, *resolver_, peer_members_);
  if (found.empty()) {
    spdlog::warn("Can not resolve SRV for {}", settings_.srv);  // Patroni's line
    found = settings_.endpoints;
  } else {
    std::string list;
    for (const auto& e : found) list += (list.empty() ? "" : ", ") + e;
    spdlog::info("{}: SRV records for {} name {}", log_tag_, settings_.srv, list);
  }
  MutexLock lock(mu_);
  if (endpoints_.empty()) endpoints_ = std::move(found);
  current_ = 0;
  return !endpoints_.empty();
}

std::string EndpointList::current() const {
  MutexLock lock(mu_);
  if (endpoints_.empty()) return std::string();
  return endpoints_[current_ % endpoints_.size()];
}

std::vector<std::string> EndpointList::all() const {
  MutexLock lock(mu_);
  return endpoints_;
}

std::size_t EndpointList::size() const {
  MutexLock lock(mu_);
  return endpoints_.size();
}

std::string EndpointList::fail_over(const std::string& failed) {
  MutexLock lock(mu_);
  if (endpoints_.empty()) return std::string();
  if (endpoints_[current_ % endpoints_.size()] == failed) current_ = (current_ + 1) % endpoints_.size();
  return endpoints_[current_ % endpoints_.size()];
}

void EndpointList::merge_discovered(const std::vector<std::string>& client_urls) {
  std::vector<std::string> merged;
  for (const auto& u : client_urls) {
    auto url = net::Url::parse(u);
    if (!url) continue;
    std::string origin = url->origin();
    if (std::find(merged.begin(), merged.end(), origin) == merged.end()) merged.push_back(origin);
  }
  if (merged.empty()) return;
  for (const auto& e : settings_.endpoints)
    if (std::find(merged.begin(), merged.end(), e) == merged.end()) merged.push_back(e);
  MutexLock lock(mu_);
  const std::string cur = endpoints_.empty() ? std::string() : endpoints_[current_ % endpoints_.size()];
  endpoints_ = std::move(merged);
  auto it = std::find(endpoints_.begin(), endpoints_.end(), cur);
  current_ = it == endpoints_.end() ? 0 : static_cast<std::size_t>(it - endpoints_.begin());
}

bool EndpointList::member_refresh_due(std::chrono::steady_clock::duration every) {
  if (settings_.use_proxies) return false;
  MutexLock lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (members_refreshed_ != std::chrono::steady_clock::time_point{} && now - members_refreshed_ < every) return false;
  members_refreshed_ = now;
  return true;
}

}  // namespace custos::dcs::etcd_common
