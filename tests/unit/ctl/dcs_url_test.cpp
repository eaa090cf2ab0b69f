// --dcs-url parsing (ctl.md §1) as a table, and how the URL replaces the DCS section.
#include <gtest/gtest.h>

#include "ctl/dcs_url.h"

namespace custos::ctl {
namespace {

struct UrlCase {
  const char* text;
  const char* scheme;
  const char* host;
  int port;
  const char* ns;  // nullptr: no namespace
};

TEST(CtlDcsUrl, ParsesLikePatronictl) {
  const UrlCase cases[] = {
      {"", "etcd", "localhost", 2379, nullptr},
      {"etcd://:2399", "etcd", "localhost", 2399, nullptr},
      {"etcd://test", "etcd", "test", 2379, nullptr},
      {"etcd3://random.com:2399", "etcd3", "random.com", 2399, nullptr},
      {"etcd3://random.com:2399/customnamespace", "etcd3", "random.com", 2399, "/customnamespace"},
      {"etcd3://random.com:2399/", "etcd3", "random.com", 2399, nullptr},
      {"etcd3://h/ns/sub/", "etcd3", "h", 2379, "/ns/sub/"},
      {"etcd3://h/ns?x=1", "etcd3", "h", 2379, "/ns"},
      {"localhost:2379", "etcd", "localhost", 2379, nullptr},  // guessed by port
      {"zk1:2181", "zookeeper", "zk1", 2181, nullptr},
      {"c:8500", "consul", "c", 8500, nullptr},
      {"ex:8181", "exhibitor", "ex", 8181, nullptr},
      {"h:1234", "etcd", "h", 1234, nullptr},  // unknown port: etcd
      {"h", "etcd", "h", 2379, nullptr},
      {"//h:2181/ns", "zookeeper", "h", 2181, "/ns"},
      {"consul://h", "consul", "h", 8500, nullptr},
      {"zookeeper://h", "zookeeper", "h", 2181, nullptr},
      {"exhibitor://h", "exhibitor", "h", 8181, nullptr},
      {"ETCD3://Host.Example:1", "etcd3", "host.example", 1, nullptr},
      {"etcd3://user:pw@h:2380", "etcd3", "h", 2380, nullptr},
      {"etcd3://[::1]:2390", "etcd3", "::1", 2390, nullptr},
      {"etcd3://[::1]", "etcd3", "::1", 2379, nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto r = parse_dcs_url(c.text);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->scheme, c.scheme);
    EXPECT_EQ(r->host, c.host);
    EXPECT_EQ(r->port, c.port);
    if (c.ns)
      EXPECT_EQ(r->namespace_.value_or("<none>"), c.ns);
    else
      EXPECT_FALSE(r->namespace_.has_value());
  }
}

TEST(CtlDcsUrl, RejectsBadUrls) {
  auto unknown = parse_dcs_url("foo://h:1");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error(), "Unknown dcs scheme: foo");
  for (const char* bad : {"etcd3://h:abc", "etcd3://h:99999", "etcd3://h:0", "etcd3://h:-1", "etcd3://[::1",
                          "etcd3://::1:2379", "etcd3://[::1]x", "1x://h"}) {
    SCOPED_TRACE(bad);
    auto r = parse_dcs_url(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_FALSE(r.error().empty());
  }
}

TEST(CtlDcsUrl, HostPortBracketsIpv6) {
  EXPECT_EQ(host_port(*parse_dcs_url("etcd3://[::1]:2390")), "[::1]:2390");
  EXPECT_EQ(host_port(*parse_dcs_url("etcd3://h")), "h:2379");
}

TEST(CtlDcsUrl, ReplacesEveryDcsSection) {
  nlohmann::json config = {{"scope", "demo"},
                           {"namespace", "/old"},
                           {"etcd", {{"host", "a:1"}}},
                           {"etcd3", {{"hosts", "b:2"}, {"username", "u"}}},
                           {"zookeeper", {{"hosts", {"z:2181"}}}},
                           {"restapi", {{"listen", ":8008"}}}};
  auto out = apply_dcs_url(config, *parse_dcs_url("etcd3://127.0.0.1:2399/ns"));
  nlohmann::json expected = {{"scope", "demo"},
                             {"namespace", "/ns"},
                             {"etcd3", {{"host", "127.0.0.1:2399"}}},
                             {"restapi", {{"listen", ":8008"}}}};
  EXPECT_EQ(out, expected);

  // Without a path the configured namespace stays.
  out = apply_dcs_url(config, *parse_dcs_url("localhost"));
  EXPECT_EQ(out["namespace"], "/old");
  EXPECT_EQ(out["etcd"], (nlohmann::json{{"host", "localhost:2379"}}));
  EXPECT_FALSE(out.contains("etcd3"));

  EXPECT_EQ(apply_dcs_url({}, *parse_dcs_url("zookeeper://z"))["zookeeper"],
            (nlohmann::json{{"hosts", {"z:2181"}}}));
  EXPECT_EQ(apply_dcs_url({}, *parse_dcs_url("exhibitor://e")), (nlohmann::json{{"exhibitor", {{"hosts", {"e"}}, {"port", 8181}}}}));
  EXPECT_EQ(apply_dcs_url({}, *parse_dcs_url("consul://c:1")), (nlohmann::json{{"consul", {{"host", "c:1"}}}}));
}

}  // namespace
}  // namespace custos::ctl
