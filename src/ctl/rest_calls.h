// Calls from custosctl to the members' REST API (ctl.md §2): the member's api_url with the path
// replaced by the endpoint, JSON bodies, Basic auth and TLS as config/rest_client_options.h
// reads them (ctl first, then restapi, as patronictl). MemberApi is the seam the commands use, so that
// tests can stand in for members.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/result.h"
#include "dcs/member.h"
#include "net/http_client.h"

namespace custos::ctl {

struct RestReply {
  int status = 0;
  std::string body;
};

class MemberApi {
 public:
  virtual ~MemberApi() = default;
  // method: "GET", "POST", "PATCH", "DELETE"; endpoint without a leading '/' ("switchover");
  // body sent as JSON when given. Errors: no api_url, bad URL, connection/TLS/timeout failure.
  virtual Result<RestReply, std::string> call(const dcs::Member& member, const std::string& method,
                                              const std::string& endpoint,
                                              const std::optional<nlohmann::json>& body,
                                              std::chrono::milliseconds timeout) = 0;
};

// The HTTP options derived from the ctl configuration (auth, TLS, -k).
net::HttpClientOptions rest_client_options(const nlohmann::json& config);

// The URL of `endpoint` on the member: api_url's scheme://host:port + "/" + endpoint.
std::optional<std::string> endpoint_url(const std::string& api_url, const std::string& endpoint);

// The real implementation over net::HttpClient.
std::unique_ptr<MemberApi> make_member_api(const nlohmann::json& config);

}  // namespace custos::ctl
