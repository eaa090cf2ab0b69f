// make_dcs(): the backend chosen for a configuration (Patroni's section order), agent vs ctl
// mode, and the one message for a missing or not yet supported DCS. No etcd is contacted: the
// configured endpoint is a closed local port, and nothing here waits for it.
#include <gtest/gtest.h>

#include "dcs/etcd/etcd2_dcs.h"
#include "dcs/etcd3/etcd3_dcs.h"
#include "dcs/factory/dcs_factory.h"

namespace custos::dcs {
namespace {

using nlohmann::json;

json base() {
  return {{"scope", "demo"}, {"name", "n1"}, {"retry_timeout", 1}};  // bounds the agent-mode watcher's first read
}

json with(json config, const std::string& section, json value) {
  config[section] = std::move(value);
  return config;
}

const json kEtcd = {{"host", "127.0.0.1:1"}};

const etcd3::Etcd3Dcs& as_etcd3(const std::unique_ptr<Dcs>& dcs) {
  auto* e = dynamic_cast<const etcd3::Etcd3Dcs*>(dcs.get());
  if (!e) throw std::runtime_error("not an etcd3 backend");
  return *e;
}

TEST(DcsFactory, SectionNameFollowsPatronisOrderAndSkipsNull) {
  EXPECT_EQ(dcs_section_name(base()), "");
  EXPECT_EQ(dcs_section_name(json("not an object")), "");
  EXPECT_EQ(dcs_section_name(with(base(), "etcd3", kEtcd)), "etcd3");
  EXPECT_EQ(dcs_section_name(with(with(base(), "etcd3", kEtcd), "etcd", kEtcd)), "etcd");
  EXPECT_EQ(dcs_section_name(with(with(base(), "zookeeper", kEtcd), "etcd3", kEtcd)), "etcd3");
  EXPECT_EQ(dcs_section_name(with(with(base(), "consul", kEtcd), "etcd3", kEtcd)), "consul");
  EXPECT_EQ(dcs_section_name(with(with(base(), "consul", nullptr), "etcd3", kEtcd)), "etcd3");
  EXPECT_EQ(dcs_section_name(with(base(), "raft", json::object())), "raft");
}

TEST(DcsFactory, AnEtcd3SectionGetsTheV3BackendAndAnEtcdSectionTheV2One) {
  json config = with(base(), "etcd3", kEtcd);
  config["namespace"] = "/ns";
  auto v3 = make_dcs(config, DcsMode::agent);
  ASSERT_TRUE(v3.ok()) << v3.error();
  EXPECT_EQ((*v3)->base_path(), "/ns/demo/");
  EXPECT_EQ((*v3)->member_name(), "n1");
  EXPECT_EQ(as_etcd3(v3.value()).settings().endpoints, std::vector<std::string>{"http://127.0.0.1:1"});

  // `etcd` is etcd's v2 API in Patroni: another keyspace, so never the v3 backend.
  config = with(base(), "etcd", kEtcd);
  config["namespace"] = "/ns";
  auto v2 = make_dcs(config, DcsMode::agent);
  ASSERT_TRUE(v2.ok()) << v2.error();
  auto* e2 = dynamic_cast<const etcd2::Etcd2Dcs*>(v2->get());
  ASSERT_NE(e2, nullptr);
  EXPECT_EQ(e2->base_path(), "/ns/demo/");
  EXPECT_EQ(e2->settings().endpoints, std::vector<std::string>{"http://127.0.0.1:1"});
  EXPECT_EQ(e2->settings().section, "etcd");
  EXPECT_FALSE(e2->settings().ctl);
  auto v2ctl = make_dcs(config, DcsMode::ctl);
  ASSERT_TRUE(v2ctl.ok()) << v2ctl.error();
  EXPECT_TRUE(dynamic_cast<const etcd2::Etcd2Dcs*>(v2ctl->get())->settings().ctl);  // quorum reads

  auto bad = make_dcs(with(base(), "etcd", json{{"hosts", 5}}), DcsMode::agent);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().rfind("etcd configuration: ", 0), 0u) << bad.error();
}

TEST(DcsFactory, ModeDecidesLeaseWatcherAndReadsWhateverTheConfigurationSays) {
  json config = with(base(), "etcd3", kEtcd);
  auto agent = make_dcs(config, DcsMode::agent);
  ASSERT_TRUE(agent.ok()) << agent.error();
  EXPECT_FALSE(as_etcd3(agent.value()).settings().ctl);

  auto ctl = make_dcs(config, DcsMode::ctl);
  ASSERT_TRUE(ctl.ok()) << ctl.error();
  const auto& e = as_etcd3(ctl.value());
  EXPECT_TRUE(e.settings().ctl);  // no lease, no watcher, linearizable reads
  EXPECT_FALSE(e.wait_watch_ready(std::chrono::milliseconds(0)));
  EXPECT_FALSE(e.lease_id());

  // A `patronictl` key in the configuration does not override the mode.
  config["patronictl"] = true;
  auto forced = make_dcs(config, DcsMode::agent);
  ASSERT_TRUE(forced.ok()) << forced.error();
  EXPECT_FALSE(as_etcd3(forced.value()).settings().ctl);
  config["patronictl"] = false;
  auto ctl2 = make_dcs(config, DcsMode::ctl);
  ASSERT_TRUE(ctl2.ok()) << ctl2.error();
  EXPECT_TRUE(as_etcd3(ctl2.value()).settings().ctl);

  // ctl mode needs no member name (custosctl is not a member); the agent does.
  json nameless = with(json{{"scope", "demo"}}, "etcd3", kEtcd);
  EXPECT_TRUE(make_dcs(nameless, DcsMode::ctl).ok());
  auto agent_nameless = make_dcs(nameless, DcsMode::agent);
  ASSERT_FALSE(agent_nameless.ok());
  EXPECT_NE(agent_nameless.error().find("`name` is required"), std::string::npos) << agent_nameless.error();
}

TEST(DcsFactory, UnsupportedBackendsAreNamedInOneMessage) {
  for (const char* section : {"consul", "kubernetes", "exhibitor", "raft"}) {
    SCOPED_TRACE(section);
    json config = with(base(), section, json{{"hosts", "h:1"}});
    auto agent = make_dcs(config, DcsMode::agent);
    ASSERT_FALSE(agent.ok());
    EXPECT_EQ(agent.error(), std::string("DCS `") + section + "` is not supported by custos yet (only etcd, etcd3 and zookeeper)");
    auto ctl = make_dcs(config, DcsMode::ctl);
    ASSERT_FALSE(ctl.ok());
    EXPECT_EQ(ctl.error(), std::string("DCS `") + section + "` is not supported by custosctl yet (only etcd, etcd3 and zookeeper)");
  }
  // Patroni's order decides, not the supported backend: consul comes before etcd3.
  auto both = make_dcs(with(with(base(), "consul", json{{"host", "h:1"}}), "etcd3", kEtcd), DcsMode::agent);
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().find("`consul`"), std::string::npos) << both.error();
  // ... and etcd comes before zookeeper.
  EXPECT_TRUE(make_dcs(with(with(base(), "zookeeper", json{{"hosts", "h:1"}}), "etcd", kEtcd), DcsMode::agent).ok());
}

