#include "dcs/etcd/etcd2_client.h"

#include <algorithm>
#include <charconv>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "net/http_client.h"

namespace custos::dcs::etcd2 {

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr int kMaxDepth = 16;  // the cluster layout is 3 levels deep; anything deeper is garbage

Err<Etcd2Error> fail(DcsErrorKind kind, std::string message, int error_code = -1, int http_status = 0) {
  return Err<Etcd2Error>{Etcd2Error{kind, std::move(message), error_code, http_status}};
}

// Errors after which another attempt (or endpoint) may succeed.
bool is_retriable(const Etcd2Error& e) {
  if (e.error_code == code::kRaftInternal || e.error_code == code::kLeaderElect) return true;
  return e.error_code < 0 && e.kind == DcsErrorKind::kUnreachable;
}

// Errors after which another endpoint should be tried: no usable answer from this one.
bool is_failover_error(const Etcd2Error& e) { return e.error_code < 0 && e.kind == DcsErrorKind::kUnreachable; }

std::optional<int64_t> int_field(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  return std::nullopt;
}

int64_t etcd_index_of(const net::HttpResponse& res) {
  auto h = res.header("X-Etcd-Index");
  if (!h) return 0;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(h->data(), h->data() + h->size(), v);
  return ec == std::errc() ? v : 0;
}

// An etcd error reply (or something else with an error status) as an Etcd2Error.
Etcd2Error classify_error_reply(const std::string& endpoint, int http_status, const std::string& body) {
  Etcd2Error e;
  e.http_status = http_status;
  const json j = json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (auto c = int_field(j, "errorCode")) e.error_code = static_cast<int>(*c);
    auto m = j.find("message");
    if (m != j.end() && m->is_string()) e.message = m->get<std::string>();
    auto cause = j.find("cause");
    if (cause != j.end() && cause->is_string() && !cause->get<std::string>().empty())
      e.message += " (" + cause->get<std::string>() + ")";
  }
  if (e.message.empty()) e.message = "HTTP " + std::to_string(http_status) + ": " + body.substr(0, 200);
  e.message = endpoint + ": " + e.message;
  if (e.error_code == code::kUnauthorized || http_status == 401 || http_status == 403)
    e.kind = DcsErrorKind::kAuth;
  else if (e.error_code == code::kRaftInternal || e.error_code == code::kLeaderElect || http_status >= 500)
    e.kind = DcsErrorKind::kUnreachable;
  else if (e.error_code == code::kTestFailed || e.error_code == code::kNodeExist)
    e.kind = DcsErrorKind::kCasConflict;  // callers of lock operations say who holds it
  else
    e.kind = DcsErrorKind::kMalformedReply;
  return e;
}

Etcd2Error from_http_error(const net::HttpError& he, const std::string& endpoint) {
  Etcd2Error e;
  e.message = endpoint + ": " + he.describe();
  e.kind = he.kind == net::HttpErrorKind::kTls ? DcsErrorKind::kAuth : DcsErrorKind::kUnreachable;
  if (he.kind == net::HttpErrorKind::kTooLarge || he.kind == net::HttpErrorKind::kBadUrl)
    e.kind = DcsErrorKind::kMalformedReply;
  return e;
}

std::string encode_params(const Params& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += form_escape(k) + "=" + form_escape(v);
  }
  return out;
}

// /v2/keys + the key, each character outside the unreserved set and '/' percent-encoded.
std::string key_path(const std::string& key) {
  std::string out = "/v2/keys";
  if (key.empty() || key.front() != '/') out += '/';
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// A 2xx reply body: {"action": ..., "node": {...}, "prevNode"?: {...}}.
Etcd2Result<Etcd2Reply> decode_reply(const std::string& endpoint, const net::HttpResponse& res) {
  const json j = json::parse(res.body, nullptr, false);
  if (!j.is_object())
    return fail(DcsErrorKind::kMalformedReply, endpoint + ": reply is not a JSON object: " + res.body.substr(0, 200), -1,
                res.status);
  Etcd2Reply reply;
  reply.etcd_index = etcd_index_of(res);
  auto a = j.find("action");
  if (a != j.end() && a->is_string()) reply.action = a->get<std::string>();
  auto n = j.find("node");
  if (n != j.end()) {
    reply.node = decode_node(*n);
    if (!reply.node)
      return fail(DcsErrorKind::kMalformedReply, endpoint + ": malformed node in reply: " + res.body.substr(0, 200), -1,
                  res.status);
  }
  return reply;
}

thread_local std::mt19937 rng{std::random_device{}()};

}  // namespace

