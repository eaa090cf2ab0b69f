// How custosctl reaches members' REST APIs: endpoint URLs from api_url, Basic auth and TLS
// options from the ctl / restapi sections, -k.
#include "ctl/rest_calls.h"

#include <gtest/gtest.h>

namespace custos::ctl {
namespace {

using json = nlohmann::json;

TEST(CtlRestCalls, EndpointReplacesThePath) {
  EXPECT_EQ(endpoint_url("http://10.0.0.1:8008/patroni", "switchover").value_or(""),
            "http://10.0.0.1:8008/switchover");
  EXPECT_EQ(endpoint_url("https://[::1]:8443/patroni", "config").value_or(""),
            "https://[::1]:8443/config");
  EXPECT_FALSE(endpoint_url("not a url", "config"));
}

TEST(CtlRestCalls, CtlSectionWins) {
  auto o = rest_client_options(json::parse(R"({
    "ctl": {"authentication": {"username": "u1", "password": "p1"}, "cacert": "/ca1", "certfile": "/c", "keyfile": "/k",
            "insecure": false},
    "restapi": {"authentication": {"username": "u2", "password": "p2"}, "cafile": "/ca2"}})"));
  ASSERT_TRUE(o.basic_auth);
  EXPECT_EQ(o.basic_auth->first, "u1");
  EXPECT_EQ(o.basic_auth->second, "p1");
  EXPECT_EQ(o.tls.ca_file, "/ca1");
  EXPECT_EQ(o.tls.cert_file, "/c");
  EXPECT_EQ(o.tls.key_file, "/k");
  EXPECT_TRUE(o.tls.verify_peer);
}

TEST(CtlRestCalls, RestapiFallbackAndInsecure) {
  auto o = rest_client_options(json::parse(R"({
    "ctl": {"insecure": true},
    "restapi": {"authentication": {"username": "u2", "password": "p2"}, "cafile": "/ca2"}})"));
  ASSERT_TRUE(o.basic_auth);
  EXPECT_EQ(o.basic_auth->first, "u2");
  EXPECT_EQ(o.tls.ca_file, "/ca2");
  EXPECT_FALSE(o.tls.verify_peer);
  auto none = rest_client_options(json::object());
  EXPECT_FALSE(none.basic_auth);
  EXPECT_TRUE(none.tls.verify_peer);
}

TEST(CtlRestCalls, MemberWithoutApiUrl) {
  auto api = make_member_api(json::object());
  dcs::Member m("x", 1, std::nullopt, json::object());
  auto r = api->call(m, "GET", "patroni", std::nullopt, std::chrono::seconds(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "member x has no api_url");
}

// patronictl tests ctl.insecure for truthiness: a quoted "false" disables verification too.
TEST(CtlRestCalls, InsecureIsTruthiness) {
  for (const char* v : {R"("false")", R"("yes")", "1", "[0]"})
    EXPECT_FALSE(rest_client_options(json::parse(std::string(R"({"ctl": {"insecure": )") + v + "}}")).tls.verify_peer)
        << v;
  for (const char* v : {R"("")", "0", "null", "false", "{}"})
    EXPECT_TRUE(rest_client_options(json::parse(std::string(R"({"ctl": {"insecure": )") + v + "}}")).tls.verify_peer)
        << v;
}

}  // namespace
}  // namespace custos::ctl