TEST(DcsFactory, NoSectionAndInvalidSection) {
  auto agent = make_dcs(base(), DcsMode::agent);
  ASSERT_FALSE(agent.ok());
  EXPECT_EQ(agent.error(),
            "Can not find suitable configuration of distributed configuration store (etcd, etcd3 or zookeeper section)");
  auto ctl = make_dcs(base(), DcsMode::ctl);
  ASSERT_FALSE(ctl.ok());
  EXPECT_EQ(ctl.error(),
            "Can not find suitable configuration of distributed configuration store (etcd, etcd3 or zookeeper section, or "
            "--dcs-url)");
  // A null section is no section.
  EXPECT_FALSE(make_dcs(with(base(), "etcd3", nullptr), DcsMode::agent).ok());

  auto bad = make_dcs(with(base(), "etcd3", json{{"hosts", 5}}), DcsMode::agent);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().rfind("etcd3 configuration: ", 0), 0u) << bad.error();
  auto not_a_mapping = make_dcs(with(base(), "etcd3", "h:2379"), DcsMode::ctl);
  ASSERT_FALSE(not_a_mapping.ok());
  EXPECT_NE(not_a_mapping.error().find("`etcd3` section must be a mapping"), std::string::npos)
      << not_a_mapping.error();
}

}  // namespace
}  // namespace custos::dcs
