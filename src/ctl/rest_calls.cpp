#include "ctl/rest_calls.h"

#include "config/rest_client_options.h"

namespace custos::ctl {

namespace {

using json = nlohmann::json;

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
  return config::rest_client_options(config, "Patroni ctl (custosctl)");
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
