// ha.md §6.1 and §6.3.
#include "builders.h"
#include "ha/sync_selection.h"

namespace custos::ha::test {
namespace {

ReplicationRow row(const std::string& name, int64_t lsn, const std::string& sync_state = "async") {
  ReplicationRow r;
  r.application_name = name;
  r.state = "streaming";
  r.sync_state = sync_state;
  r.write_lsn = lsn + 10;
  r.flush_lsn = lsn;
  r.replay_lsn = lsn - 10;
  return r;
}

TEST(SyncSelection, PicksBestStreamingMembers) {
  ClusterBuilder b = healthy_cluster();
  b.member("node4", "replica", 0, R"(,"tags":{"nosync":true})");
  b.member("node5", "replica", 0, "", "stopped");
  SyncSelectionInput in;
  in.my_name = "node1";
  in.my_flush_lsn = 1000;
  in.rows = {row("node2", 900), row("node3", 950), row("node4", 999), row("node5", 999), row("stranger", 999)};
  SyncSelection s = select_sync_candidates(b.build(), in);
  ASSERT_EQ(s.picked.size(), 1u);
  EXPECT_EQ(s.picked[0], "node3");
  EXPECT_TRUE(s.allow_promote.empty());
  in.synchronous_node_count = 2;
  s = select_sync_candidates(b.build(), in);
  EXPECT_EQ(s.picked, (std::vector<std::string>{"node3", "node2"}));
}

TEST(SyncSelection, SyncStateFirstAndNofailoverLast) {
  ClusterBuilder b = healthy_cluster();
  b.member("node3", "replica", 0, R"(,"tags":{"nofailover":true})");
  SyncSelectionInput in;
  in.my_name = "node1";
  in.rows = {row("node2", 900), row("node3", 990, "sync")};
  EXPECT_EQ(select_sync_candidates(b.build(), in).picked[0], "node2");
  b.member("node3", "replica");
  in.rows = {row("node2", 990), row("node3", 900, "sync")};
  EXPECT_EQ(select_sync_candidates(b.build(), in).picked[0], "node3");
}

// Patroni 4.1: a higher sync_priority tag comes first; sync_priority 0 is nosync.
TEST(SyncSelection, SyncPriorityTagOrdersTheCandidates) {
  ClusterBuilder b = healthy_cluster();
  b.member("node2", "replica", 0, R"(,"tags":{"sync_priority":3})");
  b.member("node4", "replica", 0, R"(,"tags":{"sync_priority":0})");
  SyncSelectionInput in;
  in.my_name = "node1";
  in.rows = {row("node2", 900), row("node3", 990, "sync"), row("node4", 999, "sync")};
  EXPECT_EQ(select_sync_candidates(b.build(), in).picked, (std::vector<std::string>{"node2"}));
  in.synchronous_node_count = 3;
  EXPECT_EQ(select_sync_candidates(b.build(), in).picked, (std::vector<std::string>{"node2", "node3"}));
  // nosync set wins over the priority (and false nosync keeps a 0 priority in the race).
  b.member("node4", "replica", 0, R"(,"tags":{"sync_priority":0,"nosync":false})");
  EXPECT_EQ(select_sync_candidates(b.build(), in).picked.size(), 3u);
}

// Quorum commit: every streaming standby within the lag limit is picked (nofailover ones only
// while too few others are), and the confirmed ones reached the position of the last change.
TEST(SyncSelection, QuorumModePicksAllAndConfirmsByPosition) {
  ClusterBuilder b = healthy_cluster();
  b.member("node4", "replica", 0, R"(,"tags":{"nofailover":true})");
  b.member("node5", "replica");
  SyncSelectionInput in;
  in.my_name = "node1";
  in.quorum = true;
  in.rows = {row("node2", 1000, "quorum"), row("node3", 900, "quorum"), row("node4", 990), row("node5", 10)};
  in.maximum_lag_on_syncnode = 500;
  in.flush_lsn_at_ssn_change = 950;
  SyncSelection s = select_sync_candidates(b.build(), in);
  EXPECT_EQ(s.picked, (std::vector<std::string>{"node2", "node3"}));
  EXPECT_EQ(s.confirmed, (std::vector<std::string>{"node2"}));
  in.synchronous_node_count = 3;  // too few without the nofailover one
  EXPECT_EQ(select_sync_candidates(b.build(), in).picked, (std::vector<std::string>{"node2", "node3", "node4"}));
  in.flush_lsn_at_ssn_change = 0;  // position unknown: nobody is confirmed
  EXPECT_TRUE(select_sync_candidates(b.build(), in).confirmed.empty());
}

TEST(SyncSelection, QuorumSyncStateValue) {
  EXPECT_EQ(quorum_sync_state_value("node1", 1, {"node3", "node2"}),
            R"({"leader":"node1","quorum":1,"sync_standby":"node2,node3"})");
  EXPECT_EQ(quorum_sync_state_value("node1", 0, {}), R"({"leader":"node1","quorum":0,"sync_standby":null})");
}

TEST(SyncSelection, LagOnSyncnodeAndReadiness) {
  SyncSelectionInput in;
  in.my_name = "node1";
  in.maximum_lag_on_syncnode = 50;
  in.rows = {row("node2", 1000, "sync"), row("node3", 900, "potential")};
  in.synchronous_node_count = 2;
  in.ssn_members = {"node2"};
  in.flush_lsn_at_ssn_change = 1000;
  SyncSelection s = select_sync_candidates(healthy_cluster().build(), in);
  EXPECT_EQ(s.picked, (std::vector<std::string>{"node2"}));
  EXPECT_EQ(s.allow_promote, (std::vector<std::string>{"node2"}));
  in.flush_lsn_at_ssn_change = 1001;  // not caught up yet
  EXPECT_TRUE(select_sync_candidates(healthy_cluster().build(), in).allow_promote.empty());
  // Already listed in /sync counts as ready.
  EXPECT_EQ(select_sync_candidates(healthy_cluster().sync("node1", "node2").build(), in).allow_promote.size(), 1u);
}

TEST(SyncSelection, LsnColumnBySynchronousCommit) {
  SyncSelectionInput in;
  in.my_name = "node1";
  in.rows = {row("node2", 1000), row("node3", 995)};
  in.synchronous_commit = "remote_write";  // node2 1010 vs node3 1005
  EXPECT_EQ(select_sync_candidates(healthy_cluster().build(), in).picked[0], "node2");
  in.rows[1].replay_lsn = 2000;
  in.synchronous_commit = "remote_apply";
  EXPECT_EQ(select_sync_candidates(healthy_cluster().build(), in).picked[0], "node3");
}

TEST(SyncStandbyNames, Rendering) {
  EXPECT_EQ(render_synchronous_standby_names({}, true, 160000), "*");
  EXPECT_EQ(render_synchronous_standby_names({}, false, 160000), "");
  EXPECT_EQ(render_synchronous_standby_names({"node2"}, false, 160000), "node2");
  EXPECT_EQ(render_synchronous_standby_names({"node3", "node2"}, false, 160000), "2 (node2,node3)");
  EXPECT_EQ(render_synchronous_standby_names({"node-2", "a\"b"}, false, 160000), "2 (\"a\"\"b\",\"node-2\")");
  EXPECT_EQ(render_synchronous_standby_names({"x$1", "_y"}, false, 160000), "2 (_y,x$1)");
  EXPECT_EQ(render_synchronous_standby_names({"b", "a"}, false, 90500), "a");
}


TEST(SyncSelection, ReadinessIsForgottenWhenTheWalsenderChanges) {
  SyncSelectionInput in;
  in.my_name = "node1";
  in.rows = {row("node2", 1000, "sync")};
  in.rows[0].pid = 77;
  in.ssn_members = {"NODE2"};  // case-insensitive
  in.flush_lsn_at_ssn_change = 1000;
  SyncSelection s = select_sync_candidates(healthy_cluster().build(), in);
  EXPECT_EQ(s.ready, (std::map<std::string, int64_t>{{"node2", 77}}));
  // Later the change point moves past the replica, but it stays ready while the same walsender runs.
  in.ready = s.ready;
  in.flush_lsn_at_ssn_change = 5000;
  EXPECT_EQ(select_sync_candidates(healthy_cluster().build(), in).allow_promote,
            (std::vector<std::string>{"node2"}));
  // No longer listed in synchronous_standby_names: forgotten.
  in.ssn_members = {};
  EXPECT_TRUE(select_sync_candidates(healthy_cluster().build(), in).ready.empty());
  in.ssn_members = {"node2"};
  // Reconnected (new pid): must confirm again.
  in.rows[0].pid = 78;
  s = select_sync_candidates(healthy_cluster().build(), in);
  EXPECT_TRUE(s.ready.empty());
  EXPECT_TRUE(s.allow_promote.empty());
  EXPECT_EQ(s.picked, (std::vector<std::string>{"node2"}));
}

TEST(SyncSelection, NotStreamingOrNotSyncIsNeverReady) {
  SyncSelectionInput in;
  in.my_name = "node1";
  in.rows = {row("node2", 1000, "potential"), row("node3", 1000, "sync")};
  in.rows[1].state = "catchup";
  in.ssn_members = {"node2", "node3"};
  SyncSelection s = select_sync_candidates(healthy_cluster().sync("node1", "node2,node3").build(), in);
  EXPECT_EQ(s.picked, (std::vector<std::string>{"node2"}));
  EXPECT_TRUE(s.allow_promote.empty());
  EXPECT_TRUE(s.ready.empty());
}

TEST(SyncStandbyNames, Parsing) {
  auto p = parse_synchronous_standby_names("");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->names.empty());
  EXPECT_EQ(p->num, 0);
  p = parse_synchronous_standby_names("*");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->star);
  p = parse_synchronous_standby_names(" node2 ");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->num, 1);
  EXPECT_EQ(p->names, (std::vector<std::string>{"node2"}));
  p = parse_synchronous_standby_names("2 (\"a\"\"b\", \"node-2\")");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->num, 2);
  EXPECT_FALSE(p->star);
  EXPECT_EQ(p->names, (std::vector<std::string>{"a\"b", "node-2"}));
  p = parse_synchronous_standby_names("ANY 1 (x, y)");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->any);
  EXPECT_EQ(p->names.size(), 2u);
  p = parse_synchronous_standby_names("FIRST 2 (a,*)");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->star);
  EXPECT_FALSE(p->any);
  p = parse_synchronous_standby_names("a, b");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->names, (std::vector<std::string>{"a", "b"}));
  // Round trip of what custos writes.
  p = parse_synchronous_standby_names(render_synchronous_standby_names({"n-1", "n2"}, false, 160000));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->names, (std::vector<std::string>{"n-1", "n2"}));
  for (const char* bad : {"(", "2 (a", "a,", "2 (a,b) c", "\"unterminated", "a b", "\"\"", "a;b"})
    EXPECT_FALSE(parse_synchronous_standby_names(bad)) << bad;
}

