// Raw etcd v3 client over the gRPC JSON gateway (dcs.md §5): API prefix from /version,
// authentication with token and one re-authentication on auth errors, endpoint failover with
// member discovery, retries with backoff until a deadline, base64 keys/values and int64 fields
// as JSON strings. Thread-safe: any number of threads may call it at the same time.
//
// Locks of Etcd3Client (annotated, checked by scripts/check-thread-safety.sh):
//   mu_       the API prefix, auth support, the token. A leaf: held to copy or replace them only,
//             never during a request. The endpoints have their own leaf lock (EndpointList).
//   auth_mu_  one authentication at a time in ensure_version() (no field). Not a leaf: it is held
//             across authenticate(), i.e. a POST /auth/authenticate (bounded by the per-attempt
//             timeout) and the mu_ sections around it. The re-authentication of call_impl()
//             after an auth error does not take it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "common/thread_annotations.h"
#include "dcs/dcs_error.h"
#include "dcs/etcd_common/endpoint_list.h"
#include "dcs/etcd_common/etcd_settings.h"
#include "dcs/etcd_common/srv_discovery.h"

namespace custos::net {
class HttpClient;
class StreamCanceller;
}  // namespace custos::net

namespace custos::dcs::etcd3 {

using etcd_common::DnsSrvResolver;
using etcd_common::EtcdSettings;
using etcd_common::SrvResolver;

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// gRPC status codes that matter here.
namespace grpc {
inline constexpr int kDeadlineExceeded = 4;
inline constexpr int kNotFound = 5;
inline constexpr int kPermissionDenied = 7;
inline constexpr int kFailedPrecondition = 9;
inline constexpr int kUnavailable = 14;
inline constexpr int kUnauthenticated = 16;
}  // namespace grpc

// A failed etcd call: the DcsError kind it maps to plus what etcd said.
struct EtcdError {
  DcsErrorKind kind = DcsErrorKind::kUnreachable;
  std::string message;
  int grpc_code = -1;   // -1: not a gRPC error (transport, HTTP, parse)
  int http_status = 0;  // 0: no HTTP response

  bool lease_not_found() const;
  DcsError to_dcs() const { return DcsError{kind, message}; }
};

template <class T>
using EtcdResult = Result<T, EtcdError>;

// One key as returned by range/watch, decoded.
struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  std::string lease;  // decimal lease ID, empty when the key has none
};

struct RangeResult {
  int64_t revision = 0;  // header.revision
  std::vector<KeyValue> kvs;
};

// etcd int64 fields arrive as JSON strings (sometimes numbers); nullopt when absent/garbled.
std::optional<int64_t> json_int64(const nlohmann::json& object, const char* field);
// Decodes a kv object of a range/watch reply; nullopt when it is malformed.
std::optional<KeyValue> decode_kv(const nlohmann::json& kv);
// The smallest key greater than every key with prefix `prefix` (last byte < 0xff + 1).
std::string prefix_range_end(const std::string& prefix);

// Splits a byte stream into complete top-level JSON objects (newline-delimited or not).
class JsonObjectSplitter {
 public:
  // Appends data and returns every object completed by it (raw text).
  std::vector<std::string> feed(std::string_view data);
  void reset();

 private:
  std::string buffer_;
  int depth_ = 0;
  bool in_string_ = false;
  bool escape_ = false;
  std::size_t start_ = std::string::npos;
  std::size_t scanned_ = 0;
};

class Etcd3Client {
 public:
  // With settings.srv, endpoints come from DNS SRV records through `resolver` (the system
  // resolver when null), at construction and again while none is known.
  explicit Etcd3Client(const EtcdSettings& settings, std::shared_ptr<SrvResolver> resolver = nullptr);
  ~Etcd3Client();
  Etcd3Client(const Etcd3Client&) = delete;
  Etcd3Client& operator=(const Etcd3Client&) = delete;

  // Timing used for per-attempt timeouts and the member list refresh (ttl * 10).
  void set_timing(int ttl, int retry_timeout);
  std::chrono::milliseconds retry_timeout() const;
  Deadline deadline_from_now() const { return Clock::now() + retry_timeout(); }

