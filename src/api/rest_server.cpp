// The REST server: the only Boost.Beast/Asio translation unit of custos_api.
//
// Threads: `io_threads` run one io_context (accept, TLS handshake, read, write, and the
// handlers that only read the in-memory snapshot: health checks, /liveness, /readiness);
// `blocking_threads` run handlers that may wait on PostgreSQL or the DCS (/patroni, /cluster,
// /metrics, write endpoints). A slow PostgreSQL therefore never delays a load balancer's check.
//
// Each connection carries one request (HTTP/1.0 style) and is closed after the reply. The whole
// request (TLS handshake included) must arrive within read_timeout, which drops slowloris
// clients; headers are limited to max_header_bytes (431) and bodies to max_body_bytes (413).
//
// Locks (annotated, checked by scripts/check-thread-safety.sh):
//   Shared::mu  the ServerConfig in force (a shared_ptr, copied out). A leaf.
//   Impl::mu    the settings as given, the io_context, the acceptor, the blocking pool and the
//               io threads: start(), reload(), stop(), settings(). Not a leaf: start() and
//               reload() hold it while loading the TLS files, resolving and binding the listen
//               address and setting Shared's config (Shared::mu); stop() holds it while joining
//               the io threads and the blocking pool (until running handlers, which may wait on
//               PostgreSQL or the DCS, have returned). No thread of the server takes it.
// The io threads and handlers reach the blocking pool (Shared::blocking) and the io_context
// without a lock: both are set by start() before the io threads start, and cleared by stop()
// after they were joined.
#include "api/rest_server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <ctime>
#include <memory>
#include <thread>

#include "api/handler.h"
#include "common/thread_annotations.h"
#include "common/thread_pool.h"
#include "common/version.h"

namespace custos::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

std::string http_date() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

bool is_loopback_host(const std::string& host) {
  if (host.empty()) return false;
  error_code ec;
  auto a = asio::ip::make_address(host, ec);
  if (ec) return host == "localhost";
  return a.is_loopback();
}

// What a connection is served with: taken when it is accepted, replaced as a whole by reload().
struct ServerConfig {
  RestApiSettings settings;
  RequestHandler handler;
  std::shared_ptr<asio::ssl::context> ssl;  // null without TLS
};

// What the sessions share with the server. mu guards `current` only (a leaf).
struct Shared {
  Shared(NodeStateSource& src, const Clock& c) : source(src), clock(c) {}
  NodeStateSource& source;
  const Clock& clock;
  // Set by start() before the io threads start, cleared by stop() after they were joined.
  asio::thread_pool* blocking = nullptr;
  std::atomic<int> connections{0};

  std::shared_ptr<const ServerConfig> config() const EXCLUDES(mu) {
    MutexLock lock(mu);
    return current;
  }
  void set_config(std::shared_ptr<const ServerConfig> c) EXCLUDES(mu) {
    MutexLock lock(mu);
    current = std::move(c);
  }

 private:
  mutable Mutex mu;
  std::shared_ptr<const ServerConfig> current GUARDED_BY(mu);
};

