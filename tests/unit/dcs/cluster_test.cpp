// Unit tests of Cluster::from_nodes / from_citus_nodes and the cluster-level helpers.
#include <gtest/gtest.h>

#include "dcs/cluster.h"

namespace custos::dcs {
namespace {

using nlohmann::json;

RawNode N(std::string key, std::string value, Version version = 1,
          std::optional<std::string> session = std::nullopt) {
  RawNode n;
  n.key = std::move(key);
  n.value = std::move(value);
  n.version = version;
  n.modify_version = version;
  n.session = std::move(session);
  return n;
}

std::string member_json(const std::string& state = "running", const std::string& extra = "") {
  return R"({"conn_url":"postgres://h:5432/postgres","api_url":"http://h:8008/patroni","state":")" +
         state + R"(","role":"replica","version":"3.3.1")" + extra + "}";
}

TEST(Cluster, Empty) {
  Cluster c = Cluster::empty();
  EXPECT_TRUE(c.is_empty());
  EXPECT_TRUE(c.is_unlocked());
  EXPECT_FALSE(c.leader_name());
  EXPECT_FALSE(c.leader());
  EXPECT_TRUE(c.members().empty());
  EXPECT_FALSE(c.config());
  EXPECT_FALSE(c.initialize());
  EXPECT_FALSE(c.failover());
  EXPECT_TRUE(c.sync().is_empty());
  EXPECT_FALSE(c.history());
  EXPECT_FALSE(c.failsafe());
  EXPECT_TRUE(c.workers().empty());
  EXPECT_EQ(c.timeline(), 0);
  EXPECT_EQ(c.last_lsn(), 0);
  EXPECT_FALSE(c.slots());
  EXPECT_FALSE(c.min_version());
  EXPECT_TRUE(c.use_slots());
  EXPECT_FALSE(c.get_clone_member("x"));
  EXPECT_TRUE(Cluster::from_nodes({}).is_empty());
  EXPECT_EQ(Cluster::from_nodes({}), Cluster::empty());
}