  // POST <api prefix><method> with a JSON body, with failover, auth and retries until
  // `deadline`. Returns the parsed JSON reply (an object) of the first successful attempt.
  EtcdResult<nlohmann::json> call(const std::string& method, const nlohmann::json& body, Deadline deadline);
  // One attempt only (no retries): used where a retry could mislead (watch set-up probes).
  EtcdResult<nlohmann::json> call_once(const std::string& method, const nlohmann::json& body, Deadline deadline);

  EtcdResult<RangeResult> range(const std::string& key, const std::optional<std::string>& range_end,
                                bool serializable, Deadline deadline);
  // Returns header.revision of the put.
  EtcdResult<int64_t> put(const std::string& key, const std::string& value, const std::string& lease,
                          Deadline deadline);
  // Raw transaction; the body is {"compare": [...], "success": [...], "failure"?: [...]}.
  EtcdResult<nlohmann::json> txn(const nlohmann::json& body, Deadline deadline);
  // Returns header.revision.
  EtcdResult<int64_t> delete_range(const std::string& key, const std::optional<std::string>& range_end,
                                   Deadline deadline);
  EtcdResult<std::string> lease_grant(int ttl, Deadline deadline);
  // Remaining TTL in seconds; 0 when the lease is gone.
  EtcdResult<int64_t> lease_keepalive(const std::string& id, Deadline deadline);
  EtcdResult<Unit> lease_revoke(const std::string& id, Deadline deadline);

  // Makes sure the API prefix is known and, with credentials, that we hold a token.
  EtcdResult<Unit> connect(Deadline deadline);

  // Streaming watch on the current endpoint (no retries here). Each message of the stream
  // is handed to `on_message` (return false to stop). Returns when the stream ends, fails,
  // goes idle for `idle_timeout`, or is cancelled (kUnreachable "cancelled").
  EtcdResult<Unit> watch(const nlohmann::json& create_request,
                         const std::function<bool(const nlohmann::json&)>& on_message,
                         net::StreamCanceller& canceller, std::chrono::milliseconds idle_timeout,
                         Deadline head_deadline) EXCLUDES(mu_, auth_mu_);

  // Moves on to the next endpoint (after a failed watch, for instance).
  void rotate_endpoint() EXCLUDES(mu_);
  std::string current_endpoint() const EXCLUDES(mu_);
  std::vector<std::string> endpoints() const EXCLUDES(mu_);
  // Incremented on every successful (re-)authentication: token changes restart the watch.
  uint64_t auth_generation() const { return auth_generation_.load(); }

 private:
  struct Attempt;
  EtcdResult<nlohmann::json> attempt(const std::string& endpoint, const std::string& path,
                                     const nlohmann::json& body, Deadline deadline) EXCLUDES(mu_);
  EtcdResult<Unit> ensure_version(const std::string& endpoint, Deadline deadline) EXCLUDES(mu_, auth_mu_);
  // Called with auth_mu_ held by ensure_version(), without it by call_impl().
  EtcdResult<Unit> authenticate(const std::string& endpoint, Deadline deadline) EXCLUDES(mu_);
  void maybe_refresh_members(const std::string& endpoint, Deadline deadline) EXCLUDES(mu_);
  std::chrono::milliseconds per_attempt_timeout(Deadline deadline) const EXCLUDES(mu_);
  EtcdResult<nlohmann::json> call_impl(const std::string& method, const nlohmann::json& body, Deadline deadline,
                                       bool retry) EXCLUDES(mu_, auth_mu_);

  EtcdSettings settings_;
  // Before endpoints_: its constructor may resolve SRV records, which asks peers with http_
  // within retry_timeout_.
  std::atomic<int> ttl_;
  std::atomic<int> retry_timeout_;
  std::unique_ptr<net::HttpClient> http_;
  etcd_common::EndpointList endpoints_;  // discovered (or configured) base URLs, the current one

  Mutex auth_mu_;  // one authentication at a time
  mutable Mutex mu_;
  std::string api_prefix_ GUARDED_BY(mu_);  // "" until the version was probed
  bool auth_supported_ GUARDED_BY(mu_) = true;
  std::optional<std::string> token_ GUARDED_BY(mu_);
  std::atomic<uint64_t> auth_generation_{0};
};

}  // namespace custos::dcs::etcd3