TEST(SyncProtocol, NamesHelpersIgnoreCaseAndOrder) {
  EXPECT_TRUE(same_names({"A", "b"}, {"B", "a"}));
  EXPECT_FALSE(same_names({"a"}, {"a", "b"}));
  EXPECT_EQ(intersect_names({"a", "B", "c"}, {"b", "c", "d"}), (std::vector<std::string>{"B", "c"}));
  EXPECT_EQ(sync_state_value("node1", {}), R"({"leader":"node1","sync_standby":null})");
  EXPECT_EQ(sync_state_value("node1", {"node3", "node2"}), R"({"leader":"node1","sync_standby":"node2,node3"})");
}

SyncSelection selection(std::vector<std::string> picked, std::vector<std::string> allow) {
  SyncSelection s;
  s.picked = std::move(picked);
  s.allow_promote = std::move(allow);
  return s;
}

TEST(SyncProtocol, SteadyStateDoesNothing) {
  SyncProtocolPlan p = plan_sync_protocol({"node2"}, selection({"node2"}, {"node2"}), false);
  EXPECT_FALSE(p.rewrite_to_allow_promote);
  EXPECT_FALSE(p.change);
  p = plan_sync_protocol({}, selection({}, {}), true);
  EXPECT_FALSE(p.change);
}