std::optional<Etcd2Node> decode_node(const json& node, int depth) {
  if (!node.is_object() || depth > kMaxDepth) return std::nullopt;
  Etcd2Node out;
  auto k = node.find("key");
  if (k != node.end()) {
    if (!k->is_string()) return std::nullopt;
    out.key = k->get<std::string>();
  }
  auto d = node.find("dir");
  out.dir = d != node.end() && d->is_boolean() && d->get<bool>();
  auto v = node.find("value");
  if (v != node.end() && v->is_string()) out.value = v->get<std::string>();
  out.modified_index = int_field(node, "modifiedIndex").value_or(0);
  out.created_index = int_field(node, "createdIndex").value_or(0);
  out.ttl = int_field(node, "ttl");
  auto children = node.find("nodes");
  if (children != node.end() && children->is_array()) {
    for (const auto& c : *children) {
      auto child = decode_node(c, depth + 1);
      if (!child) return std::nullopt;
      out.nodes.push_back(std::move(*child));
    }
  }
  return out;
}

std::string form_escape(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

Etcd2Client::Etcd2Client(const etcd_common::EtcdSettings& settings,
                         std::shared_ptr<etcd_common::SrvResolver> resolver)
    : settings_(settings),
      ttl_(settings.timing.ttl),
      retry_timeout_(settings.timing.retry_timeout),
      http_([&] {
        net::HttpClientOptions o;
        o.tls.ca_file = settings.cacert;
        o.tls.cert_file = settings.cert;
        o.tls.key_file = settings.key;
        o.tls.key_password = settings.key_password;
        o.tls.verify_peer = settings.verify;
        if (settings.username) o.basic_auth = std::make_pair(*settings.username, settings.password.value_or(""));
        o.user_agent = "custos (etcd v2)";
        return std::make_unique<net::HttpClient>(o);
      }()),
      endpoints_(settings, std::move(resolver),
                 [this](const std::string& url) {
                   return etcd_common::fetch_peer_client_urls(
                       *http_, url, std::chrono::seconds(std::max(1, retry_timeout_.load())), "etcd");
                 },
                 "etcd") {}

Etcd2Client::~Etcd2Client() = default;

void Etcd2Client::set_timing(int ttl, int retry_timeout) {
  ttl_ = ttl;
  retry_timeout_ = retry_timeout;
}

Deadline Etcd2Client::deadline_from_now() const { return Clock::now() + std::chrono::seconds(retry_timeout_.load()); }

std::chrono::milliseconds Etcd2Client::per_attempt_timeout(Deadline deadline) const {
  const auto n = static_cast<int>(std::max<std::size_t>(1, endpoints_.size()));
  auto per = std::max<std::chrono::milliseconds>(1000ms, std::chrono::seconds(retry_timeout_.load()) / n);
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(1ms, std::min(per, remaining));
}

Etcd2Result<Etcd2Reply> Etcd2Client::attempt(const std::string& endpoint, const std::string& method,
                                             const std::string& key, const Params& params, Deadline deadline) {
  net::HttpRequest req;
  req.method = method;
  req.url = endpoint + key_path(key);
  const std::string encoded = encode_params(params);
  if (method == "PUT" || method == "POST") {
    req.body = encoded;
    req.content_type = "application/x-www-form-urlencoded";
  } else if (!encoded.empty()) {
    req.url += "?" + encoded;
  }
  auto r = http_->request(req, per_attempt_timeout(deadline));
  if (!r) return Err<Etcd2Error>{from_http_error(r.error(), endpoint)};
  if (r->status >= 300) {
    Etcd2Error e = classify_error_reply(endpoint, r->status, r->body);
    e.etcd_index = etcd_index_of(r.value());
    return Err<Etcd2Error>{e};
  }
  return decode_reply(endpoint, r.value());
}

// The member list (GET /v2/machines: "http://a:2379, http://b:2379") every ttl * 10 s.
void Etcd2Client::maybe_refresh_machines(const std::string& endpoint, Deadline deadline) {
  if (!endpoints_.member_refresh_due(std::chrono::seconds(ttl_.load() * 10))) return;
  net::HttpRequest req;
  req.url = endpoint + "/v2/machines";
  auto r = http_->request(req, per_attempt_timeout(deadline));
  if (!r || r->status != 200) {
    spdlog::debug("etcd: machine list from {} failed: {}", endpoint,
                  r ? "HTTP " + std::to_string(r->status) : r.error().describe());
    return;
  }
  std::vector<std::string> urls;
  std::size_t start = 0;
  const std::string& text = r->body;
  while (start < text.size()) {
    std::size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    item.erase(0, item.find_first_not_of(" \t\r\n"));
    item.erase(item.find_last_not_of(" \t\r\n") + 1);
    if (!item.empty()) urls.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  endpoints_.merge_discovered(urls);
}

Etcd2Result<Etcd2Reply> Etcd2Client::call(const std::string& method, const std::string& key, const Params& params,
                                          Deadline deadline) {
  auto backoff = 100ms;
  std::size_t fast_tries = 0;
  Etcd2Error last{DcsErrorKind::kUnreachable, "no attempt made before the deadline"};
  if (!endpoints_.ensure())
    return fail(DcsErrorKind::kUnreachable, "no etcd endpoint: Can not resolve SRV for " + settings_.srv);
  while (Clock::now() < deadline) {
    const std::string ep = endpoints_.current();
    maybe_refresh_machines(ep, deadline);
    auto r = attempt(ep, method, key, params, deadline);
    if (r) return r;
    last = r.error();
    if (!is_retriable(last)) return Err<Etcd2Error>{last};
    if (is_failover_error(last)) {
      const std::string next = endpoints_.fail_over(ep);
      if (next != ep) spdlog::warn("etcd: {}; trying {}", last.message, next);
      if (++fast_tries < endpoints_.size()) continue;  // the next endpoint at once
    }
    fast_tries = 0;
    const auto remaining = deadline - Clock::now();
    if (remaining <= 0s) break;
    const auto jitter = std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 50)(rng));
    std::this_thread::sleep_for(std::min<Clock::duration>(backoff + jitter, remaining));
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, 1000ms);
  }
  last.kind = DcsErrorKind::kUnreachable;
  last.message = "etcd not reachable within retry_timeout: " + last.message;
  return Err<Etcd2Error>{last};
}

