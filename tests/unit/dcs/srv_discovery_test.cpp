// DNS SRV discovery of etcd endpoints (etcd3/srv_discovery.h) with a resolver that answers from
// a table, and the `srv` settings as Patroni reads them.
#include <gtest/gtest.h>

#include <map>

#include "dcs/etcd_common/endpoint_list.h"
#include "dcs/etcd_common/etcd_settings.h"
#include "dcs/etcd_common/srv_discovery.h"

namespace custos::dcs::etcd_common {
namespace {

using nlohmann::json;

class TableResolver final : public SrvResolver {
 public:
  std::map<std::string, std::vector<SrvTarget>> table;
  std::vector<std::string> asked;
  std::vector<SrvTarget> lookup(const std::string& name) override {
    asked.push_back(name);
    auto it = table.find(name);
    return it == table.end() ? std::vector<SrvTarget>{} : it->second;
  }
};

TEST(SrvDiscovery, TriesPatronisRecordSetsInOrderAndTheFirstThatAnswersWins) {
  TableResolver r;
  r.table["_etcd-client._tcp.example.test"] = {{"e1.example.test", 2379}, {"e2.example.test", 2379}};
  r.table["_etcd-server._tcp.example.test"] = {{"p1.example.test", 2380}};
  EXPECT_EQ(discover_etcd_endpoints("example.test", "", r, nullptr),
            (std::vector<std::string>{"http://e1.example.test:2379", "http://e2.example.test:2379"}));
  EXPECT_EQ(r.asked, (std::vector<std::string>{"_etcd-client-ssl._tcp.example.test", "_etcd-client._tcp.example.test"}));

  TableResolver ssl;
  ssl.table["_etcd-client-ssl._tcp.example.test"] = {{"e1.example.test", 2379}};
  ssl.table["_etcd-client._tcp.example.test"] = {{"plain.example.test", 2379}};
  EXPECT_EQ(discover_etcd_endpoints("example.test", "", ssl, nullptr),
            (std::vector<std::string>{"https://e1.example.test:2379"}));
}

TEST(SrvDiscovery, SuffixIsAppendedToEveryRecordSet) {
  TableResolver r;
  r.table["_etcd-ssl-blue._tcp.example.test"] = {{"10.0.0.1", 2379}};
  EXPECT_EQ(discover_etcd_endpoints("example.test", "blue", r, nullptr),
            (std::vector<std::string>{"https://10.0.0.1:2379"}));
  EXPECT_EQ(r.asked.front(), "_etcd-client-ssl-blue._tcp.example.test");
}

TEST(SrvDiscovery, PeerRecordsAreAskedForTheirMembersClientUrls) {
  TableResolver r;
  r.table["_etcd-server-ssl._tcp.example.test"] = {{"dead.example.test", 2380}, {"p2.example.test", 2380}};
  std::vector<std::string> asked;
  auto members = [&](const std::string& url) -> std::vector<std::string> {
    asked.push_back(url);
    if (url.find("dead") != std::string::npos) return {};
    return {"https://10.0.0.2:2379/", "https://10.0.0.3:2379", "https://10.0.0.2:2379"};
  };
  EXPECT_EQ(discover_etcd_endpoints("example.test", "", r, members),
            (std::vector<std::string>{"https://10.0.0.2:2379", "https://10.0.0.3:2379"}));
  EXPECT_EQ(asked, (std::vector<std::string>{"https://dead.example.test:2380/members",
                                             "https://p2.example.test:2380/members"}));
}

TEST(SrvDiscovery, MemberClientUrlsTakeTheStringsOfWellFormedMembersOnly) {
  // Both a peer's /members and the v3 member list: members written by others may be odd.
  const json members = json::parse(R"([
    {"name": "a", "clientURLs": ["https://a:2379", "https://a2:2379"]},
    {"name": "b", "clientURLs": "https://b:2379"},
    {"name": "c", "clientURLs": [7, null, "https://c:2379"]},
    "d", null, {"name": "e"}
  ])");
  EXPECT_EQ(member_client_urls(members),
            (std::vector<std::string>{"https://a:2379", "https://a2:2379", "https://c:2379"}));
  EXPECT_TRUE(member_client_urls(json::object()).empty());
  EXPECT_TRUE(member_client_urls(json::parse("\"x\"")).empty());
  EXPECT_TRUE(member_client_urls(json::value_t::discarded).empty());
}

TEST(SrvDiscovery, NothingFoundIsEmpty) {
  TableResolver r;
  EXPECT_TRUE(discover_etcd_endpoints("example.test", "", r, nullptr).empty());
  EXPECT_EQ(r.asked.size(), 6u);
}

TEST(SrvSettings, SrvAndItsAliasesAreReadAndHostsStayTheFallback) {
  auto s = EtcdSettings::from_section(json{{"scope", "demo"}, {"name", "n1"}, {"srv", "example.test"}});
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s.value().srv, "example.test");
  EXPECT_TRUE(s.value().endpoints.empty());  // no 127.0.0.1 default behind an SRV name
  for (const char* alias : {"discovery_srv", "srv_domain"}) {
    auto a = EtcdSettings::from_section(json{{"scope", "demo"}, {"name", "n1"}, {alias, "example.test"},
                                              {"srv_suffix", "blue"}});
    ASSERT_TRUE(a) << alias << ": " << a.error();
    EXPECT_EQ(a.value().srv, "example.test") << alias;
    EXPECT_EQ(a.value().srv_suffix, "blue");
  }
  auto both = EtcdSettings::from_section(
      json{{"scope", "demo"}, {"name", "n1"}, {"srv", "example.test"}, {"hosts", "10.0.0.9:2379"}});
  ASSERT_TRUE(both) << both.error();
  EXPECT_EQ(both.value().endpoints, (std::vector<std::string>{"http://10.0.0.9:2379"}));
}

}  // namespace
}  // namespace custos::dcs::etcd_common
