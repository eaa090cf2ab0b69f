// Etcd3Dcs against an etcd with authentication, and with TLS + client certificates.
#include <cstdlib>

#include "dcs/etcd3/client.h"
#include "dcs/etcd_common/srv_discovery.h"
#include "dns_srv_server.h"
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

// DNS SRV discovery against the real resolver library (a DNS server of the test's own on
// 127.0.0.1) and a real etcd: the client finds its endpoint through `_etcd-client._tcp.<srv>`.
TEST(Etcd3Srv, EndpointsComeFromSrvRecords) {
  EtcdServer server(EtcdServerOptions{});
  DnsSrvServer dns;
  const std::string host_port = server.host_port();
  const int etcd_port = std::stoi(host_port.substr(host_port.rfind(':') + 1));
  dns.set("_etcd-client._tcp.custos.test", {{"127.0.0.1", etcd_port}});
  auto resolver = std::make_shared<dcs::etcd_common::DnsSrvResolver>("127.0.0.1", dns.port());
  EXPECT_EQ(resolver->lookup("_etcd-client._tcp.custos.test"),
            (std::vector<dcs::etcd_common::SrvTarget>{{"127.0.0.1", etcd_port}}));
  EXPECT_TRUE(resolver->lookup("_etcd-client-ssl._tcp.custos.test").empty());

  auto settings = dcs::etcd_common::EtcdSettings::from_section(
      json{{"scope", unique_scope("srv")}, {"name", "a"}, {"srv", "custos.test"}, {"retry_timeout", 2}});
  ASSERT_TRUE(settings) << settings.error();
  dcs::etcd3::Etcd3Client client(settings.value(), resolver);
  EXPECT_EQ(client.endpoints(), (std::vector<std::string>{"http://127.0.0.1:" + std::to_string(etcd_port)}));
  auto put = client.put("/srv-test", "v", "", client.deadline_from_now());
  ASSERT_TRUE(put) << put.error().message;

  // Nothing behind the name: no endpoint, a clear error, and no 127.0.0.1 default.
  auto nothing = dcs::etcd_common::EtcdSettings::from_section(
      json{{"scope", "s"}, {"name", "a"}, {"srv", "nothing.test"}, {"retry_timeout", 1}});
  ASSERT_TRUE(nothing);
  dcs::etcd3::Etcd3Client none(nothing.value(), resolver);
  EXPECT_TRUE(none.endpoints().empty());
  auto r = none.put("/srv-test", "v", "", none.deadline_from_now());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("Can not resolve SRV for nothing.test"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace custos::test
