// The only Boost.Beast/Asio translation unit of custos_net.
//
// Every connection owns a private io_context; an operation is started asynchronously and the
// calling thread runs that io_context until the operation completes or the deadline passes, in
// which case the socket is closed (aborting whatever is pending) and the handlers are drained.
// This gives hard deadlines on every phase without extra threads.
//
// Locks (annotated, checked by scripts/check-thread-safety.sh):
//   StreamCanceller::State::mu  the cancelled flag and the connection a stream() runs on. Held
//                               for those fields only; cancel() posts the close to the
//                               connection's io_context under it (Asio's own scheduler lock),
//                               because the registered connection is valid only while it is held.
//   HttpClient::Impl::pool_mu   the idle connections and the lazily made TLS client context. Never
//                               held during a request; but the first TLS connection builds the
//                               context under it, reading the CA bundle, certificate and key files.
// No other custos lock is taken while holding either.
#include "net/http_client.h"
#include "net/host_resolver.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <map>

#include "common/thread_annotations.h"
#include "net/base64.h"

namespace custos::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

struct Conn {
  asio::io_context ioc{1};
  std::optional<tcp::socket> plain;
  std::optional<asio::ssl::stream<tcp::socket>> tls;
  beast::flat_buffer buffer;
  std::string origin;
  bool reused = false;

  tcp::socket& lowest() { return tls ? tls->next_layer() : *plain; }
  void close() {
    error_code ec;
    tcp::socket& s = lowest();
    if (s.is_open()) {
      s.shutdown(tcp::socket::shutdown_both, ec);
      s.close(ec);
    }
  }
  template <class F>
  void with_stream(F&& f) {
    if (tls)
      f(*tls);
    else
      f(*plain);
  }
};

