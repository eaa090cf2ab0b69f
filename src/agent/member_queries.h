// MemberQueries: the other members' `GET /patroni` answers, fetched in parallel, that the HA
// decision (ha.md §3.6-3.8) and the switchover feasibility check need. HttpMemberQueries is the
// real one: a fixed pool of threads made at start-up and the agent's HTTP client; tests use a
// fake that answers from a table.
//
// Thread: any (the HA loop and REST operations at once). Blocking: up to the per-member timeout
// (2 s, rest-api.md §9) times ceil(members / pool size). Errors: a member that does not answer
// in time, fails, or answers garbage comes back with reachable = false.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

#include "common/thread_pool.h"
#include "ha/member_status.h"
#include "net/http_client.h"

namespace custos::agent {

class MemberQueries {
 public:
  virtual ~MemberQueries() = default;
  // One status per entry of `api_urls` (member name -> api_url), in name order.
  virtual ha::MemberStatuses query(const std::map<std::string, std::string>& api_urls) = 0;
};

class HttpMemberQueries final : public MemberQueries {
 public:
  HttpMemberQueries(net::HttpClient& http, std::size_t threads,
                    std::chrono::milliseconds timeout = std::chrono::seconds(2));
  ha::MemberStatuses query(const std::map<std::string, std::string>& api_urls) override;

 private:
  net::HttpClient& http_;
  std::chrono::milliseconds timeout_;
  ThreadPool pool_;
};

}  // namespace custos::agent