TEST(SyncProtocol, InconsistentSyncKeyIsRewritten) {
  // picked == /sync members but the standby is not confirmed synchronous (any more).
  SyncProtocolPlan p = plan_sync_protocol({"node2"}, selection({"node2"}, {}), false);
  EXPECT_TRUE(p.rewrite_to_allow_promote);
  EXPECT_FALSE(p.change);
}

TEST(SyncProtocol, NewStandbyGoesToPostgresBeforeDcs) {
  SyncProtocolPlan p = plan_sync_protocol({}, selection({"node2"}, {}), false);
  EXPECT_TRUE(p.change);
  EXPECT_FALSE(p.shrink_first);  // nothing to remove from /sync
  EXPECT_EQ(p.ssn_names, (std::vector<std::string>{"node2"}));
  // /sync only after the standby confirmed (allow_promote), and never with nothing in it.
  EXPECT_FALSE(final_sync_write(p.shrunk, {}));
  EXPECT_EQ(*final_sync_write(p.shrunk, {"node2"}), (std::vector<std::string>{"node2"}));
}

TEST(SyncProtocol, ReplacedStandbyLeavesDcsFirst) {
  // node2 was sync, now node3 is picked: /sync shrinks to nothing before PostgreSQL changes.
  SyncProtocolPlan p = plan_sync_protocol({"node2"}, selection({"node3"}, {}), false);
  EXPECT_TRUE(p.change);
  EXPECT_TRUE(p.shrink_first);
  EXPECT_TRUE(p.shrunk.empty());
  EXPECT_EQ(p.ssn_names, (std::vector<std::string>{"node3"}));
  // Two standbys, one stays synchronous throughout.
  p = plan_sync_protocol({"node2", "node3"}, selection({"node2", "node4"}, {"node2"}), false);
  EXPECT_TRUE(p.shrink_first);
  EXPECT_EQ(p.shrunk, (std::vector<std::string>{"node2"}));
  EXPECT_FALSE(final_sync_write(p.shrunk, {"node2"}));
  EXPECT_EQ(*final_sync_write(p.shrunk, {"node2", "node4"}), (std::vector<std::string>{"node2", "node4"}));
}

TEST(SyncProtocol, StrictModeWithoutStandbysUsesStar) {
  SyncProtocolPlan p = plan_sync_protocol({"node2"}, selection({}, {}), true);
  EXPECT_TRUE(p.shrink_first);
  EXPECT_TRUE(p.ssn_star);
  EXPECT_EQ(render_synchronous_standby_names(p.ssn_names, p.ssn_star, 150000), "*");
  p = plan_sync_protocol({"node2"}, selection({}, {}), false);
  EXPECT_FALSE(p.ssn_star);
  EXPECT_EQ(render_synchronous_standby_names(p.ssn_names, p.ssn_star, 150000), "");
}

}  // namespace
}  // namespace custos::ha::test
