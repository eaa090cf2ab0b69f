// MemberQueries: the calls an agent makes to the other members' REST APIs, in parallel: their
// `GET /patroni` answers, which the HA decision (ha.md §3.6-3.8) and the switchover feasibility
// check need, and the primary's `POST /failsafe` while the DCS is unreachable (ha.md §7).
// HttpMemberQueries is the real one: a fixed pool of threads made at start-up and the agent's
// HTTP client (TLS client certificate and basic auth as Patroni sends them); tests use a fake.
//
// Thread: any (the HA loop and REST operations at once). Blocking: up to the per-member timeout
// (2 s, rest-api.md §9; POST /failsafe: 2 s and one retry) times ceil(members / pool size).
// Errors: a member that does not answer in time, fails, or answers garbage comes back with
// reachable = false (accepted = false).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/thread_pool.h"
#include "ha/member_status.h"
#include "net/http_client.h"

namespace custos::agent {

// A member's answer to POST /failsafe.
struct FailsafeAnswer {
  std::string name;
  // HTTP 200 with the body exactly "Accepted".
  bool accepted = false;
  // Its received/replayed LSN, when it sent one in the `lsn` header (Patroni 4).
  std::optional<int64_t> lsn;
};

class MemberQueries {
 public:
  virtual ~MemberQueries() = default;
  // One status per entry of `api_urls` (member name -> api_url), in name order.
  virtual ha::MemberStatuses query(const std::map<std::string, std::string>& api_urls) = 0;
  // POST /failsafe with `body` (JSON) to each member (name -> api_url), in name order.
  virtual std::vector<FailsafeAnswer> post_failsafe(const std::map<std::string, std::string>& api_urls,
                                                    const std::string& body) = 0;
  // A Citus worker's event: POST /citus with `body` (JSON) to the server of `api_url`, one
  // attempt of at most `timeout` (spec/citus.md §6). True when it answered 200.
  virtual bool post_citus_event(const std::string& api_url, const std::string& body,
                                std::chrono::milliseconds timeout) = 0;
};

class HttpMemberQueries final : public MemberQueries {
 public:
  HttpMemberQueries(net::HttpClient& http, std::size_t threads,
                    std::chrono::milliseconds timeout = std::chrono::seconds(2));
  ha::MemberStatuses query(const std::map<std::string, std::string>& api_urls) override;
  std::vector<FailsafeAnswer> post_failsafe(const std::map<std::string, std::string>& api_urls,
                                            const std::string& body) override;
  bool post_citus_event(const std::string& api_url, const std::string& body,
                        std::chrono::milliseconds timeout) override;

 private:
  // Runs `call(name, url, time left)` for every member on the pool and collects the results
  // (`fallback(name)` for those that did not finish in time).
  template <class T>
  std::vector<T> fan_out(const std::map<std::string, std::string>& api_urls, int attempts,
                         const std::function<T(const std::string&)>& fallback,
                         const std::function<T(const std::string&, const std::string&, std::chrono::milliseconds)>& call);

  net::HttpClient& http_;
  std::chrono::milliseconds timeout_;
  ThreadPool pool_;
};

}  // namespace custos::agent