template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(std::shared_ptr<Shared> shared, std::shared_ptr<const ServerConfig> config, Stream stream, std::string peer,
          bool tls)
      : shared_(std::move(shared)),
        config_(std::move(config)),
        stream_(std::move(stream)),
        peer_(std::move(peer)),
        tls_(tls) {
    ++shared_->connections;
  }
  ~Session() { --shared_->connections; }

  void run() {
    tcp_layer().expires_after(config_->settings.read_timeout);
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code ec) {
                                if (ec) return self->close();
                                self->read();
                              });
    } else {
      read();
    }
  }

 private:
  beast::tcp_stream& tcp_layer() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>)
      return stream_;
    else
      return stream_.next_layer();
  }

  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(config_->settings.max_header_bytes));
    parser_->body_limit(config_->settings.max_body_bytes);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (ec) {
      // Replies sent before the whole request was read: drain what the client still sends
      // (lingering close) so that a reset does not destroy the reply on its side.
      linger_ = true;
      if (ec == http::error::header_limit) return reply(Response::text(431, "request header too large"));
      if (ec == http::error::body_limit) return reply(Response::text(413, "request body too large"));
      // Silent close: nothing arrived, the client went away, or the request did not arrive in
      // time (slowloris); a reply could not be delivered or would be pointless.
      if (!parser_->got_some() || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
          ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
          ec.category() == asio::error::get_ssl_category() || ec == asio::ssl::error::stream_truncated)
        return close();
      return reply(Response::text(400, "Bad request"));
    }
    auto msg = parser_->release();
    auto req = std::make_shared<Request>();
    req->method = std::string(msg.method_string());
    req->target = std::string(msg.target());
    for (const auto& f : msg) req->headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    req->body = std::move(msg.body());
    req->peer_address = peer_;
    req->tls = tls_;
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      X509* cert = SSL_get_peer_certificate(stream_.native_handle());
      if (cert) {
        req->client_cert_verified = SSL_get_verify_result(stream_.native_handle()) == X509_V_OK;
        X509_free(cert);
      }
    }
    if (!req->parse_target()) return reply(Response::text(400, "Bad request target"));
    if (may_block(*req)) {
      asio::post(*shared_->blocking, [self = this->shared_from_this(), req] {
        Response r = self->config_->handler.handle(*req, self->shared_->source, self->shared_->clock.now_seconds());
        asio::dispatch(self->tcp_layer().get_executor(),
                       [self, r = std::move(r)]() mutable { self->reply(std::move(r)); });
      });
      return;
    }
    reply(config_->handler.handle(*req, shared_->source, shared_->clock.now_seconds()));
  }

  void reply(Response r) {
    if (!r.status_line_only) {
      r.headers.emplace(r.headers.begin(), "Date", http_date());
      const std::string& server = config_->settings.server_header;
      r.headers.emplace(r.headers.begin(), "Server", server.empty() ? std::string("custos/") + kVersion : server);
      for (const auto& h : config_->settings.http_extra_headers) r.headers.push_back(h);
      if (tls_)
        for (const auto& h : config_->settings.https_extra_headers) r.headers.push_back(h);
    }
    out_ = serialize(r);
    tcp_layer().expires_after(config_->settings.write_timeout);
    asio::async_write(stream_, asio::buffer(out_), [self = this->shared_from_this()](error_code ec, std::size_t) {
      if (ec || !self->linger_) return self->close();
      error_code ignored;
      self->tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ignored);
      self->tcp_layer().expires_after(std::chrono::seconds(1));
      self->drain();
    });
  }

  // Reads and discards up to 8 MiB for at most a second, then closes.
  void drain() {
    tcp_layer().async_read_some(asio::buffer(discard_), [self = this->shared_from_this()](error_code ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > (8u << 20)) return self->close();
      self->drain();
    });
  }

  void close() {
    error_code ec;
    auto& sock = tcp_layer().socket();
    if (sock.is_open()) {
      // The reply is delimited by Content-Length (or is a bare status line read until EOF).
      // No TLS close_notify is sent (as with Patroni's Python server).
      sock.shutdown(tcp::socket::shutdown_send, ec);
      sock.close(ec);
    }
  }

  std::shared_ptr<Shared> shared_;
  std::shared_ptr<const ServerConfig> config_;  // keeps the TLS context alive for the stream
  Stream stream_;
  std::string peer_;
  bool tls_;
  beast::flat_buffer buffer_;  // bounded by the parser's header and body limits
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string out_;
  bool linger_ = false;
  std::size_t drained_ = 0;
  std::array<char, 16384> discard_{};
};

}  // namespace

// mu: see the top of this file. `shared` is set by the constructor only; `handler` is changed
// (routes registered) only before start(), then read by start() and reload() under mu; `port`
// and `running` are atomics written under mu and read without it.
struct RestServer::Impl {
  std::shared_ptr<Shared> shared;
  mutable Mutex mu;
  RestApiSettings settings GUARDED_BY(mu);  // as given; the config in force is shared->config()
  RequestHandler handler;                   // routes registered before start()
  std::unique_ptr<asio::io_context> ioc GUARDED_BY(mu);
  std::shared_ptr<tcp::acceptor> acceptor GUARDED_BY(mu);
  std::unique_ptr<asio::thread_pool> blocking GUARDED_BY(mu);
  std::vector<std::thread> threads GUARDED_BY(mu);
  std::atomic<uint16_t> port{0};
  std::atomic<bool> running{false};

