// Unit tests of the replication slot helpers of Cluster (member slots, permanent slots,
// cascading, hot_standby_feedback).
#include <gtest/gtest.h>

#include "dcs/cluster.h"

namespace custos::dcs {
namespace {

using nlohmann::json;

RawNode N(std::string key, std::string value, Version version = 1) {
  RawNode n;
  n.key = std::move(key);
  n.value = std::move(value);
  n.version = version;
  n.modify_version = version;
  return n;
}

std::string member(const std::string& tags = "{}", const std::string& extra = "") {
  return R"({"conn_url":"postgres://h:5432/postgres","state":"running","role":"replica","tags":)" +
         tags + extra + "}";
}

std::vector<std::string> keys(const SlotMap& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

const char* kConfig = R"({"permanent_slots":{
    "phys": null,
    "phys2": {"type": "physical"},
    "logi": {"type": "logical", "database": "db", "plugin": "pgoutput"},
    "Bad-Name": null,
    "bad_logical": {"type": "logical", "database": "db"},
    "weird": 5,
    "n2": null
  }})";

Cluster three_nodes(const std::string& config = kConfig) {
  return Cluster::from_nodes({
      N("leader", "n1"),
      N("members/n1", member("{}", R"(,"role":"master","xlog_location":1000)")),
      N("members/n2", member("{}", R"(,"xlog_location":900)")),
      N("members/n3", member(R"({"replicatefrom":"n2"})")),
      N("config", config),
      N("status", R"({"optime":1000,"slots":{"logi":555,"phys":77}})"),
  });
}

TEST(Slots, PrimaryGetsMemberAndPermanentSlots) {
  Cluster c = three_nodes();
  std::vector<std::string> problems;
  SlotMap s = c.get_replication_slots("n1", "master", false, 160000, false, &problems);
  // n3 replicates from n2 (an existing member): no slot for it on the primary.
  EXPECT_EQ(keys(s), (std::vector<std::string>{"logi", "n2", "phys", "phys2"}));
  EXPECT_EQ(s["n2"]["type"], "physical");
  EXPECT_EQ(s["phys"]["type"], "physical");  // null value = physical
  EXPECT_EQ(s["phys"]["lsn"], 77);
  EXPECT_EQ(s["logi"]["lsn"], 555);
  EXPECT_EQ(s["logi"]["plugin"], "pgoutput");
  // Invalid name (two lines, as Patroni), logical without plugin, non-object value are
  // reported in Patroni's words and ignored.
  EXPECT_EQ(problems, (std::vector<std::string>{
                          "Invalid permanent replication slot name 'Bad-Name'",
                          "Slot name may only contain lower case letters, numbers, and the underscore chars",
                          "Bad value for slot 'bad_logical' in permanent_slots: {\"database\":\"db\",\"type\":\"logical\"}",
                          "Bad value for slot 'weird' in permanent_slots: 5"}));
  // "primary" is the same role.
  EXPECT_EQ(keys(c.get_replication_slots("n1", "primary", false, 160000)), keys(s));
}

// ha.md §10: a nostream member (archive only) gets no slot, on a primary or a standby leader;
// a standby leader keeps the slots of the members cascading from it.
TEST(Slots, NostreamMembersGetNoSlotAndAStandbyLeaderKeepsItsCascadesSlots) {
  Cluster c = Cluster::from_nodes({
      N("leader", "n1"),
      N("members/n1", member("{}", R"(,"role":"standby_leader")")),
      N("members/n2", member()),
      N("members/n3", member(R"({"nostream":true})")),
      N("members/n4", member(R"({"nostream":"false"})")),  // parse_bool: not nostream
      N("config", "{}"),
  });
  for (const char* role : {"master", "standby_leader"})
    EXPECT_EQ(keys(c.get_replication_slots("n1", role, false, 150000, true)), (std::vector<std::string>{"n2", "n4"}))
        << role;
  EXPECT_TRUE(c.get_replication_slots("n2", "replica", false, 150000, true).empty());
}

TEST(Slots, PermanentPhysicalSlotLsnFromMember) {
  Cluster c = three_nodes();
  SlotMap p = c.permanent_slots();
  EXPECT_EQ(p["n2"]["lsn"], 900);  // named after member n2: its xlog_location
  EXPECT_EQ(p["phys"]["lsn"], 77);
  EXPECT_FALSE(p["phys2"].contains("lsn"));
  EXPECT_EQ(p["weird"], 5);
}

TEST(Slots, LsnInConfigIsNotTrusted) {
  Cluster c = three_nodes(R"({"slots":{"x":{"type":"physical","lsn":42}}})");
  EXPECT_FALSE(c.permanent_slots()["x"].contains("lsn"));
}

