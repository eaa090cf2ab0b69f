#include "dcs/etcd3/client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <random>
#include <thread>

#include "net/base64.h"
#include "net/http_client.h"

namespace custos::dcs::etcd3 {

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

Err<EtcdError> fail(DcsErrorKind kind, std::string message, int grpc_code = -1, int http_status = 0) {
  return Err<EtcdError>{EtcdError{kind, std::move(message), grpc_code, http_status}};
}
Err<EtcdError> fail(EtcdError e) { return Err<EtcdError>{std::move(e)}; }

bool contains(const std::string& text, std::string_view needle) { return text.find(needle) != std::string::npos; }

bool auth_not_enabled(const EtcdError& e) { return contains(e.message, "authentication is not enabled"); }

// Errors after which a fresh token may help (dcs.md §5): invalid token, old auth revision,
// missing user name (no token sent), permission denied.
bool needs_reauth(const EtcdError& e) {
  return e.grpc_code == grpc::kUnauthenticated || contains(e.message, "revision of auth store is old") ||
         contains(e.message, "user name is empty") || contains(e.message, "invalid auth token") ||
         e.grpc_code == grpc::kPermissionDenied;
}

bool is_retriable(const EtcdError& e) {
  if (e.grpc_code == grpc::kUnavailable || e.grpc_code == grpc::kDeadlineExceeded) return true;
  if (e.grpc_code == grpc::kFailedPrecondition) return !auth_not_enabled(e);
  return e.grpc_code < 0 && e.kind == DcsErrorKind::kUnreachable;
}

// Errors after which another endpoint should be tried: no (usable) answer from this one.
bool is_failover_error(const EtcdError& e) {
  return (e.grpc_code < 0 && e.kind == DcsErrorKind::kUnreachable) || e.grpc_code == grpc::kUnavailable;
}

// Maps an error reply (HTTP status + JSON body, possibly garbage) to an EtcdError.
EtcdError classify_error_reply(int http_status, const std::string& body) {
  EtcdError e;
  e.http_status = http_status;
  json j = json::parse(body, nullptr, false);
  const json* err_obj = nullptr;
  if (j.is_object()) {
    auto it = j.find("error");
    if (it != j.end() && it->is_object()) err_obj = &*it;  // streaming form {"error": {grpc_code,...}}
  }
  if (err_obj) {
    if (err_obj->contains("grpc_code") && (*err_obj)["grpc_code"].is_number_integer())
      e.grpc_code = (*err_obj)["grpc_code"].get<int>();
    if (err_obj->contains("message") && (*err_obj)["message"].is_string())
      e.message = (*err_obj)["message"].get<std::string>();
    if (err_obj->contains("http_code") && (*err_obj)["http_code"].is_number_integer())
      e.http_status = (*err_obj)["http_code"].get<int>();
  } else if (j.is_object()) {
    for (const char* k : {"error", "Error", "message"}) {
      auto it = j.find(k);
      if (it != j.end() && it->is_string()) {
        e.message = it->get<std::string>();
        break;
      }
    }
    for (const char* k : {"code", "Code"}) {
      auto it = j.find(k);
      if (it != j.end() && it->is_number_integer()) {
        e.grpc_code = it->get<int>();
        break;
      }
    }
  }
  if (e.message.empty()) e.message = "HTTP " + std::to_string(http_status) + ": " + body.substr(0, 200);

  if (e.grpc_code < 0) {
    // No gRPC status: a proxy or something else answered.
    e.kind = http_status >= 500 ? DcsErrorKind::kUnreachable
             : (http_status == 401 || http_status == 403) ? DcsErrorKind::kAuth
                                                         : DcsErrorKind::kMalformedReply;
    return e;
  }
  if (contains(e.message, "authentication failed") || needs_reauth(e)) {
    e.kind = DcsErrorKind::kAuth;
  } else if (is_retriable(e)) {
    e.kind = DcsErrorKind::kUnreachable;
  } else if (e.grpc_code == grpc::kNotFound) {
    e.kind = DcsErrorKind::kUnreachable;  // lease not found: callers handle it; never "lost"
  } else {
    e.kind = DcsErrorKind::kMalformedReply;
  }
  return e;
}

EtcdError from_http_error(const net::HttpError& he, const std::string& endpoint) {
  EtcdError e;
  e.message = endpoint + ": " + he.describe();
  e.kind = he.kind == net::HttpErrorKind::kTls ? DcsErrorKind::kAuth : DcsErrorKind::kUnreachable;
  if (he.kind == net::HttpErrorKind::kTooLarge || he.kind == net::HttpErrorKind::kBadUrl)
    e.kind = DcsErrorKind::kMalformedReply;
  return e;
}

std::vector<int> parse_version(const std::string& text) {
  std::vector<int> out;
  size_t pos = 0;
  while (pos < text.size()) {
    int v = 0;
    auto [p, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), v);
    if (ec != std::errc()) break;
    out.push_back(v);
    pos = static_cast<size_t>(p - text.data());
    if (pos < text.size() && text[pos] == '.') ++pos;
    else break;
  }
  return out;
}

