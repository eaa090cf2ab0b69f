#include "agent/member_queries.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <vector>

#include "agent/state_mapping.h"
#include "common/python_int.h"
#include "common/thread_annotations.h"

namespace custos::agent {

namespace {

// The answers of one fan-out; shared with the pool tasks, which may outlive the call when the
// wait gave up on them.
template <class T>
struct Batch {
  std::chrono::steady_clock::time_point deadline;  // after it, a task that had to wait skips its request
  Mutex mu;
  CondVar done;
  std::vector<T> results GUARDED_BY(mu);
  std::size_t left GUARDED_BY(mu) = 0;
};

// scheme://host:port/<endpoint> of a member's api_url (Patroni's get_endpoint_url).
std::string endpoint_url(const std::string& api_url, const std::string& endpoint) {
  auto u = net::Url::parse(api_url);
  if (!u) return api_url;
  return u->origin() + "/" + endpoint;
}

}  // namespace

HttpMemberQueries::HttpMemberQueries(net::HttpClient& http, std::size_t threads, std::chrono::milliseconds timeout)
    : http_(http), timeout_(timeout), pool_(threads, "member-query") {}

template <class T>
std::vector<T> HttpMemberQueries::fan_out(
    const std::map<std::string, std::string>& api_urls, int attempts,
    const std::function<T(const std::string&)>& fallback,
    const std::function<T(const std::string&, const std::string&, std::chrono::milliseconds)>& call) {
  auto batch = std::make_shared<Batch<T>>();
  // Each request ends within timeout_ per attempt; queued ones wait for a free thread first.
  const std::size_t rounds = (api_urls.size() + pool_.size() - 1) / std::max<std::size_t>(pool_.size(), 1);
  batch->deadline = std::chrono::steady_clock::now() +
                    timeout_ * attempts * static_cast<int>(std::max<std::size_t>(rounds, 1)) + std::chrono::seconds(1);
  {
    MutexLock lk(batch->mu);
    for (const auto& [name, url] : api_urls) batch->results.push_back(fallback(name));
    batch->left = api_urls.size();
  }
  std::size_t i = 0;
  for (const auto& [name, url] : api_urls) {
    pool_.post([batch, call, index = i++, name = name, url = url] {
      // Queued behind other work (another fan-out of the loop or the REST API) until its batch
      // was given up: the answer would reach nobody.
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(batch->deadline -
                                                                                std::chrono::steady_clock::now());
      if (left <= std::chrono::milliseconds(0)) return;
      T result = call(name, url, left);
      {
        MutexLock lk(batch->mu);
        batch->results[index] = std::move(result);
        --batch->left;
      }
      batch->done.notify_all();
    });
  }
  MutexLock lk(batch->mu);
  while (batch->left > 0) {
    if (!batch->done.wait_until(batch->mu, batch->deadline)) break;
  }
  return batch->results;
}

ha::MemberStatuses HttpMemberQueries::query(const std::map<std::string, std::string>& api_urls) {
  return fan_out<ha::MemberStatus>(
      api_urls, 1,
      [](const std::string& name) {
        ha::MemberStatus unreachable;
        unreachable.name = name;
        return unreachable;
      },
      [this](const std::string& name, const std::string& url, std::chrono::milliseconds left) {
        net::HttpRequest req;
        req.url = url;
        auto r = http_.request(req, std::min(timeout_, left));
        ha::MemberStatus st;
        st.name = name;
        // Patroni's lines for each member it asks (operators follow the leader race with them).
        if (r) spdlog::info("Got response from {} {}: {}", name, url, r->body);
        else spdlog::warn("Request failed to {}: GET {} ({})", name, url, r.error().describe());
        if (r && r->status == 200) st = member_status_from_patroni(name, r->body);
        return st;
      });
}

std::vector<FailsafeAnswer> HttpMemberQueries::post_failsafe(const std::map<std::string, std::string>& api_urls,
                                                             const std::string& body) {
  return fan_out<FailsafeAnswer>(
      api_urls, 2, [](const std::string& name) { return FailsafeAnswer{name, false, std::nullopt}; },
      [this, body](const std::string& name, const std::string& api_url, std::chrono::milliseconds left) {
        const std::string url = endpoint_url(api_url, "failsafe");
        net::HttpRequest req;
        req.method = "POST";
        req.url = url;
        req.body = body;
        req.content_type = "application/json";
        // Patroni: 2 s, and one retry of a request that got no answer.
        const auto deadline = std::chrono::steady_clock::now() + left;
        auto r = http_.request(req, std::min(timeout_, left));
        if (!r) {
          const auto rest =
              std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
          if (rest > std::chrono::milliseconds(0)) r = http_.request(req, std::min(timeout_, rest));
        }
        FailsafeAnswer a{name, false, std::nullopt};
        if (!r) {
          spdlog::warn("Request failed to {}: POST {} ({})", name, url, r.error().describe());
          return a;
        }
        spdlog::info("Got response from {} {}: {}", name, url, r->body);
        a.accepted = r->status == 200 && r->body == "Accepted";
        if (auto lsn = r->header("lsn")) a.lsn = python_int(std::string_view(*lsn));
        return a;
      });
}

bool HttpMemberQueries::post_citus_event(const std::string& api_url, const std::string& body,
                                         std::chrono::milliseconds timeout) {
  net::HttpRequest req;
  req.method = "POST";
  req.url = endpoint_url(api_url, "citus");
  req.body = body;
  req.content_type = "application/json";
  auto r = http_.request(req, timeout);
  if (!r) {
    spdlog::warn("Request failed to the Citus coordinator: POST {} ({})", req.url, r.error().describe());
    return false;
  }
  if (r->status != 200) spdlog::warn("The Citus coordinator answered POST {}: {} {}", req.url, r->status, r->body);
  return r->status == 200;
}

}  // namespace custos::agent