TEST(Slots, ReplicatefromMissingMemberFallsBackToPrimary) {
  Cluster c = Cluster::from_nodes({N("leader", "n1"), N("members/n1", member()),
                                   N("members/n2", member(R"({"replicatefrom":"gone"})")),
                                   N("members/n3", member(R"({"replicatefrom":"n1"})"))});
  EXPECT_EQ(keys(c.get_replication_slots("n1", "master", false, 160000)),
            (std::vector<std::string>{"n2", "n3"}));
}

TEST(Slots, ReplicaGetsSlotsForCascadingMembers) {
  Cluster c = three_nodes();
  SlotMap s = c.get_replication_slots("n2", "replica", false, 160000);
  // n3 cascades from n2; permanent physical slots except the one named like us; logical ones.
  EXPECT_EQ(keys(s), (std::vector<std::string>{"logi", "n3", "phys", "phys2"}));
  // PG < 11 replica: only logical permanent slots are considered, and they are disabled.
  std::vector<std::string> problems;
  SlotMap old = c.get_replication_slots("n2", "replica", false, 100000, false, &problems);
  EXPECT_EQ(keys(old), (std::vector<std::string>{"n3"}));
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems.back().find("logi"), std::string::npos);
  // nofailover: no permanent slots at all.
  EXPECT_EQ(keys(c.get_replication_slots("n2", "replica", true, 160000)),
            (std::vector<std::string>{"n3"}));
}

TEST(Slots, StandbyCluster) {
  Cluster c = three_nodes();
  EXPECT_EQ(keys(c.get_replication_slots("n1", "standby_leader", false, 100000, true)),
            (std::vector<std::string>{"n2", "phys", "phys2"}));
  EXPECT_EQ(keys(c.get_replication_slots("n2", "replica", false, 100000, true)),
            (std::vector<std::string>{"n3"}));
}

TEST(Slots, UseSlotsFalseDisablesEverything) {
  Cluster c = three_nodes(R"({"postgresql":{"use_slots":false},"slots":{"phys":null}})");
  EXPECT_FALSE(c.use_slots());
  EXPECT_TRUE(c.get_replication_slots("n1", "master", false, 160000).empty());
  EXPECT_TRUE(c.filter_permanent_slots({{"phys", 1}}, false, 160000).empty());
  EXPECT_FALSE(c.has_permanent_slots("n2"));
  EXPECT_FALSE(c.should_enforce_hot_standby_feedback("n2", false));
}

TEST(Slots, UseSlotsDefaultTrue) {
  EXPECT_TRUE(three_nodes(R"({})").use_slots());
  EXPECT_TRUE(Cluster::from_nodes({N("members/a", "{}")}).use_slots());
  EXPECT_EQ(keys(Cluster::from_nodes({N("members/a", "{}"), N("members/b", "{}")})
                     .get_replication_slots("a", "master", false, 160000)),
            (std::vector<std::string>{"b"}));
}

TEST(Slots, ConfigAliases) {
  for (const char* key : {"permanent_replication_slots", "permanent_slots", "slots"}) {
    Cluster c = three_nodes(std::string(R"({")") + key + R"(":{"alias_slot":null}})");
    EXPECT_TRUE(c.get_replication_slots("n1", "master", false, 160000).count("alias_slot")) << key;
  }
}

TEST(Slots, NoPermanentPhysicalSlotForMyself) {
  Cluster c = three_nodes(R"({"slots":{"n1":null,"n2":null}})");
  SlotMap s = c.get_replication_slots("n1", "master", false, 160000);
  EXPECT_FALSE(s.count("n1"));
  EXPECT_TRUE(s.count("n2"));
}

TEST(Slots, LogicalSlotConflictingWithMemberSlot) {
  Cluster c = three_nodes(R"({"slots":{"n2":{"type":"logical","database":"d","plugin":"p"}}})");
  std::vector<std::string> problems;
  SlotMap s = c.get_replication_slots("n1", "master", false, 160000, false, &problems);
  EXPECT_EQ(s["n2"]["type"], "physical");
  EXPECT_EQ(problems.size(), 1u);
}

TEST(Slots, LogicalTypeInferredFromDatabaseAndPlugin) {
  Cluster c = three_nodes(R"({"slots":{"ls":{"database":"d","plugin":"p"}}})");
  EXPECT_EQ(c.get_replication_slots("n1", "master", false, 160000)["ls"]["type"], "logical");
}

TEST(Slots, MemberSlotNameCollisionReported) {
  Cluster c = Cluster::from_nodes({N("members/p", "{}"), N("members/a-b", "{}"),
                                   N("members/a.b", "{}")});
  std::vector<std::string> problems;
  SlotMap s = c.get_replication_slots("p", "master", false, 160000, false, &problems);
  EXPECT_EQ(keys(s), (std::vector<std::string>{"a_b"}));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("map to a_b"), std::string::npos);
}

