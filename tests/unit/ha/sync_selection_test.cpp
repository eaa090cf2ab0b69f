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

}  // namespace
}  // namespace custos::ha::test
