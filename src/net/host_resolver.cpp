#include "net/host_resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <atomic>
#include <cstring>
#include <set>

namespace custos::net {

using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kCacheFor = std::chrono::seconds(30);
std::atomic<HostResolver*> g_installed{nullptr};

}  // namespace

struct HostResolver::Lookup {
  Mutex mu;
  CondVar done;
  bool finished GUARDED_BY(mu) = false;
  Result<std::vector<std::string>, std::string> answer GUARDED_BY(mu) = make_error(std::string("pending"));
  Clock::time_point expires GUARDED_BY(mu){};
};

HostResolver::HostResolver(std::size_t threads) : pool_(threads, "resolver") {}

HostResolver::~HostResolver() {
  HostResolver* self = this;
  g_installed.compare_exchange_strong(self, nullptr);
}

void HostResolver::install(HostResolver* resolver) { g_installed.store(resolver); }
HostResolver* HostResolver::installed() { return g_installed.load(); }

Result<std::vector<std::string>, std::string> HostResolver::resolve_now(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) return make_error("resolving " + host + ": " + ::gai_strerror(rc));
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {0};
    const void* src = nullptr;
    if (a->ai_family == AF_INET) src = &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr;
    else if (a->ai_family == AF_INET6) src = &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr;
    if (!src || !::inet_ntop(a->ai_family, src, buf, sizeof buf)) continue;
    if (seen.insert(buf).second) out.emplace_back(buf);
  }
  ::freeaddrinfo(res);
  if (out.empty()) return make_error("no address for " + host);
  return out;
}

Result<std::vector<std::string>, std::string> HostResolver::resolve(const std::string& host,
                                                                   Clock::time_point deadline) {
  std::shared_ptr<Lookup> lookup;
  bool start = false;
  {
    MutexLock lk(mu_);
    auto it = lookups_.find(host);
    if (it != lookups_.end()) {
      lookup = it->second;
      MutexLock ll(lookup->mu);
      // A finished lookup is reused while fresh (a failure is tried again at once).
      if (lookup->finished && (!lookup->answer || Clock::now() >= lookup->expires)) {
        lookup = std::make_shared<Lookup>();
        it->second = lookup;
        start = true;
      }
    } else {
      lookup = std::make_shared<Lookup>();
      lookups_[host] = lookup;
      start = true;
    }
  }
  if (start) {
    pool_.post([lookup, host] {
      auto answer = resolve_now(host);
      {
        MutexLock ll(lookup->mu);
        lookup->answer = std::move(answer);
        lookup->expires = Clock::now() + kCacheFor;
        lookup->finished = true;
      }
      lookup->done.notify_all();
    });
  }
  MutexLock ll(lookup->mu);
  while (!lookup->finished) {
    if (!lookup->done.wait_until(lookup->mu, deadline)) break;
  }
  if (!lookup->finished) return make_error("timeout resolving " + host);
  return lookup->answer;
}

}  // namespace custos::net