TEST(Slots, FilterPermanentSlots) {
  Cluster c = three_nodes(R"({"slots":{"phys":null,"logi":{"type":"logical","database":"d","plugin":"p"},
                               "n3":{"type":"logical","database":"d","plugin":"p"}}})");
  auto out = c.filter_permanent_slots({{"phys", 1}, {"logi", 2}, {"n3", 3}, {"other", 4}}, false, 160000);
  EXPECT_EQ(out, (std::map<std::string, int64_t>{{"phys", 1}, {"logi", 2}}));
  // PG < 11: permanent slots are not kept on standby nodes.
  EXPECT_TRUE(c.filter_permanent_slots({{"phys", 1}, {"logi", 2}}, false, 100000).empty());
  // Standby cluster: only physical ones.
  EXPECT_EQ(c.filter_permanent_slots({{"phys", 1}, {"logi", 2}}, true, 160000),
            (std::map<std::string, int64_t>{{"phys", 1}}));
}

TEST(Slots, HasPermanentSlots) {
  EXPECT_TRUE(three_nodes().has_permanent_slots("n2"));
  EXPECT_FALSE(three_nodes(R"({})").has_permanent_slots("n2"));
  EXPECT_FALSE(three_nodes().has_permanent_slots("n2", false, true));  // nofailover
  EXPECT_TRUE(three_nodes(R"({"slots":{"l":{"type":"logical","database":"d","plugin":"p"}}})")
                  .has_permanent_slots("n2"));
}

TEST(Slots, HasPermanentLogicalSlots) {
  EXPECT_TRUE(three_nodes().has_permanent_logical_slots("n2", false));
  EXPECT_FALSE(three_nodes().has_permanent_logical_slots("n2", true));
  EXPECT_FALSE(three_nodes(R"({"slots":{"p":null}})").has_permanent_logical_slots("n2", false));
}

TEST(Slots, HotStandbyFeedback) {
  EXPECT_TRUE(three_nodes().should_enforce_hot_standby_feedback("n3", false));
  // n2 is nofailover (no permanent slots for itself) but n3 cascades from it and has some.
  Cluster c = Cluster::from_nodes({
      N("leader", "n1"),
      N("members/n1", member()),
      N("members/n2", member(R"({"nofailover":true})")),
      N("members/n3", member(R"({"replicatefrom":"n2"})")),
      N("config", R"({"slots":{"l":{"type":"logical","database":"d","plugin":"p"}}})"),
  });
  EXPECT_TRUE(c.should_enforce_hot_standby_feedback("n2", true));
  Cluster d = Cluster::from_nodes({
      N("leader", "n1"),
      N("members/n2", member(R"({"nofailover":true})")),
      N("members/n3", member(R"({"replicatefrom":"n2","nofailover":true})")),
      N("config", R"({"slots":{"l":{"type":"logical","database":"d","plugin":"p"}}})"),
  });
  EXPECT_FALSE(d.should_enforce_hot_standby_feedback("n2", true));
  // A replicatefrom cycle terminates.
  Cluster cyc = Cluster::from_nodes({
      N("members/a", member(R"({"replicatefrom":"b","nofailover":true})")),
      N("members/b", member(R"({"replicatefrom":"a","nofailover":true})")),
      N("config", R"({"slots":{"l":{"type":"logical","database":"d","plugin":"p"}}})"),
  });
  EXPECT_FALSE(cyc.should_enforce_hot_standby_feedback("a", true));
}

TEST(Slots, MySlotNameOnPrimary) {
  // P <-- I <-- L: L's slot on the primary is I's slot.
  Cluster c = Cluster::from_nodes({
      N("leader", "P"),
      N("members/P", member()),
      N("members/I", member()),
      N("members/L", member(R"({"replicatefrom":"I"})")),
      N("members/L2", member(R"({"replicatefrom":"L"})")),
      N("members/X", member(R"({"replicatefrom":"P"})")),
  });
  EXPECT_EQ(c.get_my_slot_name_on_primary("I", std::nullopt), "i");
  EXPECT_EQ(c.get_my_slot_name_on_primary("L", "I"), "i");
  EXPECT_EQ(c.get_my_slot_name_on_primary("L2", "L"), "i");
  EXPECT_EQ(c.get_my_slot_name_on_primary("L", "gone"), "l");
  EXPECT_EQ(c.get_my_slot_name_on_primary("X", "P"), "x");
  EXPECT_EQ(c.get_my_slot_name_on_primary("X", ""), "x");
  Cluster cyc = Cluster::from_nodes({
      N("members/a", member(R"({"replicatefrom":"b"})")),
      N("members/b", member(R"({"replicatefrom":"a"})")),
  });
  EXPECT_EQ(cyc.get_my_slot_name_on_primary("a", "b"), "b");
}

}  // namespace
}  // namespace custos::dcs