  // Accepts connections on `a` (made on `io`) until it is closed; runs on the io threads, which
  // start() starts after `ioc` was made and stop() joins before it is destroyed.
  void accept(asio::io_context& io, std::shared_ptr<tcp::acceptor> a) {
    a->async_accept(asio::make_strand(io), [this, &io, a](error_code ec, tcp::socket sock) {
      if (ec == asio::error::operation_aborted || !a->is_open()) return;
      if (!ec) {
        const auto config = shared->config();
        if (shared->connections.load() >= config->settings.max_connections) {
          error_code ignored;
          sock.close(ignored);
        } else {
          error_code pec;
          auto ep = sock.remote_endpoint(pec);
          std::string peer;
          if (!pec) {
            auto addr = ep.address();
            if (addr.is_v6() && addr.to_v6().is_v4_mapped())
              peer = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6()).to_string();
            else
              peer = addr.to_string();
          }
          error_code ignored;
          sock.set_option(asio::socket_base::keep_alive(true), ignored);
          sock.set_option(tcp::no_delay(true), ignored);
          try {
            if (config->ssl) {
              std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
                  shared, config,
                  beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(sock)), *config->ssl), peer, true)
                  ->run();
            } else {
              std::make_shared<Session<beast::tcp_stream>>(shared, config, beast::tcp_stream(std::move(sock)), peer,
                                                           false)
                  ->run();
            }
          } catch (const std::exception& e) {
            spdlog::warn("REST API: dropping a connection: {}", e.what());
          }
        }
      } else if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) {
        spdlog::warn("REST API: accept failed: {}", ec.message());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      accept(io, a);
    });
  }

  static Result<std::shared_ptr<asio::ssl::context>, std::string> make_ssl_context(const RestApiSettings& s) {
    try {
      auto ssl = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
      ssl->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
      // Always a callback: an encrypted key without a password fails to load instead of
      // OpenSSL asking for it on the terminal.
      ssl->set_password_callback(
          [pw = s.keyfile_password](std::size_t, asio::ssl::context::password_purpose) { return pw; });
      ssl->use_certificate_chain_file(s.certfile);
      ssl->use_private_key_file(s.keyfile.empty() ? s.certfile : s.keyfile, asio::ssl::context::pem);
      if (!s.ciphers.empty() && SSL_CTX_set_cipher_list(ssl->native_handle(), s.ciphers.c_str()) != 1)
        return make_error("restapi.ciphers: no usable cipher in '" + s.ciphers + "'");
      if (!s.cafile.empty()) ssl->load_verify_file(s.cafile);
      if (s.verify_client == VerifyClient::kRequired)
        ssl->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
      else if (s.verify_client == VerifyClient::kOptional)
        ssl->set_verify_mode(asio::ssl::verify_peer);
      else
        ssl->set_verify_mode(asio::ssl::verify_none);
      return ssl;
    } catch (const std::exception& e) {
      return make_error("REST API TLS set-up failed (certfile " + s.certfile + "): " + e.what());
    }
  }

  Result<std::shared_ptr<tcp::acceptor>, std::string> open_acceptor(const RestApiSettings& s) REQUIRES(mu) {
    std::vector<tcp::endpoint> endpoints;
    if (s.listen_host.empty()) {
      endpoints.emplace_back(tcp::v6(), s.listen_port);
      endpoints.emplace_back(tcp::v4(), s.listen_port);
    } else {
      error_code ec;
      auto addr = asio::ip::make_address(s.listen_host, ec);
      if (!ec) {
        endpoints.emplace_back(addr, s.listen_port);
      } else {
        tcp::resolver resolver(*ioc);
        auto results = resolver.resolve(s.listen_host, std::to_string(s.listen_port), ec);
        if (ec || results.empty())
          return make_error("REST API cannot listen on " + s.listen_text() + ": cannot resolve host: " + ec.message());
        for (const auto& r : results) endpoints.push_back(r.endpoint());
      }
    }
    std::string last_error;
    for (const auto& ep : endpoints) {
      error_code ec;
      auto a = std::make_shared<tcp::acceptor>(*ioc);
      a->open(ep.protocol(), ec);
      if (!ec && ep.protocol() == tcp::v6() && s.listen_host.empty()) a->set_option(asio::ip::v6_only(false), ec);
      if (!ec) a->set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) a->bind(ep, ec);
      if (!ec) a->listen(s.request_queue_size, ec);
      if (!ec) return a;
      last_error = ec.message();
      // An unavailable IPv6 stack for "*": fall through to IPv4. Otherwise the first error wins.
      if (!(s.listen_host.empty() && ep.protocol() == tcp::v6())) break;
    }
    return make_error("REST API cannot listen on " + s.listen_text() + ": " + last_error);
  }

  void warn_without_authentication(const RestApiSettings& s) const {
    if (!s.authentication && !is_loopback_host(s.listen_host)) {
      spdlog::warn(
          "REST API on {} has no restapi.authentication: the unsafe endpoints (PATCH/PUT /config, POST /restart, "
          "/reinitialize, /switchover, /failover, /reload, ...) are reachable without a password{}",
          s.listen_text(),
          s.allowlist.empty() && !s.allowlist_include_members ? " from any host" : " from the allowlist");
    }
  }
};

namespace {
bool same_listen(const RestApiSettings& a, const RestApiSettings& b) {
  return a.listen_host == b.listen_host && a.listen_port == b.listen_port &&
         a.request_queue_size == b.request_queue_size;
}
}  // namespace