TEST(Cluster, FromNodesAllKeys) {
  RawNodes nodes = {
      N("leader", "n1", 10, "lease-1"),
      N("members/n1", member_json("running", R"(,"role":"master","xlog_location":500)"), 11, "lease-1"),
      N("members/n2", member_json(), 12, "lease-2"),
      N("config", R"({"ttl":30,"loop_wait":10})", 13),
      N("initialize", "7312345678901234567", 14),
      N("failover", R"({"leader":"n1","member":"n2"})", 15),
      N("sync", R"({"leader":"n1","sync_standby":"n2"})", 16),
      N("history", R"([[1,100,"no recovery target specified"]])", 17),
      N("status", R"({"optime":12345,"slots":{"n2":100}})", 18),
      N("failsafe", R"({"n1":"http://h:8008/patroni","n2":"http://h2:8008/patroni"})", 19),
      N("unknown/key", "x"),
  };
  Cluster c = Cluster::from_nodes(nodes);
  EXPECT_FALSE(c.is_empty());
  ASSERT_TRUE(c.leader());
  EXPECT_EQ(c.leader()->version, 10);
  EXPECT_EQ(c.leader()->session, "lease-1");
  EXPECT_EQ(c.leader()->name(), "n1");
  EXPECT_EQ(c.leader()->member.version, 11);
  EXPECT_EQ(c.leader()->member.lsn(), 500);
  EXPECT_EQ(c.leader_name(), "n1");
  EXPECT_FALSE(c.is_unlocked());
  ASSERT_EQ(c.members().size(), 2u);
  EXPECT_EQ(c.members()[0].name(), "n1");
  EXPECT_EQ(c.members()[1].session, "lease-2");
  ASSERT_TRUE(c.config());
  EXPECT_EQ(c.config()->version, 13);
  EXPECT_EQ(c.config()->data()["ttl"], 30);
  EXPECT_EQ(c.initialize(), "7312345678901234567");
  ASSERT_TRUE(c.failover());
  EXPECT_EQ(c.failover()->version, 15);
  EXPECT_EQ(c.failover()->candidate, "n2");
  EXPECT_EQ(c.sync().version, 16);
  EXPECT_TRUE(c.sync().matches("N2"));
  EXPECT_EQ(c.history()->version, 17);
  EXPECT_EQ(c.timeline(), 2);
  EXPECT_EQ(c.last_lsn(), 12345);
  ASSERT_TRUE(c.slots());
  EXPECT_EQ(c.slots()->at("n2"), 100);
  ASSERT_TRUE(c.failsafe());
  EXPECT_EQ(c.failsafe_members().size(), 2u);
  EXPECT_EQ(c.min_version(), (PatroniVersion{3, 3, 1}));
}

TEST(Cluster, LeaderWithoutMemberKey) {
  Cluster c = Cluster::from_nodes({N("leader", "ghost", 5, "l")});
  ASSERT_TRUE(c.leader());
  EXPECT_EQ(c.leader()->name(), "ghost");
  EXPECT_EQ(c.leader()->member.version, -1);
  EXPECT_EQ(c.leader()->data(), json::object());
  EXPECT_FALSE(c.leader()->checkpoint_after_promote());
  EXPECT_EQ(c.get_member("ghost")->name(), "ghost");
  EXPECT_FALSE(c.has_member("ghost"));
}

TEST(Cluster, EmptyLeaderValueIsUnlocked) {
  Cluster c = Cluster::from_nodes({N("leader", "", 5)});
  EXPECT_TRUE(c.leader());
  EXPECT_FALSE(c.leader_name());
  EXPECT_TRUE(c.is_unlocked());
}

TEST(Cluster, MemberKeyFiltering) {
  Cluster c = Cluster::from_nodes({N("members/a", "{}"), N("members/b/c", "{}"), N("members/", "{}"),
                                   N("members//x", "{}"), N("membersX", "{}"), N("members/d", "{}")});
  ASSERT_EQ(c.members().size(), 2u);
  EXPECT_EQ(c.members()[0].name(), "a");
  EXPECT_EQ(c.members()[1].name(), "d");
}

TEST(Cluster, DuplicateKeyLastWins) {
  Cluster c = Cluster::from_nodes({N("leader", "a", 1), N("leader", "b", 2)});
  EXPECT_EQ(c.leader_name(), "b");
}

TEST(Cluster, StatusPreferredOverLegacyOptime) {
  EXPECT_EQ(Cluster::from_nodes({N("status", R"({"optime":5})"), N("optime/leader", "7")}).last_lsn(), 5);
  EXPECT_EQ(Cluster::from_nodes({N("optime/leader", "7")}).last_lsn(), 7);
  EXPECT_FALSE(Cluster::from_nodes({N("optime/leader", "7")}).slots());
  // A present but garbled status is used as is (no fallback), like Patroni.
  EXPECT_EQ(Cluster::from_nodes({N("status", "garbage"), N("optime/leader", "7")}).last_lsn(), 0);
  EXPECT_EQ(Cluster::from_nodes({N("optime/leader", "x")}).last_lsn(), 0);
}

TEST(Cluster, InvalidConfigKeepsVersionWithModifyVersionZero) {
  Cluster c = Cluster::from_nodes({N("config", "[1,2]", 9)});
  ASSERT_TRUE(c.config());
  EXPECT_EQ(c.config()->version, 9);
  EXPECT_EQ(c.config()->modify_version, 0);
  EXPECT_FALSE(c.config()->is_valid());
  EXPECT_TRUE(c.use_slots());
  RawNode zk = N("config", "{}", 4);
  zk.modify_version = 777;  // ZooKeeper: version for CAS, mzxid as change marker
  EXPECT_EQ(Cluster::from_nodes({zk}).config()->modify_version, 777);
}

TEST(Cluster, InitializeEmptyMeansBootstrapping) {
  EXPECT_EQ(Cluster::from_nodes({N("initialize", "")}).initialize(), "");
  EXPECT_FALSE(Cluster::from_nodes({N("leader", "x")}).initialize());
}

TEST(Cluster, FailoverKeyAlwaysPresentWithVersion) {
  Cluster c = Cluster::from_nodes({N("failover", "{}", 33)});
  ASSERT_TRUE(c.failover());
  EXPECT_TRUE(c.failover()->is_empty());
  EXPECT_EQ(c.failover()->version, 33);
  EXPECT_EQ(Cluster::from_nodes({N("failover", "abc:def")}).failover()->leader, "abc");
}

TEST(Cluster, SyncAbsentHasNoVersion) {
  EXPECT_FALSE(Cluster::from_nodes({N("leader", "x")}).sync().version);
  auto c = Cluster::from_nodes({N("sync", "{", 3)});
  EXPECT_EQ(c.sync().version, 3);
  EXPECT_TRUE(c.sync().is_empty());
}

TEST(Cluster, Timeline) {
  EXPECT_EQ(Cluster::from_nodes({}).timeline(), 0);
  EXPECT_EQ(Cluster::from_nodes({N("history", "[]")}).timeline(), 1);
  EXPECT_EQ(Cluster::from_nodes({N("history", R"([["a"]])")}).timeline(), 0);
  EXPECT_EQ(Cluster::from_nodes({N("history", R"([["3","2","1"]])")}).timeline(), 4);
  EXPECT_EQ(Cluster::from_nodes({N("history", "{")}).timeline(), 0);
}

TEST(Cluster, Failsafe) {
  EXPECT_FALSE(Cluster::from_nodes({N("failsafe", "[1]")}).failsafe());
  EXPECT_FALSE(Cluster::from_nodes({N("failsafe", "{")}).failsafe());
  auto c = Cluster::from_nodes({N("failsafe", R"({"a":"http://a","b":5})")});
  ASSERT_TRUE(c.failsafe());
  EXPECT_EQ(c.failsafe_members(), (std::map<std::string, std::string>{{"a", "http://a"}}));
}

TEST(Cluster, MinVersion) {
  Cluster c = Cluster::from_nodes({N("members/a", R"({"version":"3.3.1"})"),
                                   N("members/b", R"({"version":"2.0.2"})"),
                                   N("members/c", R"({"version":"z"})"),
                                   N("members/d", R"({})"),
                                   N("members/e", R"({"version":"3.10.0"})")});
  EXPECT_EQ(c.min_version(), (PatroniVersion{2, 0, 2}));
  EXPECT_FALSE(Cluster::from_nodes({N("members/c", R"({"version":"z"})")}).min_version());
}

TEST(Cluster, GetMemberHasMember) {
  Cluster c = Cluster::from_nodes({N("leader", "a"), N("members/a", "{}"), N("members/b", "{}")});
  EXPECT_TRUE(c.has_member("b"));
  EXPECT_FALSE(c.has_member("z"));
  EXPECT_EQ(c.get_member("b")->name(), "b");
  EXPECT_EQ(c.get_member("z")->name(), "a");  // falls back to the leader
  EXPECT_FALSE(c.get_member("z", false));
  EXPECT_FALSE(Cluster::from_nodes({N("members/b", "{}")}).get_member("z"));
}

TEST(Cluster, CloneMember) {
  const std::string clone = member_json("running", R"(,"tags":{"clonefrom":true})");
  Cluster c = Cluster::from_nodes({
      N("leader", "L"),
      N("members/L", member_json("running", R"(,"tags":{"clonefrom":true})")),
      N("members/me", clone),
      N("members/c1", clone),
      N("members/c2", clone),
      N("members/stopped", member_json("stopped", R"(,"tags":{"clonefrom":true})")),
      N("members/nourl", R"({"state":"running","tags":{"clonefrom":true}})"),
      N("members/notag", member_json()),
  });
  EXPECT_EQ(c.get_clone_member("me", [](size_t n) { EXPECT_EQ(n, 2u); return 0; })->name(), "c1");
  EXPECT_EQ(c.get_clone_member("me", [](size_t) { return 1; })->name(), "c2");
  for (int i = 0; i < 20; ++i) {
    auto m = c.get_clone_member("me");
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->name() == "c1" || m->name() == "c2");
  }
  // No candidate: the leader.
  Cluster d = Cluster::from_nodes({N("leader", "L"), N("members/L", member_json()),
                                   N("members/me", clone)});
  EXPECT_EQ(d.get_clone_member("me")->name(), "L");
  EXPECT_FALSE(Cluster::from_nodes({N("members/me", clone)}).get_clone_member("me"));
}

TEST(Cluster, Citus) {
  RawNodes nodes = {
      N("0/leader", "coord"),   N("0/members/coord", member_json()),
      N("1/leader", "w1"),      N("1/members/w1", member_json()),
      N("2/initialize", "123"), N("01/leader", "bad"),
      N("x/leader", "bad"),     N("leader", "bad"),
      N("99999999999999999999/leader", "bad"), N("-1/leader", "bad"),
  };
  Cluster coord = Cluster::from_citus_nodes(nodes, 0);
  EXPECT_EQ(coord.leader_name(), "coord");
  ASSERT_EQ(coord.workers().size(), 2u);
  EXPECT_EQ(coord.workers().at(1).leader_name(), "w1");
  EXPECT_EQ(coord.workers().at(2).initialize(), "123");
  EXPECT_TRUE(coord.workers().at(1).workers().empty());

  Cluster worker = Cluster::from_citus_nodes(nodes, 1);
  EXPECT_EQ(worker.leader_name(), "w1");
  EXPECT_TRUE(worker.workers().empty());

  Cluster missing = Cluster::from_citus_nodes(nodes, 7);
  EXPECT_TRUE(missing.is_empty());

  Cluster no_coord = Cluster::from_citus_nodes({N("3/leader", "w3")}, 0);
  EXPECT_FALSE(no_coord.leader());
  EXPECT_EQ(no_coord.workers().at(3).leader_name(), "w3");
  EXPECT_FALSE(no_coord.is_empty());

  Cluster copy = coord;
  EXPECT_EQ(copy, coord);
  EXPECT_TRUE(coord.with_workers({}).workers().empty());
}

}  // namespace
}  // namespace custos::dcs