namespace custos::dcs {
namespace {

// Patroni 4 member_slots_ttl > 0 (PostgreSQL 11+): every node that may lead keeps a slot for
// every other member (nostream ones excepted), a replica's at the position the leader
// published; the names /status still retains are kept (not moved); a nofailover node only
// keeps those cascading from it.
TEST(Slots, MemberSlotsTtlKeepsSlotsForEveryMemberAndTheRetainedOnes) {
  Cluster c = Cluster::from_nodes({
      N("leader", "n1"),
      N("members/n1", member("{}", R"(,"role":"master","xlog_location":1000)")),
      N("members/n2", member("{}", R"(,"xlog_location":900)")),
      N("members/n3", member(R"({"replicatefrom":"n2"})", R"(,"xlog_location":950)")),
      N("members/n4", member(R"({"nostream":true})")),
      N("status", R"({"optime":1000,"slots":{"n1":1000,"n2":880,"n3":700},"retain_slots":["n1","n2","n3","gone"]})"),
  });
  // The primary: the cascading n3 and the departed "gone" too.
  EXPECT_EQ(keys(c.get_replication_slots("n1", "master", false, 160000, false, nullptr, 1800)),
            (std::vector<std::string>{"gone", "n2", "n3"}));
  // A replica: every other member, at the published position (n3 cascades from another node:
  // the furthest of both); its own cascading member (n3 of n2) is not moved.
  SlotMap r = c.get_replication_slots("n3", "replica", false, 160000, false, nullptr, 1800);
  EXPECT_EQ(keys(r), (std::vector<std::string>{"gone", "n1", "n2"}));
  EXPECT_EQ(r["n1"]["lsn"], 1000);
  EXPECT_EQ(r["n2"]["lsn"], 880);
  EXPECT_FALSE(r["gone"].contains("lsn"));
  SlotMap r2 = c.get_replication_slots("n2", "replica", false, 160000, false, nullptr, 1800);
  EXPECT_FALSE(r2["n3"].contains("lsn"));  // streams from n2 itself
  EXPECT_EQ(r2["n1"]["lsn"], 1000);
  // nofailover: only what cascades from it, nothing retained.
  EXPECT_EQ(keys(c.get_replication_slots("n2", "replica", true, 160000, false, nullptr, 1800)),
            (std::vector<std::string>{"n3"}));
  // Off (0), or before PostgreSQL 11: Patroni 3.3's member slots.
  EXPECT_EQ(keys(c.get_replication_slots("n3", "replica", false, 160000)), std::vector<std::string>{});
  EXPECT_EQ(keys(c.get_replication_slots("n3", "replica", false, 100000, false, nullptr, 1800)),
            std::vector<std::string>{});
  // /status publishes every slot with member_slots_ttl.
  EXPECT_EQ(c.filter_permanent_slots({{"n2", 5}, {"x", 6}}, false, 160000, 1800).size(), 2u);
  EXPECT_TRUE(c.filter_permanent_slots({{"n2", 5}}, false, 160000).empty());
}

TEST(Slots, StatusRetainSlotsAreReadDefensively) {
  EXPECT_EQ(ClusterStatus::from_node(R"({"optime":1,"retain_slots":["a",5,"",null,"b"]})").retain_slots,
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ClusterStatus::from_node(R"({"optime":1,"retain_slots":"[\"a\"]"})").retain_slots,
            (std::vector<std::string>{"a"}));
  EXPECT_FALSE(ClusterStatus::from_node(R"({"optime":1,"retain_slots":{"a":1}})").retain_slots);
  EXPECT_EQ(ClusterStatus::value_of(5, {{"s", 4}}, {"a"}), json::parse(R"({"optime":5,"slots":{"s":4},"retain_slots":["a"]})"));
  EXPECT_EQ(ClusterStatus::value_of(5, {}, {}), json::parse(R"({"optime":5})"));
}

}  // namespace
}  // namespace custos::dcs