RestServer::RestServer(RestApiSettings settings, NodeStateSource& source, const Clock& clock)
    : impl_(std::make_unique<Impl>()) {
  impl_->shared = std::make_shared<Shared>(source, clock);
  impl_->handler = RequestHandler(settings);
  impl_->settings = std::move(settings);
}

RestServer::~RestServer() { stop(); }

Status<std::string> RestServer::start() {
  MutexLock lock(impl_->mu);
  if (impl_->running) return Unit{};
  const RestApiSettings s = impl_->settings;  // a copy: the analysis does not follow a reference
  auto config = std::make_shared<ServerConfig>(ServerConfig{s, impl_->handler.with_settings(s), nullptr});
  if (s.tls()) {
    auto ssl = Impl::make_ssl_context(s);
    if (!ssl) return make_error(ssl.error());
    config->ssl = ssl.value();
  }
  impl_->ioc = std::make_unique<asio::io_context>(std::max(1, s.io_threads));
  auto acceptor = impl_->open_acceptor(s);
  if (!acceptor) {
    impl_->ioc.reset();
    return make_error(acceptor.error());
  }
  impl_->acceptor = acceptor.value();
  impl_->port = impl_->acceptor->local_endpoint().port();
  impl_->shared->set_config(config);
  impl_->blocking = std::make_unique<asio::thread_pool>(std::max(1, s.blocking_threads));
  impl_->shared->blocking = impl_->blocking.get();
  impl_->accept(*impl_->ioc, impl_->acceptor);
  for (int i = 0; i < std::max(1, s.io_threads); ++i) {
    impl_->threads.emplace_back([io = impl_->ioc.get()] {
      set_current_thread_name("rest-io");
      for (;;) {
        try {
          io->run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("REST API: unexpected error in a handler: {}", e.what());
        }
      }
    });
  }
  impl_->running = true;
  spdlog::info("REST API listening on {} ({}), api_url {}", s.listen_text(), s.tls() ? "https" : "http",
               s.api_url());
  impl_->warn_without_authentication(s);
  return Unit{};
}

Status<std::string> RestServer::reload(RestApiSettings s) {
  MutexLock lock(impl_->mu);
  if (!impl_->running) {
    impl_->settings = std::move(s);
    return Unit{};
  }
  auto config = std::make_shared<ServerConfig>(ServerConfig{s, impl_->handler.with_settings(s), nullptr});
  if (s.tls()) {
    auto ssl = Impl::make_ssl_context(s);
    if (!ssl) return make_error("restapi reload: " + ssl.error() + " (the REST API keeps its previous settings)");
    config->ssl = ssl.value();
  }
  std::shared_ptr<tcp::acceptor> replaced;
  if (!same_listen(impl_->settings, s)) {
    auto acceptor = impl_->open_acceptor(s);
    if (!acceptor) return make_error("restapi reload: " + acceptor.error() + " (still listening on " +
                                     impl_->settings.listen_text() + ")");
    replaced = impl_->acceptor;
    impl_->acceptor = acceptor.value();
    impl_->port = impl_->acceptor->local_endpoint().port();
  }
  if (s.io_threads != impl_->settings.io_threads || s.blocking_threads != impl_->settings.blocking_threads)
    spdlog::warn("restapi: thread counts take effect at the next start of custos");
  impl_->shared->set_config(config);
  if (replaced) {
    asio::post(*impl_->ioc, [this, io = impl_->ioc.get(), old = replaced, fresh = impl_->acceptor] {
      error_code ec;
      old->close(ec);
      impl_->accept(*io, fresh);
    });
  }
  spdlog::info("REST API reloaded: {} ({})", s.listen_text(), s.tls() ? "https" : "http");
  impl_->warn_without_authentication(s);
  impl_->settings = std::move(s);
  return Unit{};
}

void RestServer::stop() {
  MutexLock lock(impl_->mu);
  if (!impl_->running) return;
  impl_->running = false;
  asio::post(*impl_->ioc, [a = impl_->acceptor] {
    error_code ec;
    a->close(ec);
  });
  impl_->ioc->stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  impl_->blocking->join();
  impl_->acceptor.reset();
  impl_->ioc.reset();  // destroys pending sessions
  impl_->blocking.reset();
  impl_->shared->blocking = nullptr;
  impl_->shared->set_config(nullptr);
  impl_->port = 0;
}

bool RestServer::running() const { return impl_->running; }
uint16_t RestServer::bound_port() const { return impl_->running ? impl_->port.load() : 0; }
RestApiSettings RestServer::settings() const {
  MutexLock lock(impl_->mu);
  return impl_->settings;
}
RequestHandler& RestServer::handler() { return impl_->handler; }

}  // namespace custos::api
