// A key whose parsing throws is reported, never silently dropped (Cluster::from_nodes'
// `failures`). No value content can make a parser throw (garbage_test.cpp feeds them everything),
// so these tests make parsing throw through the test-only seam dcs/parse_hook.h.
#include <gtest/gtest.h>

#include <new>
#include <set>
#include <stdexcept>
#include <string>

#include "dcs/cluster.h"
#include "dcs/parse_hook.h"

namespace custos::dcs {
namespace {

RawNode N(std::string key, std::string value, Version version = 1) {
  RawNode n;
  n.key = std::move(key);
  n.value = std::move(value);
  n.version = version;
  n.modify_version = version;
  return n;
}

// Keys the hook throws for (set by each test; read from the parsing thread, which is this one).
std::set<std::string, std::less<>> g_throw_for;

void throw_for_chosen_keys(std::string_view key) {
  if (g_throw_for.count(key)) throw std::runtime_error("injected failure for " + std::string(key));
}

void throw_non_standard(std::string_view key) {
  if (key == "config") throw 42;
}

class ParseFailure : public ::testing::Test {
 protected:
  void SetUp() override {
    g_throw_for.clear();
    testing::set_parse_hook(&throw_for_chosen_keys);
  }
  void TearDown() override { testing::set_parse_hook(nullptr); }
};

RawNodes all_keys() {
  return {N("leader", "n1", 10),  N("members/n1", R"({"state":"running"})", 11),
          N("config", "{}", 12),  N("initialize", "7312345678901234567", 13),
          N("failover", "{}", 14), N("sync", R"({"leader":"n1"})", 15),
          N("history", "[]", 16), N("status", R"({"optime":1})", 17),
          N("failsafe", "{}", 18)};
}

TEST_F(ParseFailure, NothingFailsWithoutTheHookFiring) {
  std::vector<KeyParseFailure> failures;
  Cluster c = Cluster::from_nodes(all_keys(), &failures);
  EXPECT_TRUE(failures.empty());
  EXPECT_EQ(c, Cluster::from_nodes(all_keys()));
  EXPECT_EQ(c.leader_name(), std::string("n1"));
}

TEST_F(ParseFailure, AThrowingLeaderKeyIsReportedNotTurnedIntoAFreeLock) {
  g_throw_for = {"leader"};
  std::vector<KeyParseFailure> failures;
  Cluster c = Cluster::from_nodes(all_keys(), &failures);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].key, "leader");
  EXPECT_EQ(failures[0].reason, "injected failure for leader");
  // The result lacks the key: it is not the cluster's state, which is why it is reported.
  EXPECT_TRUE(c.is_unlocked());
  EXPECT_TRUE(c.config());
  EXPECT_EQ(c.members().size(), 1u);
}

TEST_F(ParseFailure, EveryKeyIsGuardedAndReportedUnderItsOwnName) {
  const std::vector<std::string> keys = {"leader", "members/n1", "config", "initialize", "failover",
                                         "sync",   "history",    "status", "failsafe"};
  for (const auto& key : keys) {
    SCOPED_TRACE(key);
    g_throw_for = {key};
    std::vector<KeyParseFailure> failures;
    (void)Cluster::from_nodes(all_keys(), &failures);
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures[0].key, key);
  }
  g_throw_for = std::set<std::string, std::less<>>(keys.begin(), keys.end());
  std::vector<KeyParseFailure> failures;
  Cluster c = Cluster::from_nodes(all_keys(), &failures);
  EXPECT_EQ(failures.size(), keys.size());
  EXPECT_TRUE(c.is_empty());
  // The legacy optime key is reported when it is the one parsed (no `status`).
  g_throw_for = {"optime/leader"};
  failures.clear();
  (void)Cluster::from_nodes({N("optime/leader", "123")}, &failures);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].key, "optime/leader");
}

TEST_F(ParseFailure, WithoutAFailureListTheExceptionPropagates) {
  g_throw_for = {"leader"};
  EXPECT_THROW((void)Cluster::from_nodes(all_keys()), std::runtime_error);
  RawNodes citus = {N("0/leader", "c"), N("1/leader", "w")};
  EXPECT_THROW((void)Cluster::from_citus_nodes(citus, 0), std::runtime_error);
}

TEST_F(ParseFailure, ANonStandardExceptionIsReportedToo) {
  testing::set_parse_hook(&throw_non_standard);
  std::vector<KeyParseFailure> failures;
  (void)Cluster::from_nodes(all_keys(), &failures);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].key, "config");
  EXPECT_EQ(failures[0].reason, "unknown exception");
}

TEST_F(ParseFailure, CitusFailuresNameTheGroup) {
  g_throw_for = {"leader", "members/w1"};
  RawNodes nodes = {N("0/leader", "c"), N("0/config", "{}"), N("1/leader", "w1"),
                    N("1/members/w1", R"({"state":"running"})"), N("2/config", "{}")};
  std::vector<KeyParseFailure> failures;
  Cluster coordinator = Cluster::from_citus_nodes(nodes, 0, &failures);
  std::set<std::string> keys;
  for (const auto& f : failures) keys.insert(f.key);
  EXPECT_EQ(keys, (std::set<std::string>{"0/leader", "1/leader", "1/members/w1"}));
  EXPECT_EQ(coordinator.workers().size(), 2u);

  // A worker reads only its own group.
  failures.clear();
  (void)Cluster::from_citus_nodes(nodes, 1, &failures);
  keys.clear();
  for (const auto& f : failures) keys.insert(f.key);
  EXPECT_EQ(keys, (std::set<std::string>{"1/leader", "1/members/w1"}));
}

}  // namespace
}  // namespace custos::dcs