// Runs the connection's io_context until `done` is set or `deadline` passes. On the deadline
// the socket is closed and the aborted handlers are drained. Returns false on timeout.
bool run_until(Conn& c, const bool& done, Clock::time_point deadline) {
  while (!done) {
    auto now = Clock::now();
    if (now >= deadline) {
      c.close();
      c.ioc.restart();
      c.ioc.run();
      return done;  // a handler might have completed right at the deadline
    }
    c.ioc.restart();
    c.ioc.run_one_for(deadline - now);
  }
  return true;
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

HttpError herr(HttpErrorKind kind, std::string msg) { return HttpError{kind, std::move(msg)}; }
Err<HttpError> err(HttpErrorKind kind, std::string msg) { return Err<HttpError>{herr(kind, std::move(msg))}; }
Err<HttpError> err(HttpError e) { return Err<HttpError>{std::move(e)}; }

// TLS alerts (e.g. the server refused our client certificate) are kTls, the rest kIo.
HttpErrorKind io_kind(const error_code& ec) {
  return ec.category() == asio::error::get_ssl_category() ? HttpErrorKind::kTls : HttpErrorKind::kIo;
}

bool is_stale_connection_error(const error_code& ec) {
  return ec == asio::error::eof || ec == http::error::end_of_stream ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated;
}

template <class Body>
void copy_headers(const http::response<Body>& res, HttpResponse& out) {
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
struct StreamCanceller::State {
  Mutex mu;
  bool cancelled GUARDED_BY(mu) = false;
  Conn* active GUARDED_BY(mu) = nullptr;  // the connection of the stream() in progress, if any

  // Out of line from stream()'s guard destructor, so that the analysis checks it (it skips
  // destructors).
  void unregister() EXCLUDES(mu) {
    MutexLock lock(mu);
    active = nullptr;
  }
};

StreamCanceller::StreamCanceller() : state_(std::make_shared<State>()) {}
StreamCanceller::~StreamCanceller() = default;

void StreamCanceller::cancel() {
  MutexLock lock(state_->mu);
  state_->cancelled = true;
  if (state_->active) {
    Conn* c = state_->active;
    asio::post(c->ioc, [c] { c->close(); });
  }
}

void StreamCanceller::reset() {
  MutexLock lock(state_->mu);
  state_->cancelled = false;
}

bool StreamCanceller::cancelled() const {
  MutexLock lock(state_->mu);
  return state_->cancelled;
}

// ---------------------------------------------------------------------------------------------
struct HttpClient::Impl {
  HttpClientOptions options;
  Mutex pool_mu;
  // Made by the first TLS connection; once made (or failed), never replaced.
  std::unique_ptr<asio::ssl::context> ssl_ctx GUARDED_BY(pool_mu);
  std::string ssl_ctx_error GUARDED_BY(pool_mu);
  std::map<std::string, std::deque<std::unique_ptr<Conn>>> idle GUARDED_BY(pool_mu);

  explicit Impl(HttpClientOptions o) : options(std::move(o)) {}

  // The TLS client context, made on first use; null when it could not be made (`error` then
  // says why).
  asio::ssl::context* tls_context(std::string& error) EXCLUDES(pool_mu) {
    MutexLock lock(pool_mu);
    error = ssl_ctx_error;
    if (ssl_ctx || !ssl_ctx_error.empty()) return ssl_ctx.get();
    try {
      auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
      ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3);
      const TlsOptions& t = options.tls;
      if (!t.ca_file.empty())
        ctx->load_verify_file(t.ca_file);
      else
        ctx->set_default_verify_paths();
      // Always a callback: an encrypted key without a password then fails to load instead of
      // OpenSSL asking for it on the terminal.
      ctx->set_password_callback(
          [pw = t.key_password](std::size_t, asio::ssl::context::password_purpose) { return pw; });
      if (!t.cert_file.empty()) {
        ctx->use_certificate_chain_file(t.cert_file);
        ctx->use_private_key_file(t.key_file.empty() ? t.cert_file : t.key_file, asio::ssl::context::pem);
      }
      ssl_ctx = std::move(ctx);
    } catch (const std::exception& e) {
      ssl_ctx_error = e.what();
      error = ssl_ctx_error;
    }
    return ssl_ctx.get();
  }

  std::unique_ptr<Conn> take_idle(const std::string& origin) EXCLUDES(pool_mu) {
    MutexLock lock(pool_mu);
    auto it = idle.find(origin);
    if (it == idle.end() || it->second.empty()) return nullptr;
    auto c = std::move(it->second.back());
    it->second.pop_back();
    c->reused = true;
    return c;
  }

  void give_back(std::unique_ptr<Conn> c) EXCLUDES(pool_mu) {
    MutexLock lock(pool_mu);
    auto& q = idle[c->origin];
    q.push_back(std::move(c));
    while (q.size() > options.max_idle_per_origin) q.pop_front();
  }

  // Resolves, connects and (for https) handshakes a new connection before `deadline`.
  // `register_conn` is called with the connection before any I/O (cancellation hook), and with
  // nullptr before a connection that failed to open is destroyed, so that a concurrent cancel
  // never reaches a destroyed connection.
  HttpResult<std::unique_ptr<Conn>> open(const Url& url, Clock::time_point deadline,
                                         const std::function<void(Conn*)>& register_conn = {})
      EXCLUDES(pool_mu) {
    auto c = std::make_unique<Conn>();
    c->origin = url.origin();
    c->plain.emplace(c->ioc);
    // Declared after `c`, so destroyed before it: on every early return the registration goes.
    struct Deregister {
      const std::function<void(Conn*)>& fn;
      bool keep = false;
      ~Deregister() {
        if (!keep && fn) fn(nullptr);
      }
    } deregister{register_conn};
    if (register_conn) register_conn(c.get());

    // Resolve. Asio's asynchronous resolver would start a thread per io_context (one per
    // connection here): the process's HostResolver (threads made at start-up, a deadline per
    // lookup, a short cache) answers instead; without one the lookup runs on this thread,
    // bounded by the system resolver's own timeouts. IP literals need no lookup at all.
    std::vector<tcp::endpoint> endpoints;
    if (is_ip_literal(url.host)) {
      endpoints.emplace_back(asio::ip::make_address(url.host), url.port);
    } else {
      HostResolver* resolver = HostResolver::installed();
      auto addrs = resolver ? resolver->resolve(url.host, deadline) : HostResolver::resolve_now(url.host);
      if (!addrs) {
        const bool timeout = addrs.error().rfind("timeout", 0) == 0;
        return err(timeout ? HttpErrorKind::kTimeout : HttpErrorKind::kConnect, addrs.error());
      }
      for (const auto& a : addrs.value()) {
        error_code ec;
        auto ip = asio::ip::make_address(a, ec);
        if (!ec) endpoints.emplace_back(ip, url.port);
      }
      if (endpoints.empty()) return err(HttpErrorKind::kConnect, "no address for " + url.host);
      if (Clock::now() >= deadline) return err(HttpErrorKind::kTimeout, "resolving " + url.host);
    }

    // Connect.
    {
      bool done = false;
      error_code cec;
      asio::async_connect(*c->plain, endpoints, [&](const error_code& ec, const tcp::endpoint&) {
        cec = ec;
        done = true;
      });
      if (!run_until(*c, done, deadline)) return err(HttpErrorKind::kTimeout, "connecting to " + c->origin);
      if (cec == asio::error::operation_aborted)
        return err(HttpErrorKind::kCancelled, "connecting to " + c->origin);
      if (cec) return err(HttpErrorKind::kConnect, c->origin + ": " + cec.message());
      error_code ig;
      c->plain->set_option(tcp::no_delay(true), ig);
      c->plain->set_option(asio::socket_base::keep_alive(true), ig);
      // A peer that vanished (host down, partition) ends a quiet stream (etcd watch) within
      // about 5 + 3 x 2 = 11 s instead of the kernel's two hours.
      const int fd = c->plain->native_handle();
      const int idle = 5, interval = 2, count = 3;
      ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
      ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
      ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
    }

    if (url.scheme == "https") {
      std::string ctx_error;
      asio::ssl::context* ctx = tls_context(ctx_error);
      if (!ctx) return err(HttpErrorKind::kTls, "TLS setup: " + ctx_error);
      c->tls.emplace(std::move(*c->plain), *ctx);
      c->plain.reset();
      if (!is_ip_literal(url.host)) SSL_set_tlsext_host_name(c->tls->native_handle(), url.host.c_str());
      if (options.tls.verify_peer) {
        c->tls->set_verify_mode(asio::ssl::verify_peer);
        if (options.tls.verify_host_name)
          c->tls->set_verify_callback(asio::ssl::host_name_verification(url.host));
      } else {
        c->tls->set_verify_mode(asio::ssl::verify_none);
      }
      bool done = false;
      error_code hec;
      c->tls->async_handshake(asio::ssl::stream_base::client, [&](const error_code& ec) {
        hec = ec;
        done = true;
      });
      if (!run_until(*c, done, deadline)) return err(HttpErrorKind::kTimeout, "TLS handshake with " + c->origin);
      if (hec == asio::error::operation_aborted)
        return err(HttpErrorKind::kCancelled, "TLS handshake with " + c->origin);
      if (hec) return err(hec.category() == asio::error::get_ssl_category() ? HttpErrorKind::kTls : HttpErrorKind::kIo,
                        c->origin + ": " + hec.message());
    }
    deregister.keep = true;
    return c;
  }

  http::request<http::string_body> build(const Url& url, const HttpRequest& req) {
    http::request<http::string_body> r;
    r.method_string(req.method);
    r.target(url.target);
    r.version(11);
    bool default_port = (url.scheme == "http" && url.port == 80) || (url.scheme == "https" && url.port == 443);
    std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    r.set(http::field::host, default_port ? host : host + ":" + std::to_string(url.port));
    if (!options.user_agent.empty()) r.set(http::field::user_agent, options.user_agent);
    if (options.basic_auth)
      r.set(http::field::authorization,
            "Basic " + base64_encode(options.basic_auth->first + ":" + options.basic_auth->second));
    for (const auto& [k, v] : options.headers) r.set(k, v);
    for (const auto& [k, v] : req.headers) r.set(k, v);
    if (!req.content_type.empty()) r.set(http::field::content_type, req.content_type);
    r.keep_alive(true);
    r.body() = req.body;
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH")
      r.prepare_payload();
    return r;
  }

  struct Attempt {
    bool stale = false;  // failed on a reused connection before any response byte
    HttpError error{HttpErrorKind::kIo, ""};
  };

  // One exchange on connection `c`. On success fills `out`; returns whether `c` may be reused.
  std::optional<Attempt> exchange(Conn& c, http::request<http::string_body>& r, Clock::time_point deadline,
                                  HttpResponse& out, bool& reusable) {
    bool done = false;
    error_code wec;
    c.with_stream([&](auto& s) {
      http::async_write(s, r, [&](const error_code& ec, std::size_t) {
        wec = ec;
        done = true;
      });
    });
    if (!run_until(c, done, deadline)) return Attempt{false, herr(HttpErrorKind::kTimeout, "sending request to " + c.origin)};
    if (wec) return Attempt{c.reused && is_stale_connection_error(wec), herr(io_kind(wec), c.origin + ": " + wec.message())};

    http::response_parser<http::string_body> parser;
    parser.body_limit(options.max_body_bytes);
    if (r.method() == http::verb::head) parser.skip(true);
    done = false;
    error_code rec;
    c.with_stream([&](auto& s) {
      http::async_read(s, c.buffer, parser, [&](const error_code& ec, std::size_t) {
        rec = ec;
        done = true;
      });
    });
    if (!run_until(c, done, deadline)) return Attempt{false, herr(HttpErrorKind::kTimeout, "reading response from " + c.origin)};
    if (rec == http::error::body_limit) return Attempt{false, herr(HttpErrorKind::kTooLarge, c.origin)};
    // A reply delimited by the end of the connection (Patroni's and custos's bare status lines
    // on /liveness, HEAD, OPTIONS) over TLS ends without close_notify: that is its end, as for
    // Python's ssl (suppress_ragged_eofs) that Patroni's clients use.
    if (rec == asio::ssl::error::stream_truncated && parser.is_header_done() && parser.need_eof()) {
      error_code eof_ec;
      parser.put_eof(eof_ec);
      if (!eof_ec) rec = {};
    }
    if (rec)
      return Attempt{c.reused && !parser.got_some() && is_stale_connection_error(rec),
                     herr(io_kind(rec), c.origin + ": " + rec.message())};
    auto res = parser.release();
    copy_headers(res, out);
    out.body = std::move(res.body());
    reusable = res.keep_alive() && !res.need_eof();
    return std::nullopt;
  }
};

HttpClient::HttpClient(HttpClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpClient::~HttpClient() = default;

void HttpClient::close_idle() {
  MutexLock lock(impl_->pool_mu);
  impl_->idle.clear();
}

HttpResult<HttpResponse> HttpClient::request(const HttpRequest& req, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  auto url = Url::parse(req.url);
  if (!url) return err(HttpErrorKind::kBadUrl, req.url);
  auto r = impl_->build(*url, req);
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::unique_ptr<Conn> c = attempt < 2 ? impl_->take_idle(url->origin()) : nullptr;
    if (!c) {
      auto opened = impl_->open(*url, deadline);
      if (!opened) return err(opened.error());
      c = std::move(opened).value();
    }
    HttpResponse out;
    bool reusable = false;
    auto failed = impl_->exchange(*c, r, deadline, out, reusable);
    if (!failed) {
      if (reusable) {
        c->reused = false;
        impl_->give_back(std::move(c));
      }
      return out;
    }
    if (!failed->stale) return err(failed->error);
    // A kept-alive connection the server had already closed: try again on another one.
  }
  return err(HttpErrorKind::kIo, "no usable connection to " + url->origin());
}

HttpResult<HttpResponse> HttpClient::stream(const HttpRequest& req, std::chrono::milliseconds head_timeout,
                                            std::chrono::milliseconds idle_timeout,
                                            const std::function<bool(std::string_view)>& on_data,
                                            StreamCanceller* canceller) {
  auto deadline = Clock::now() + head_timeout;
  auto url = Url::parse(req.url);
  if (!url) return err(HttpErrorKind::kBadUrl, req.url);
  std::shared_ptr<StreamCanceller::State> state = canceller ? canceller->state_ : nullptr;
  auto is_cancelled = [&] {
    if (!state) return false;
    MutexLock lock(state->mu);
    return state->cancelled;
  };
  if (is_cancelled()) return err(HttpErrorKind::kCancelled, "stream cancelled");

  std::unique_ptr<Conn> conn;
  // Deregisters the connection from the canceller before it is destroyed.
  struct Unregister {
    std::shared_ptr<StreamCanceller::State> state;
    ~Unregister() {
      if (state) state->unregister();
    }
  } unregister{state};
  bool cancelled_early = false;
  auto register_conn = [&](Conn* c) {
    if (!state) return;
    MutexLock lock(state->mu);
    state->active = c;
    cancelled_early = state->cancelled;
  };
  auto opened = impl_->open(*url, deadline, register_conn);
  if (!opened) {
    if (is_cancelled()) return err(HttpErrorKind::kCancelled, "stream cancelled");
    return err(opened.error());
  }
  conn = std::move(opened).value();
  Conn& c = *conn;
  // The canceller's registration points at the same Conn object (moved unique_ptr, same address).
  if (cancelled_early || is_cancelled()) return err(HttpErrorKind::kCancelled, "stream cancelled");

  auto r = impl_->build(*url, req);
  bool done = false;
  error_code ec1;
  c.with_stream([&](auto& s) {
    http::async_write(s, r, [&](const error_code& ec, std::size_t) {
      ec1 = ec;
      done = true;
    });
  });
  if (!run_until(c, done, deadline))
    return err(is_cancelled() ? HttpErrorKind::kCancelled : HttpErrorKind::kTimeout, "sending stream request");
  if (ec1) return err(is_cancelled() ? HttpErrorKind::kCancelled : HttpErrorKind::kIo, ec1.message());

  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  done = false;
  c.with_stream([&](auto& s) {
    http::async_read_header(s, c.buffer, parser, [&](const error_code& ec, std::size_t) {
      ec1 = ec;
      done = true;
    });
  });
  if (!run_until(c, done, deadline))
    return err(is_cancelled() ? HttpErrorKind::kCancelled : HttpErrorKind::kTimeout, "reading stream head");
  if (ec1) return err(is_cancelled() ? HttpErrorKind::kCancelled : HttpErrorKind::kIo, ec1.message());

  HttpResponse out;
  copy_headers(parser.get(), out);
  bool ok_status = out.status >= 200 && out.status < 300;
  char buf[16384];
  // Non-2xx: the body (an error description) must arrive within the head deadline.
  auto body_deadline = [&] { return ok_status ? Clock::now() + idle_timeout : deadline; };
  while (!parser.is_done()) {
    parser.get().body().data = buf;
    parser.get().body().size = sizeof buf;
    done = false;
    c.with_stream([&](auto& s) {
      http::async_read_some(s, c.buffer, parser, [&](const error_code& ec, std::size_t) {
        ec1 = ec;
        done = true;
      });
    });
    if (!run_until(c, done, body_deadline())) {
      if (is_cancelled()) return err(HttpErrorKind::kCancelled, "stream cancelled");
      return err(HttpErrorKind::kTimeout, ok_status ? "stream idle" : "reading error body");
    }
    if (ec1 == http::error::need_buffer) ec1 = {};
    std::size_t n = sizeof buf - parser.get().body().size;
    if (n > 0) {
      if (ok_status) {
        if (!on_data(std::string_view(buf, n))) return out;
      } else if (out.body.size() < impl_->options.max_body_bytes) {
        out.body.append(buf, n);
      }
    }
    if (is_cancelled()) return err(HttpErrorKind::kCancelled, "stream cancelled");
    if (ec1) {
      if (ec1 == http::error::end_of_stream || ec1 == asio::error::eof) break;
      return err(HttpErrorKind::kIo, "stream: " + ec1.message());
    }
  }
  return out;
}

}  // namespace custos::net