thread_local std::mt19937 rng{std::random_device{}()};

}  // namespace

// ---------------------------------------------------------------------------------------------

bool EtcdError::lease_not_found() const {
  return grpc_code == grpc::kNotFound && contains(message, "lease not found");
}

std::optional<int64_t> json_int64(const json& object, const char* field) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(field);
  if (it == object.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return v;
  }
  return std::nullopt;
}

std::optional<KeyValue> decode_kv(const json& kv) {
  if (!kv.is_object()) return std::nullopt;
  KeyValue out;
  auto key = kv.find("key");
  if (key == kv.end() || !key->is_string()) return std::nullopt;
  auto k = net::base64_decode(key->get<std::string>());
  if (!k) return std::nullopt;
  out.key = std::move(*k);
  auto value = kv.find("value");
  if (value != kv.end()) {
    if (!value->is_string()) return std::nullopt;
    auto v = net::base64_decode(value->get<std::string>());
    if (!v) return std::nullopt;
    out.value = std::move(*v);
  }
  out.create_revision = json_int64(kv, "create_revision").value_or(0);
  out.mod_revision = json_int64(kv, "mod_revision").value_or(0);
  out.version = json_int64(kv, "version").value_or(0);
  if (auto lease = json_int64(kv, "lease"); lease && *lease != 0) out.lease = std::to_string(*lease);
  return out;
}

std::string prefix_range_end(const std::string& prefix) {
  std::string end = prefix;
  for (size_t i = end.size(); i-- > 0;) {
    if (static_cast<unsigned char>(end[i]) < 0xff) {
      end[i] = static_cast<char>(static_cast<unsigned char>(end[i]) + 1);
      end.resize(i + 1);
      return end;
    }
  }
  return std::string(1, '\0');  // every key
}

std::vector<std::string> JsonObjectSplitter::feed(std::string_view data) {
  std::vector<std::string> out;
  buffer_.append(data);
  for (; scanned_ < buffer_.size(); ++scanned_) {
    char c = buffer_[scanned_];
    if (in_string_) {
      if (escape_) escape_ = false;
      else if (c == '\\') escape_ = true;
      else if (c == '"') in_string_ = false;
      continue;
    }
    if (c == '"') {
      if (depth_ > 0) in_string_ = true;
    } else if (c == '{') {
      if (depth_++ == 0) start_ = scanned_;
    } else if (c == '}') {
      if (depth_ > 0 && --depth_ == 0) {
        out.push_back(buffer_.substr(start_, scanned_ - start_ + 1));
        start_ = std::string::npos;
      }
    }
  }
  // Drop consumed bytes.
  if (depth_ == 0) {
    buffer_.clear();
    scanned_ = 0;
  } else if (start_ != std::string::npos && start_ > 0) {
    buffer_.erase(0, start_);
    scanned_ -= start_;
    start_ = 0;
  }
  return out;
}

void JsonObjectSplitter::reset() {
  buffer_.clear();
  depth_ = 0;
  in_string_ = escape_ = false;
  start_ = std::string::npos;
  scanned_ = 0;
}