Etcd2Result<std::optional<Etcd2Reply>> Etcd2Client::wait(const std::string& key, int64_t index,
                                                         std::chrono::milliseconds timeout,
                                                         net::StreamCanceller& canceller) {
  const std::string ep = endpoints_.current();
  if (ep.empty()) return fail(DcsErrorKind::kUnreachable, "no etcd endpoint");
  net::HttpRequest req;
  req.url = ep + key_path(key) + "?wait=true&waitIndex=" + std::to_string(index);
  std::string body;
  const auto head_timeout = std::min<std::chrono::milliseconds>(timeout, per_attempt_timeout(deadline_from_now()));
  auto r = http_->stream(
      req, std::max(1ms, head_timeout), std::max(1ms, timeout),
      [&](std::string_view data) {
        body.append(data);
        return body.size() < (1u << 20);
      },
      &canceller);
  if (!r) {
    if (r.error().kind == net::HttpErrorKind::kTimeout) return std::optional<Etcd2Reply>{};
    if (r.error().kind == net::HttpErrorKind::kCancelled) return fail(DcsErrorKind::kUnreachable, "cancelled");
    Etcd2Error e = from_http_error(r.error(), ep);
    endpoints_.fail_over(ep);
    return Err<Etcd2Error>{e};
  }
  net::HttpResponse res = std::move(r).value();
  if (res.status >= 300) return Err<Etcd2Error>{classify_error_reply(ep, res.status, res.body)};
  res.body = std::move(body);
  if (res.body.find_first_not_of(" \r\n") == std::string::npos) return std::optional<Etcd2Reply>{};  // ended empty
  auto reply = decode_reply(ep, res);
  if (!reply) return Err<Etcd2Error>{reply.error()};
  return std::optional<Etcd2Reply>{std::move(reply).value()};
}

}  // namespace custos::dcs::etcd2
