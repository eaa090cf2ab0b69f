// RestServer: the Patroni-compatible REST API (spec/rest-api.md) over HTTP/1.0 or HTTPS.
// No Boost in this header: Boost.Beast/Asio stay inside rest_server.cpp.
//
// One request per connection (the connection is closed after the reply); a small fixed pool of
// threads serves connections, so a slow GET /patroni or /cluster never blocks health checks,
// which read only NodeStateSource::snapshot().
//
// Thread safety: start(), reload(), stop() and settings() may come from any thread; they take
// the server's lock (Impl::mu in rest_server.cpp), which stop() holds while joining the server's
// threads, so a reload() or settings() during stop() waits for running handlers to return. No
// thread of the server takes that lock; sessions read the configuration in force under a
// second, leaf lock (Shared::mu). handler() is unsynchronized: change it only before start().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/node_state_source.h"
#include "common/clock.h"
#include "common/presentation.h"
#include "common/result.h"

namespace custos::api {

class RequestHandler;  // api/handler.h

enum class VerifyClient { kNone, kOptional, kRequired };

// The `restapi` configuration section, parsed and checked.
struct RestApiSettings {
  std::string listen_host;    // empty = all addresses (from "*" or ":8008")
  uint16_t listen_port = 8008;
  std::string connect_address;  // host:port advertised in api_url (defaults to listen)

  // TLS: enabled iff certfile is set.
  std::string certfile;
  std::string keyfile;  // empty: the key is in certfile
  std::string keyfile_password;
  std::string cafile;   // CA for client certificates
  std::string ciphers;  // OpenSSL cipher list; empty: library default
  VerifyClient verify_client = VerifyClient::kNone;

  std::vector<std::pair<std::string, std::string>> http_extra_headers;
  std::vector<std::pair<std::string, std::string>> https_extra_headers;
  int request_queue_size = 5;  // listen backlog (0..4096)
  // The `Server` header (restapi.server_tokens, Patroni 4.1): Original "custos/<version>",
  // ProductOnly "Patroni", Minimal "Patroni/<presented version>". Not sent with bare status lines.
  std::string server_header;
  std::optional<std::string> server_tokens_warning;  // an unknown value, named (Original is used)

  // Basic authentication required by unsafe endpoints (spec §7).
  std::optional<std::pair<std::string, std::string>> authentication;
  std::vector<std::string> allowlist;  // hosts, IPs, CIDRs
  bool allowlist_include_members = false;

  // Server limits (not Patroni options).
  int io_threads = 2;        // accept, read, write, and answer health checks
  int blocking_threads = 2;  // GET /patroni, /cluster, /metrics, ... and write endpoints
  int max_connections = 1024;  // beyond this, new connections are closed at once
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds read_timeout{10000};  // whole request must arrive within this
  std::chrono::milliseconds write_timeout{10000};

  bool tls() const { return !certfile.empty(); }
  // http(s)://<connect_address or listen>/patroni
  std::string api_url() const;
  // "host:port" as listened on ("*:8008" for all addresses), for messages.
  std::string listen_text() const;

  // Parses the `restapi` json section; errors name the offending key.
  static Result<RestApiSettings, std::string> from_config(const nlohmann::json& restapi,
                                                          PatroniGeneration presentation = kDefaultPatroniGeneration);
};

class RestServer {
 public:
  // `clock` gives the handler its monotonic `now` (the snapshot's times are monotonic).
  RestServer(RestApiSettings settings, NodeStateSource& source, const Clock& clock);
  ~RestServer();  // stop()s
  RestServer(const RestServer&) = delete;
  RestServer& operator=(const RestServer&) = delete;

  // Binds, listens and starts the worker threads. Error (naming the address) when the address
  // cannot be bound or the TLS material cannot be loaded. Logs a warning when an unsafe
  // endpoint is reachable without authentication on a non-loopback address.
  Status<std::string> start();
  // Stops accepting, closes connections, joins the threads. Idempotent.
  void stop();
  // Applies a reloaded `restapi` section without new threads: TLS material is loaded again (and a
  // new certificate served to new connections), a changed listen address is bound anew before
  // the old one is closed, authentication/allowlist/headers/limits apply to new requests. On an
  // error (a certificate that does not load, an address that cannot be bound) the settings in
  // force stay and the error names what failed.
  Status<std::string> reload(RestApiSettings settings);
  bool running() const;
  // The port actually bound (useful with listen port 0); 0 when not running.
  uint16_t bound_port() const;
  RestApiSettings settings() const;
  // The request handler, e.g. to register the write endpoints (RequestHandler::
  // set_unsafe_handler). Change it only before start().
  RequestHandler& handler();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace custos::api