// ---------------------------------------------------------------------------------------------

namespace {
std::unique_ptr<net::HttpClient> make_http_client(const EtcdSettings& settings) {
  net::HttpClientOptions o;
  o.tls.ca_file = settings.cacert;
  o.tls.cert_file = settings.cert;
  o.tls.key_file = settings.key;
  o.tls.key_password = settings.key_password;
  o.tls.verify_peer = settings.verify;
  o.user_agent = "custos (etcd3)";
  return std::make_unique<net::HttpClient>(o);
}
}  // namespace

Etcd3Client::Etcd3Client(const EtcdSettings& settings, std::shared_ptr<SrvResolver> resolver)
    : settings_(settings),
      ttl_(settings.timing.ttl),
      retry_timeout_(settings.timing.retry_timeout),
      http_(make_http_client(settings)),
      endpoints_(settings, std::move(resolver),
                 [this](const std::string& url) {
                   return etcd_common::fetch_peer_client_urls(
                       *http_, url, std::chrono::seconds(std::max(1, retry_timeout_.load())), "etcd3");
                 },
                 "etcd3") {}

Etcd3Client::~Etcd3Client() = default;

void Etcd3Client::set_timing(int ttl, int retry_timeout) {
  ttl_ = ttl;
  retry_timeout_ = retry_timeout;
}

std::chrono::milliseconds Etcd3Client::retry_timeout() const { return std::chrono::seconds(retry_timeout_.load()); }

std::string Etcd3Client::current_endpoint() const { return endpoints_.current(); }

std::vector<std::string> Etcd3Client::endpoints() const { return endpoints_.all(); }

void Etcd3Client::rotate_endpoint() { endpoints_.fail_over(endpoints_.current()); }

std::chrono::milliseconds Etcd3Client::per_attempt_timeout(Deadline deadline) const {
  const size_t n = std::max<size_t>(1, endpoints_.size());
  auto per = std::max<std::chrono::milliseconds>(1000ms, retry_timeout() / static_cast<int>(n));
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(1ms, std::min(per, remaining));
}

EtcdResult<json> Etcd3Client::attempt(const std::string& endpoint, const std::string& path, const json& body,
                                      Deadline deadline) {
  net::HttpRequest req;
  req.method = "POST";
  req.url = endpoint + path;
  req.body = body.dump();
  req.content_type = "application/json";
  {
    MutexLock lock(mu_);
    if (token_ && path.find("/auth/authenticate") == std::string::npos) req.headers.emplace_back("authorization", *token_);
  }
  auto r = http_->request(req, per_attempt_timeout(deadline));
  if (!r) return fail(from_http_error(r.error(), endpoint));
  const auto& res = r.value();
  if (res.status >= 400) return fail(classify_error_reply(res.status, res.body));
  json j = json::parse(res.body, nullptr, false);
  if (!j.is_object())
    return fail(DcsErrorKind::kMalformedReply, endpoint + path + ": reply is not a JSON object: " + res.body.substr(0, 200),
                -1, res.status);
  if (j.contains("error") || (j.contains("code") && j["code"].is_number_integer() && j["code"].get<int>() != 0))
    return fail(classify_error_reply(res.status, res.body));
  return j;
}

