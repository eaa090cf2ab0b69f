#include "ctl/rest_calls.h"

#include "common/json_truth.h"

namespace custos::ctl {

namespace {

using json = nlohmann::json;

std::string string_at(const json& config, const char* section, const char* key) {
  auto s = config.find(section);
  if (s == config.end() || !s->is_object()) return "";
  auto v = s->find(key);
  return v != s->end() && v->is_string() ? v->get<std::string>() : "";
}

std::optional<std::pair<std::string, std::string>> auth_of(const json& config,
                                                           const char* section) {
  auto s = config.find(section);
  if (s == config.end() || !s->is_object()) return std::nullopt;
  auto a = s->find("authentication");
  if (a == s->end() || !a->is_object()) return std::nullopt;
  auto text = [&](const char* k) -> std::string {
    auto v = a->find(k);
    if (v == a->end() || v->is_null()) return "";
    return v->is_string() ? v->get<std::string>() : v->dump();
  };
  const std::string user = text("username"), password = text("password");
  if (user.empty() && password.empty()) return std::nullopt;
  return std::make_pair(user, password);
}

class HttpMemberApi : public MemberApi {
 public:
  explicit HttpMemberApi(net::HttpClientOptions options) : client_(std::move(options)) {}

  Result<RestReply, std::string> call(const dcs::Member& member, const std::string& method,
                                      const std::string& endpoint, const std::optional<json>& body,
                                      std::chrono::milliseconds timeout) override {
    auto api_url = member.api_url();
    if (!api_url) return Err<std::string>{"member " + member.name() + " has no api_url"};
    auto url = endpoint_url(*api_url, endpoint);
    if (!url)
      return Err<std::string>{"member " + member.name() + " has an invalid api_url: " + *api_url};
    net::HttpRequest req;
    req.method = method;
    req.url = *url;
    if (body) {
      req.body = body->dump();
      req.content_type = "application/json";
    }
    auto r = client_.request(req, timeout);
    if (!r) return Err<std::string>{r.error().describe() + " (" + *url + ")"};
    return RestReply{r->status, r->body};
  }

 private:
  net::HttpClient client_;
};

}  // namespace

net::HttpClientOptions rest_client_options(const json& config) {
  net::HttpClientOptions o;
  o.user_agent = "Patroni ctl (custosctl)";
  o.basic_auth = auth_of(config, "ctl");
  if (!o.basic_auth) o.basic_auth = auth_of(config, "restapi");
  o.tls.ca_file = string_at(config, "ctl", "cacert");
  if (o.tls.ca_file.empty()) o.tls.ca_file = string_at(config, "restapi", "cafile");
  o.tls.cert_file = string_at(config, "ctl", "certfile");
  o.tls.key_file = string_at(config, "ctl", "keyfile");
  bool insecure = false;
  if (auto c = config.find("ctl"); c != config.end() && c->is_object())
    if (auto i = c->find("insecure"); i != c->end()) insecure = python_truthy(*i);  // as patronictl
  o.tls.verify_peer = !insecure;
  return o;
}

std::optional<std::string> endpoint_url(const std::string& api_url, const std::string& endpoint) {
  auto url = net::Url::parse(api_url);
  if (!url) return std::nullopt;
  return url->origin() + "/" + endpoint;
}

std::unique_ptr<MemberApi> make_member_api(const json& config) {
  return std::make_unique<HttpMemberApi>(rest_client_options(config));
}

}  // namespace custos::ctl
