#include "agent/member_queries.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <vector>

#include "agent/state_mapping.h"
#include "common/thread_annotations.h"

namespace custos::agent {

namespace {

// The answers of one query() call; shared with the pool tasks, which may outlive the call when
// the wait gave up on them.
struct Batch {
  std::chrono::steady_clock::time_point deadline;  // after it, a task that had to wait skips its request
  Mutex mu;
  CondVar done;
  std::vector<ha::MemberStatus> results GUARDED_BY(mu);
  std::size_t left GUARDED_BY(mu) = 0;
};

}  // namespace

HttpMemberQueries::HttpMemberQueries(net::HttpClient& http, std::size_t threads, std::chrono::milliseconds timeout)
    : http_(http), timeout_(timeout), pool_(threads, "member-query") {}

ha::MemberStatuses HttpMemberQueries::query(const std::map<std::string, std::string>& api_urls) {
  auto batch = std::make_shared<Batch>();
  // Each request ends within timeout_; queued ones wait for a free thread first.
  const std::size_t rounds = (api_urls.size() + pool_.size() - 1) / std::max<std::size_t>(pool_.size(), 1);
  batch->deadline =
      std::chrono::steady_clock::now() + timeout_ * static_cast<int>(std::max<std::size_t>(rounds, 1)) + std::chrono::seconds(1);
  {
    MutexLock lk(batch->mu);
    for (const auto& [name, url] : api_urls) {
      ha::MemberStatus unreachable;
      unreachable.name = name;
      batch->results.push_back(unreachable);
    }
    batch->left = api_urls.size();
  }
  std::size_t i = 0;
  for (const auto& [name, url] : api_urls) {
    pool_.post([this, batch, index = i++, name = name, url = url] {
      // Queued behind other work (another query of the loop or the REST API) until its batch was
      // given up: the answer would reach nobody.
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(batch->deadline -
                                                                                std::chrono::steady_clock::now());
      if (left <= std::chrono::milliseconds(0)) return;
      net::HttpRequest req;
      req.url = url;
      auto r = http_.request(req, std::min(timeout_, left));
      ha::MemberStatus st;
      st.name = name;
      // Patroni's lines for each member it asks (operators follow the leader race with them).
      if (r) spdlog::info("Got response from {} {}: {}", name, url, r->body);
      else spdlog::warn("Request failed to {}: GET {} ({})", name, url, r.error().describe());
      if (r && r->status == 200) st = member_status_from_patroni(name, r->body);
      {
        MutexLock lk(batch->mu);
        batch->results[index] = std::move(st);
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

}  // namespace custos::agent