EtcdResult<Unit> Etcd3Client::ensure_version(const std::string& endpoint, Deadline deadline) {
  bool need_probe, need_auth;
  {
    MutexLock lock(mu_);
    need_probe = api_prefix_.empty();
  }
  if (need_probe) {
    net::HttpRequest req;
    req.url = endpoint + "/version";
    auto r = http_->request(req, per_attempt_timeout(deadline));
    if (!r) return fail(from_http_error(r.error(), endpoint));
    if (r->status >= 400) return fail(classify_error_reply(r->status, r->body));
    json j = json::parse(r->body, nullptr, false);
    if (!j.is_object() || !j.contains("etcdserver") || !j["etcdserver"].is_string() || !j.contains("etcdcluster") ||
        !j["etcdcluster"].is_string())
      return fail(DcsErrorKind::kMalformedReply, endpoint + "/version: unexpected reply " + r->body.substr(0, 200));
    auto server = parse_version(j["etcdserver"].get<std::string>());
    auto cluster = parse_version(j["etcdcluster"].get<std::string>());
    while (server.size() < 3) server.push_back(0);
    while (cluster.size() < 2) cluster.push_back(0);
    if (cluster < std::vector<int>{3, 0} || server < std::vector<int>{3, 0, 4})
      return fail(DcsErrorKind::kMalformedReply, "etcd version " + j["etcdserver"].get<std::string>() + " is lower than 3.0.4");
    std::string prefix = cluster < std::vector<int>{3, 3} ? "/v3alpha" : cluster < std::vector<int>{3, 4} ? "/v3beta" : "/v3";
    MutexLock lock(mu_);
    api_prefix_ = prefix;
    auth_supported_ = !(cluster < std::vector<int>{3, 3});
  }
  auto needs_token = [&] {
    MutexLock lock(mu_);
    return settings_.username && settings_.password && auth_supported_ && !token_;
  };
  need_auth = needs_token();
  if (need_auth) {
    MutexLock auth(auth_mu_);
    if (needs_token()) {  // not done by another thread meanwhile
      auto a = authenticate(endpoint, deadline);
      if (!a) return a;
    }
  }
  maybe_refresh_members(endpoint, deadline);
  return Unit{};
}

EtcdResult<Unit> Etcd3Client::authenticate(const std::string& endpoint, Deadline deadline) {
  std::string prefix;
  {
    MutexLock lock(mu_);
    prefix = api_prefix_;
    token_.reset();
  }
  json body = {{"name", settings_.username.value_or("")}, {"password", settings_.password.value_or("")}};
  auto r = attempt(endpoint, prefix + "/auth/authenticate", body, deadline);
  if (!r) {
    if (auth_not_enabled(r.error())) {
      spdlog::info("etcd3: authentication is not enabled on {}", endpoint);
      MutexLock lock(mu_);
      auth_supported_ = false;
      return Unit{};
    }
    EtcdError e = r.error();
    if (contains(e.message, "authentication failed")) e.kind = DcsErrorKind::kAuth;
    return fail(e);
  }
  const json& j = r.value();
  if (!j.contains("token") || !j["token"].is_string())
    return fail(DcsErrorKind::kMalformedReply, "auth/authenticate reply without token");
  {
    MutexLock lock(mu_);
    token_ = j["token"].get<std::string>();
  }
  ++auth_generation_;
  return Unit{};
}

void Etcd3Client::maybe_refresh_members(const std::string& endpoint, Deadline deadline) {
  if (!endpoints_.member_refresh_due(std::chrono::seconds(ttl_.load() * 10))) return;
  std::string prefix;
  {
    MutexLock lock(mu_);
    prefix = api_prefix_;
  }
  auto r = attempt(endpoint, prefix + "/cluster/member/list", json::object(), deadline);
  if (!r) {
    spdlog::debug("etcd3: member list from {} failed: {}", endpoint, r.error().message);
    return;
  }
  const json& j = r.value();
  if (j.contains("members")) endpoints_.merge_discovered(etcd_common::member_client_urls(j["members"]));
}

EtcdResult<Unit> Etcd3Client::connect(Deadline deadline) {
  auto r = call_impl("", json(), deadline, true);
  if (!r) return fail(r.error());
  return Unit{};
}

EtcdResult<json> Etcd3Client::call(const std::string& method, const json& body, Deadline deadline) {
  return call_impl(method, body, deadline, true);
}

EtcdResult<json> Etcd3Client::call_once(const std::string& method, const json& body, Deadline deadline) {
  return call_impl(method, body, deadline, false);
}

