// The REST API request handler as a pure function of (request, node state, now), separate
// from the transport (rest_server.cpp). Routing follows spec/rest-api.md §1: the first path
// segment selects `<METHOD>_<segment>`, else the generic handler of the method.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/node_state_source.h"
#include "api/rest_server.h"

namespace custos::api {

struct Request {
  std::string method;  // upper case as sent ("GET", "HEAD", ...)
  std::string target;  // raw request target ("/replica?lag=10MB")
  std::string path;    // target without the query string, percent-decoded
  std::vector<std::pair<std::string, std::string>> query;  // in order, percent-decoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer_address;  // client IP (no port)
  bool tls = false;
  bool client_cert_verified = false;  // TLS with a client certificate that verified

  // First header with that name (case-insensitive).
  std::optional<std::string> header(std::string_view name) const;
  // First value of a query parameter (parse_qs semantics: blank values were dropped).
  std::optional<std::string> query_param(std::string_view name) const;

  // Fills path and query from target. False when the target is not an origin-form path
  // ("/..."), has a bad percent escape or contains a NUL byte.
  bool parse_target();
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Reply is just "HTTP/1.0 <code> <reason>\r\n\r\n" (HEAD, OPTIONS, /liveness, /readiness).
  bool status_line_only = false;

  static Response text(int status, std::string body);
  static Response json(int status, const nlohmann::json& body);
  static Response bare(int status);
};

// Standard reason phrase ("OK", "Service Unavailable", ...).
const char* reason_phrase(int status);
// Serializes a response as HTTP/1.0 bytes (headers + body, or the bare status line).
std::string serialize(const Response& response);

// Handlers of unsafe (write) endpoints, keyed by "<METHOD> <segment>" ("POST restart"). Each
// is called only after the §7 access-control chain let the request through.
using UnsafeHandler = std::function<Response(const Request&, NodeStateSource&, double now)>;

class RequestHandler {
 public:
  explicit RequestHandler(RestApiSettings settings = {});

  // Registers (or replaces) the handler of an unsafe endpoint (issue 4).
  void set_unsafe_handler(const std::string& method, const std::string& segment, UnsafeHandler handler);

  Response handle(const Request& request, NodeStateSource& source, double now) const;

  // §7: nullopt when the request may reach an unsafe handler, else the 401/403 reply.
  std::optional<Response> check_access(const Request& request, const NodeSnapshot& snapshot) const;

  const RestApiSettings& settings() const { return settings_; }
  // The same routes with other settings (a reload of the `restapi` section).
  RequestHandler with_settings(RestApiSettings settings) const {
    RequestHandler h(*this);
    h.settings_ = std::move(settings);
    return h;
  }

 private:
  RestApiSettings settings_;
  std::map<std::string, UnsafeHandler> unsafe_;
};

// Handles with default settings (no authentication, no allowlist).
Response handle(const Request& request, NodeStateSource& source, double now);

// ---- Pieces exposed for tests and for the write endpoints of issue 4 ----

// `lag` query value: bytes, or with unit kB/MB/GB (1024-based). nullopt when invalid.
std::optional<int64_t> parse_lag(std::string_view text);
// xlog.received_location of a replica: pg_last_wal_receive_lsn() (4.1: or the WAL receiver's
// written_lsn, the higher), else the replayed position.
int64_t received_location(const PgStatus& pg, PatroniGeneration presentation);
// The status JSON of §4 from a snapshot and a PgStatus (live or cached).
nlohmann::json status_json(const NodeSnapshot& snapshot, const PgStatus& pg, double now);
// The health-check code of §3 for a path and query.
int health_code(const NodeSnapshot& snapshot, const nlohmann::json& status, std::string_view path,
                const std::vector<std::pair<std::string, std::string>>& query, double now);
// GET /cluster body (§5); with the 4.1 presentation each replica also shows `lsn`,
// `receive_lsn`/`receive_lag` and `replay_lsn`/`replay_lag` ("unknown" when not published).
nlohmann::json cluster_json(const dcs::Cluster& cluster, const std::string& scope,
                            PatroniGeneration presentation = kDefaultPatroniGeneration);
// GET /readiness code: 3.3 ready when leader, or running with a fresh cluster view; 4.1 also
// streaming with a lag (query `lag`, default maximum_lag_on_failover) within bounds, `mode=write`
// measuring the received instead of the replayed position.
int readiness_code(const NodeSnapshot& snapshot, const std::vector<std::pair<std::string, std::string>>& query,
                   double now);
// Patroni 4.1's patroni_postgres_state number of a state string; -1 when it has none.
int postgres_state_number(std::string_view state);
// GET /metrics body (§5).
std::string metrics_text(const NodeSnapshot& snapshot, const nlohmann::json& status, double now);
// True when `address` (IP literal) is matched by an allowlist entry (IP, CIDR or host name,
// host names resolved). Non-IP addresses never match.
bool address_in_list(const std::string& address, const std::vector<std::string>& list);
// Constant-time string comparison.
bool constant_time_equal(std::string_view a, std::string_view b);
// True when answering may wait on PostgreSQL, the DCS or a write handler (GET /patroni,
// /cluster, /metrics, /config, /history and the write endpoints): the server runs these on a
// separate pool so health checks never queue behind them.
bool may_block(const Request& request);
// Paths of unsafe endpoints per §2 ("POST restart", ...), every one access-checked (§7); "POST
// mpp" too (Patroni 4 before PR #3722 left it unchecked).
bool is_unsafe_endpoint(std::string_view method, std::string_view segment);

}  // namespace custos::api
