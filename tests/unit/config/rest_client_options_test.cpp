// The REST client settings an agent and custosctl use towards members, as Patroni's request
// helper derives them: ctl first, then restapi; a client certificate keeps verification on.
#include "config/rest_client_options.h"

#include <gtest/gtest.h>

namespace custos::config {
namespace {

using nlohmann::json;

TEST(RestClientOptions, CtlSettingsWin) {
  auto o = rest_client_options(json::parse(R"({
    "ctl": {"authentication": {"username": "u1", "password": "p1"}, "cacert": "/ca1", "certfile": "/c1",
            "keyfile": "/k1", "keyfile_password": "pw1"},
    "restapi": {"authentication": {"username": "u2", "password": "p2"}, "cafile": "/ca2", "certfile": "/c2",
                "keyfile": "/k2", "keyfile_password": "pw2"}})"),
                               "agent");
  ASSERT_TRUE(o.basic_auth);
  EXPECT_EQ(o.basic_auth->first, "u1");
  EXPECT_EQ(o.basic_auth->second, "p1");
  EXPECT_EQ(o.tls.ca_file, "/ca1");
  EXPECT_EQ(o.tls.cert_file, "/c1");
  EXPECT_EQ(o.tls.key_file, "/k1");
  EXPECT_EQ(o.tls.key_password, "pw1");
  EXPECT_TRUE(o.tls.verify_peer);
  EXPECT_TRUE(o.tls.verify_host_name);
  EXPECT_EQ(o.user_agent, "agent");
}

// An agent without a ctl section presents its REST server's certificate and key to the other
// members (which may demand a client certificate) and sends the REST API's credentials.
TEST(RestClientOptions, RestapiSettingsAreTheFallback) {
  auto o = rest_client_options(json::parse(R"({
    "ctl": {"certfile": ""},
    "restapi": {"authentication": {"username": "u2", "password": "p2"}, "cafile": "/ca2", "certfile": "/c2",
                "keyfile": "/k2", "keyfile_password": "pw2", "verify_client": "required"}})"),
                               "agent");
  ASSERT_TRUE(o.basic_auth);
  EXPECT_EQ(o.basic_auth->first, "u2");
  EXPECT_EQ(o.tls.ca_file, "/ca2");
  EXPECT_EQ(o.tls.cert_file, "/c2");
  EXPECT_EQ(o.tls.key_file, "/k2");
  EXPECT_EQ(o.tls.key_password, "pw2");
}

TEST(RestClientOptions, InsecureWithoutACertificateVerifiesNothing) {
  auto o = rest_client_options(json::parse(R"({"ctl": {"insecure": true}})"), "x");
  EXPECT_FALSE(o.tls.verify_peer);
  EXPECT_TRUE(o.tls.key_file.empty());
  auto none = rest_client_options(json::object(), "x");
  EXPECT_TRUE(none.tls.verify_peer);
  EXPECT_FALSE(none.basic_auth);
}

TEST(RestClientOptions, InsecureWithACertificateStillVerifiesTheChain) {
  auto o = rest_client_options(json::parse(R"({"ctl": {"insecure": "yes", "certfile": "/c"}})"), "x");
  EXPECT_TRUE(o.tls.verify_peer);
  EXPECT_FALSE(o.tls.verify_host_name);
  EXPECT_TRUE(o.tls.key_file.empty());  // the key is read from the certificate file
}

}  // namespace
}  // namespace custos::config