// An empty `method` only makes sure that the version is known and we are authenticated.
EtcdResult<json> Etcd3Client::call_impl(const std::string& method, const json& body, Deadline deadline, bool retry) {
  auto backoff = 100ms;
  bool reauthed = false;
  size_t fast_tries = 0;
  EtcdError last{DcsErrorKind::kUnreachable, "no attempt made before the deadline"};
  if (!endpoints_.ensure())
    return fail(DcsErrorKind::kUnreachable, "no etcd endpoint: Can not resolve SRV for " + settings_.srv);
  for (;;) {
    if (Clock::now() >= deadline) break;
    const std::string ep = current_endpoint();
    EtcdResult<json> r = json::object();
    auto ready = ensure_version(ep, deadline);
    if (!ready) {
      r = fail(ready.error());
    } else if (!method.empty()) {
      std::string prefix;
      {
        MutexLock lock(mu_);
        prefix = api_prefix_;
      }
      r = attempt(ep, prefix + method, body, deadline);
    }
    if (r) return r;
    last = r.error();
    if (needs_reauth(last) && settings_.username && !reauthed) {
      reauthed = true;
      spdlog::warn("etcd3: {} ({}), authenticating again", last.message, ep);
      auto a = authenticate(ep, deadline);
      if (a) continue;
      last = a.error();
    }
    if (!retry || !is_retriable(last)) {
      if (needs_reauth(last)) last.kind = DcsErrorKind::kAuth;
      return fail(last);
    }
    const size_t n_endpoints = endpoints_.size();
    if (is_failover_error(last)) {
      const std::string next = endpoints_.fail_over(ep);
      if (next != ep) spdlog::warn("etcd3: {}; trying {}", last.message, next);
    }
    if (is_failover_error(last) && ++fast_tries < n_endpoints) continue;  // next endpoint at once
    fast_tries = 0;
    auto remaining = deadline - Clock::now();
    if (remaining <= 0s) break;
    auto jitter = std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 50)(rng));
    auto sleep = std::min<Clock::duration>(backoff + jitter, remaining);
    std::this_thread::sleep_for(sleep);
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, 1000ms);
  }
  if (last.kind == DcsErrorKind::kUnreachable || is_retriable(last)) {
    last.kind = DcsErrorKind::kUnreachable;
    last.message = "etcd not reachable within retry_timeout: " + last.message;
  }
  return fail(last);
}

// ---------------------------------------------------------------------------------------------

namespace {
json range_request(const std::string& key, const std::optional<std::string>& range_end) {
  json j = {{"key", net::base64_encode(key)}};
  if (range_end) j["range_end"] = net::base64_encode(*range_end);
  return j;
}
}  // namespace

EtcdResult<RangeResult> Etcd3Client::range(const std::string& key, const std::optional<std::string>& range_end,
                                           bool serializable, Deadline deadline) {
  json body = range_request(key, range_end);
  body["serializable"] = serializable;
  auto r = call("/kv/range", body, deadline);
  if (!r) return fail(r.error());
  const json& j = r.value();
  RangeResult out;
  auto header = j.find("header");
  if (header == j.end() || !header->is_object() || !json_int64(*header, "revision"))
    return fail(DcsErrorKind::kMalformedReply, "kv/range reply without header.revision");
  out.revision = *json_int64(*header, "revision");
  auto kvs = j.find("kvs");
  if (kvs != j.end()) {
    if (!kvs->is_array()) return fail(DcsErrorKind::kMalformedReply, "kv/range: kvs is not a list");
    for (const auto& kv : *kvs) {
      auto d = decode_kv(kv);
      if (!d) return fail(DcsErrorKind::kMalformedReply, "kv/range: malformed kv");
      out.kvs.push_back(std::move(*d));
    }
  }
  return out;
}

EtcdResult<int64_t> Etcd3Client::put(const std::string& key, const std::string& value, const std::string& lease,
                                     Deadline deadline) {
  json body = {{"key", net::base64_encode(key)}, {"value", net::base64_encode(value)}};
  if (!lease.empty()) body["lease"] = lease;
  auto r = call("/kv/put", body, deadline);
  if (!r) return fail(r.error());
  auto header = r->find("header");
  auto rev = header != r->end() ? json_int64(*header, "revision") : std::nullopt;
  if (!rev) return fail(DcsErrorKind::kMalformedReply, "kv/put reply without header.revision");
  return *rev;
}

