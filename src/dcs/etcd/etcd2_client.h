// Raw client of etcd's v2 HTTP API (dcs.md §6), as Patroni's etcd module uses it: keys under
// /v2/keys with form-encoded writes (value, ttl, prevExist, prevValue, prevIndex), recursive
// reads, long-poll waits (wait=true&waitIndex=N), basic authentication, TLS, endpoint failover
// with the member list of GET /v2/machines, and retries with backoff until a deadline on
// transport errors, 5xx answers and etcd's "raft internal error" / "leader election" codes.
//
// Thread: any number of threads at once (the HTTP client pools connections; EndpointList has
// its own leaf lock; no lock of ours is held during a request). Blocking: every call until its
// deadline at most. Errors: Etcd2Error values, never exceptions.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "dcs/dcs_error.h"
#include "dcs/etcd_common/endpoint_list.h"
#include "dcs/etcd_common/etcd_settings.h"

namespace custos::net {
class HttpClient;
class StreamCanceller;
}  // namespace custos::net

namespace custos::dcs::etcd2 {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// etcd v2 error codes that matter here (the `errorCode` of an error reply).
namespace code {
inline constexpr int kKeyNotFound = 100;
inline constexpr int kTestFailed = 101;  // prevValue / prevIndex compare failed
inline constexpr int kNotFile = 102;
inline constexpr int kNodeExist = 105;  // prevExist=false on an existing key
inline constexpr int kUnauthorized = 110;
inline constexpr int kRaftInternal = 300;
inline constexpr int kLeaderElect = 301;
inline constexpr int kEventIndexCleared = 401;
}  // namespace code

struct Etcd2Error {
  DcsErrorKind kind = DcsErrorKind::kUnreachable;
  std::string message;
  int error_code = -1;  // etcd's errorCode; -1 when the failure was not an etcd error reply
  int http_status = 0;  // 0: no HTTP answer
  int64_t etcd_index = 0;  // X-Etcd-Index of an error reply (0: none)
  bool is(int c) const { return error_code == c; }
  DcsError to_dcs() const { return DcsError{kind, message}; }
};

template <class T>
using Etcd2Result = Result<T, Etcd2Error>;

// One node of a reply (a key, or a directory with its nodes when read recursively).
struct Etcd2Node {
  std::string key;  // absolute, e.g. "/service/demo/leader"
  std::string value;
  bool dir = false;
  int64_t modified_index = 0;
  int64_t created_index = 0;
  std::optional<int64_t> ttl;
  std::vector<Etcd2Node> nodes;
};

// A successful reply: the action, its node (and prevNode when etcd sent one), and X-Etcd-Index.
struct Etcd2Reply {
  std::string action;
  std::optional<Etcd2Node> node;
  int64_t etcd_index = 0;
};

// Decodes a node object of a reply; nullopt when it is malformed (depth-capped).
std::optional<Etcd2Node> decode_node(const nlohmann::json& node, int depth = 0);

// application/x-www-form-urlencoded / query-string encoding of one component.
std::string form_escape(const std::string& text);

using Params = std::vector<std::pair<std::string, std::string>>;

class Etcd2Client {
 public:
  // With settings.srv, endpoints come from DNS SRV records through `resolver` (the system
  // resolver when null).
  explicit Etcd2Client(const etcd_common::EtcdSettings& settings,
                       std::shared_ptr<etcd_common::SrvResolver> resolver = nullptr);
  ~Etcd2Client();
  Etcd2Client(const Etcd2Client&) = delete;
  Etcd2Client& operator=(const Etcd2Client&) = delete;

  void set_timing(int ttl, int retry_timeout);
  Deadline deadline_from_now() const;

  // GET/PUT/DELETE /v2/keys<key> with `params` (query string for GET/DELETE, form body for
  // PUT), retried until `deadline` where a retry can help. Error replies of etcd come back as
  // Etcd2Error with their errorCode (not retried unless raft trouble).
  Etcd2Result<Etcd2Reply> call(const std::string& method, const std::string& key, const Params& params,
                               Deadline deadline);

  // One long poll: GET <key>?wait=true&waitIndex=<index> on the current endpoint, up to
  // `timeout`. nullopt when nothing happened in time; the reply (or the etcd error, e.g.
  // kEventIndexCleared) when it ended; kUnreachable "cancelled" when `canceller` fired.
  Etcd2Result<std::optional<Etcd2Reply>> wait(const std::string& key, int64_t index, std::chrono::milliseconds timeout,
                                              net::StreamCanceller& canceller);

  std::vector<std::string> endpoints() const { return endpoints_.all(); }

 private:
  Etcd2Result<Etcd2Reply> attempt(const std::string& endpoint, const std::string& method, const std::string& key,
                                  const Params& params, Deadline deadline);
  void maybe_refresh_machines(const std::string& endpoint, Deadline deadline);
  std::chrono::milliseconds per_attempt_timeout(Deadline deadline) const;

  const etcd_common::EtcdSettings settings_;
  // Before endpoints_: its constructor may resolve SRV records, which asks peers with http_
  // within retry_timeout_.
  std::atomic<int> ttl_;
  std::atomic<int> retry_timeout_;
  std::unique_ptr<net::HttpClient> http_;
  etcd_common::EndpointList endpoints_;
};

}  // namespace custos::dcs::etcd2
