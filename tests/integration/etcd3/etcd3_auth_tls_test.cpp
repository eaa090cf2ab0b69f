// Etcd3Dcs against an etcd with authentication, and with TLS + client certificates.
#include <cstdlib>

#include "etcd3_test_util.h"

namespace custos::test {
namespace {

using nlohmann::json;

TEST(Etcd3Auth, UsernamePasswordGoodAndBad) {
  EtcdServerOptions o;
  o.auth = true;
  EtcdServer server(o);
  const std::string scope = unique_scope("auth");
  DcsParams p;
  p.hosts = {server.host_port()};
  p.scope = scope;
  p.name = "a";
  p.retry_timeout = 2;
  p.extra = {{"username", "root"}, {"password", o.root_password}};
  auto good = make_dcs(p);
  ASSERT_TRUE(good->touch_member(json{{"state", "running"}}));
  ASSERT_TRUE(good->attempt_to_acquire_leader());
  auto c = good->get_cluster();
  ASSERT_TRUE(c) << c.error().describe();
  ASSERT_TRUE(c->leader());
  EXPECT_EQ(c->leader()->name(), "a");
  EXPECT_TRUE(good->wait_watch_ready(5000ms)) << "the watch stream carries the token too";

  // Tokens are lost when etcd restarts ("invalid auth token"): authenticate again, once.
  auto gen = good->client().auth_generation();
  server.restart();
  ASSERT_TRUE(good->get_cluster());
  ASSERT_TRUE(good->set_config_value("{}", std::nullopt));
  EXPECT_GT(good->client().auth_generation(), gen);
  EXPECT_TRUE(good->wait_watch_ready(5000ms));

  p.name = "bad";
  p.extra = {{"username", "root"}, {"password", "wrong"}};
  auto bad = make_dcs(p);
  auto t0 = Clock::now();
  auto rc = bad->get_cluster();
  ASSERT_FALSE(rc);
  EXPECT_TRUE(rc.error().is(DcsErrorKind::kAuth)) << rc.error().describe();
  EXPECT_LE(ms_since(t0), 1000) << "a wrong password is not retried";
  auto touch = bad->touch_member(json::object());
  ASSERT_FALSE(touch);
  EXPECT_TRUE(touch.error().is(DcsErrorKind::kAuth)) << touch.error().describe();

  p.name = "anonymous";
  p.extra = json::object();
  auto anon = make_dcs(p);
  auto ra = anon->get_cluster();
  ASSERT_FALSE(ra);
  EXPECT_TRUE(ra.error().is(DcsErrorKind::kAuth)) << ra.error().describe();
}

TEST(Etcd3Tls, CaAndClientCertificate) {
  EtcdServerOptions o;
  o.tls = true;
  o.client_cert_auth = true;
  EtcdServer server(o);
  const std::string scope = unique_scope("tls");
  DcsParams p;
  p.hosts = {server.host_port()};
  p.scope = scope;
  p.name = "a";
  p.retry_timeout = 2;
  p.extra = {{"protocol", "https"}, {"cacert", server.ca_file()}, {"cert", server.client_cert_file()},
             {"key", server.client_key_file()}};
  auto a = make_dcs(p);
  ASSERT_TRUE(a->touch_member(json{{"state", "running"}}));
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  EXPECT_EQ(leader_name(*a), "a");
  EXPECT_TRUE(a->wait_watch_ready(5000ms));

  // The client key encrypted, with `key_password` (Patroni's etcd3 option).
  const std::string encrypted_key = server.client_key_file() + ".encrypted";
  const std::string cmd = "openssl pkey -in '" + server.client_key_file() + "' -aes256 -passout pass:s3cret -out '" +
                          encrypted_key + "' 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  p.name = "encryptedkey";
  p.extra = {{"protocol", "https"}, {"cacert", server.ca_file()}, {"cert", server.client_cert_file()},
             {"key", encrypted_key}, {"key_password", "s3cret"}};
  auto enc = make_dcs(p);
  auto re = enc->get_cluster();
  ASSERT_TRUE(re) << re.error().describe();
  EXPECT_EQ(re.value().leader_name(), std::optional<std::string>("a"));
  p.extra["key_password"] = "wrong";
  auto enc_wrong = make_dcs(p);
  EXPECT_FALSE(enc_wrong->get_cluster()) << "a wrong key_password must not connect";

  // No client certificate: refused, and never mistaken for a lost lock.
  p.name = "nocert";
  p.extra = {{"protocol", "https"}, {"cacert", server.ca_file()}};
  auto nocert = make_dcs(p);
  auto r = nocert->get_cluster();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(DcsErrorKind::kAuth)) << r.error().describe();
  std::printf("[ info     ] without client certificate: %s\n", r.error().describe().c_str());

  // A CA that did not sign the server certificate: kAuth.
  p.name = "wrongca";
  p.extra = {{"protocol", "https"}, {"cacert", server.client_cert_file()}, {"cert", server.client_cert_file()},
             {"key", server.client_key_file()}};
  auto wrong = make_dcs(p);
  auto w = wrong->get_cluster();
  ASSERT_FALSE(w);
  EXPECT_TRUE(w.error().is(DcsErrorKind::kAuth)) << w.error().describe();
}

}  // namespace
}  // namespace custos::test