EtcdResult<json> Etcd3Client::txn(const json& body, Deadline deadline) {
  auto r = call("/kv/txn", body, deadline);
  if (!r) return r;
  auto header = r->find("header");
  if (header == r->end() || !json_int64(*header, "revision"))
    return fail(DcsErrorKind::kMalformedReply, "kv/txn reply without header.revision");
  return r;
}

EtcdResult<int64_t> Etcd3Client::delete_range(const std::string& key, const std::optional<std::string>& range_end,
                                              Deadline deadline) {
  auto r = call("/kv/deleterange", range_request(key, range_end), deadline);
  if (!r) return fail(r.error());
  auto header = r->find("header");
  auto rev = header != r->end() ? json_int64(*header, "revision") : std::nullopt;
  if (!rev) return fail(DcsErrorKind::kMalformedReply, "kv/deleterange reply without header.revision");
  return *rev;
}

EtcdResult<std::string> Etcd3Client::lease_grant(int ttl, Deadline deadline) {
  auto r = call("/lease/grant", json{{"TTL", ttl}}, deadline);
  if (!r) return fail(r.error());
  auto id = json_int64(r.value(), "ID");
  if (!id || *id == 0) return fail(DcsErrorKind::kMalformedReply, "lease/grant reply without ID");
  return std::to_string(*id);
}

EtcdResult<int64_t> Etcd3Client::lease_keepalive(const std::string& id, Deadline deadline) {
  auto r = call("/lease/keepalive", json{{"ID", id}}, deadline);
  if (!r) {
    if (r.error().lease_not_found()) return int64_t{0};
    return fail(r.error());
  }
  auto result = r->find("result");
  if (result == r->end() || !result->is_object())
    return fail(DcsErrorKind::kMalformedReply, "lease/keepalive reply without result");
  return json_int64(*result, "TTL").value_or(0);
}

EtcdResult<Unit> Etcd3Client::lease_revoke(const std::string& id, Deadline deadline) {
  auto r = call("/lease/revoke", json{{"ID", id}}, deadline);
  if (!r && !r.error().lease_not_found()) return fail(r.error());
  return Unit{};
}

EtcdResult<Unit> Etcd3Client::watch(const json& create_request, const std::function<bool(const json&)>& on_message,
                                    net::StreamCanceller& canceller, std::chrono::milliseconds idle_timeout,
                                    Deadline head_deadline) {
  const std::string ep = current_endpoint();
  auto ready = ensure_version(ep, head_deadline);
  if (!ready) return fail(ready.error());
  net::HttpRequest req;
  req.method = "POST";
  std::string prefix;
  {
    MutexLock lock(mu_);
    prefix = api_prefix_;
    if (token_) req.headers.emplace_back("authorization", *token_);
  }
  req.url = ep + prefix + "/watch";
  req.body = json{{"create_request", create_request}}.dump();
  req.content_type = "application/json";

  JsonObjectSplitter splitter;
  std::optional<EtcdError> stream_error;
  auto on_data = [&](std::string_view data) {
    for (const auto& text : splitter.feed(data)) {
      json j = json::parse(text, nullptr, false);
      if (!j.is_object()) {
        stream_error = EtcdError{DcsErrorKind::kMalformedReply, "watch: unparsable message"};
        return false;
      }
      if (j.contains("error")) {
        stream_error = classify_error_reply(200, text);
        return false;
      }
      auto result = j.find("result");
      if (result == j.end() || !result->is_object()) continue;
      if (!on_message(*result)) return false;
    }
    return true;
  };
  auto head = std::max(1ms, std::chrono::duration_cast<std::chrono::milliseconds>(head_deadline - Clock::now()));
  auto r = http_->stream(req, head, idle_timeout, on_data, &canceller);
  if (stream_error) return fail(*stream_error);
  if (!r) {
    if (r.error().kind == net::HttpErrorKind::kCancelled) return fail(DcsErrorKind::kUnreachable, "watch cancelled");
    return fail(from_http_error(r.error(), ep));
  }
  if (r->status >= 400) return fail(classify_error_reply(r->status, r->body));
  return Unit{};
}

}  // namespace custos::dcs::etcd3
