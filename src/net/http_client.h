// A small synchronous HTTP/1.1 client with hard deadlines, keep-alive reuse and TLS, plus a
// streaming request whose body is delivered chunk by chunk (etcd watch). No Boost in this
// header: Boost.Beast/Asio stay inside http_client.cpp.
//
// Thread safety: one HttpClient may be shared by any number of threads. Each request takes a
// connection out of the idle pool exclusively (or opens a new one) and gives it back when the
// response was read completely and the server allows keep-alive.
//
// Locks (in http_client.cpp, annotated): the pool lock (idle connections, the TLS client
// context) is never held during a request, only the first TLS connection reads the TLS files
// under it; a StreamCanceller's lock guards its flag and the stream's connection. Neither is
// held while taking another of ours; no caller's lock is needed or taken.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace custos::net {

// scheme://host[:port][/target]; host may be a bracketed IPv6 literal.
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets
  uint16_t port = 0;
  std::string target;  // path + query, at least "/"

  static std::optional<Url> parse(std::string_view text);
  // scheme://host:port (IPv6 in brackets), without target.
  std::string origin() const;
};

struct TlsOptions {
  std::string ca_file;    // CA bundle to verify the server with; empty: system default paths
  std::string cert_file;  // client certificate (PEM), optional
  std::string key_file;   // client private key (PEM), optional; empty: the key is in cert_file
  std::string key_password;  // passphrase of an encrypted key_file, optional
  bool verify_peer = true;  // verify the server's certificate chain
  bool verify_host_name = true;  // with verify_peer: also check the host name against the certificate
};

struct HttpClientOptions {
  TlsOptions tls;
  // Basic authentication sent with every request when set.
  std::optional<std::pair<std::string, std::string>> basic_auth;
  // Extra headers sent with every request.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string user_agent = "custos";
  // Largest response body accepted by request() (bytes).
  std::size_t max_body_bytes = 64u << 20;
  // Idle connections kept per origin.
  std::size_t max_idle_per_origin = 4;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute URL
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type;  // sent when non-empty
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // First header with that name (case-insensitive), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
};

enum class HttpErrorKind {
  kBadUrl,     // the URL could not be parsed / unsupported scheme
  kConnect,    // name resolution or TCP connect failed (refused, unreachable)
  kTls,        // TLS handshake or certificate failure
  kTimeout,    // the deadline passed before the response was complete
  kIo,         // connection reset / closed mid-request, or unparsable HTTP
  kCancelled,  // a streaming request was cancelled
  kTooLarge,   // the body exceeded max_body_bytes
};
const char* to_string(HttpErrorKind kind);

struct HttpError {
  HttpErrorKind kind;
  std::string message;
  std::string describe() const { return std::string(to_string(kind)) + ": " + message; }
};

template <class T>
using HttpResult = Result<T, HttpError>;

// Cancels a stream() in progress from another thread; cancel() before the stream started makes
// it end at once. Reusable after reset().
class StreamCanceller {
 public:
  StreamCanceller();
  ~StreamCanceller();
  StreamCanceller(const StreamCanceller&) = delete;
  StreamCanceller& operator=(const StreamCanceller&) = delete;

  void cancel();
  void reset();
  bool cancelled() const;

 private:
  friend class HttpClient;
  struct State;
  std::shared_ptr<State> state_;
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends the request and reads the whole response; everything (resolve, connect, TLS
  // handshake, write, read) must finish within `timeout`. Any HTTP status is a success here.
  HttpResult<HttpResponse> request(const HttpRequest& req, std::chrono::milliseconds timeout);

  // Streaming request. Connecting, sending and reading the response head must finish within
  // `head_timeout`. A 2xx body is then delivered piece by piece to `on_data` as it arrives
  // (already de-chunked); `on_data` returns false to stop. The stream also ends when no byte
  // arrived for `idle_timeout` (kTimeout), on cancel (kCancelled), or when the server ends it.
  // Returns the response with status and headers (and, for non-2xx, the complete body).
  HttpResult<HttpResponse> stream(const HttpRequest& req, std::chrono::milliseconds head_timeout,
                                  std::chrono::milliseconds idle_timeout,
                                  const std::function<bool(std::string_view)>& on_data,
                                  StreamCanceller* canceller = nullptr);

  // Drops all idle keep-alive connections.
  void close_idle();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace custos::net
