// ha.md §2.8, §2.10, §2.11, §3.1, §3.2.
#include "builders.h"

namespace custos::ha::test {
namespace {

LocalState empty_node(const std::string& name = "node1") {
  LocalState s = replica_state(name);
  s.data_dir = DataDir::empty;
  s.process = PgProcess::stopped;
  s.state = PgState::stopped;
  s.sysid.clear();
  s.role = Role::uninitialized;
  return s;
}

TEST(Bootstrap, RaceForInitializeOnEmptyCluster) {
  Decision d = decide(input(dcs::Cluster::empty(), empty_node()));
  ASSERT_TRUE(d.is_conditional());
  EXPECT_EQ(d.action, Action::race_initialize);
  Decision won = d.resolve({true});
  EXPECT_EQ(won.action, Action::bootstrap);
  EXPECT_FALSE(won.find<step::Bootstrap>()->standby_leader);
  EXPECT_EQ(won.message, "trying to bootstrap a new cluster");
  EXPECT_EQ(d.resolve({false}).message, "failed to acquire initialize lock");
}

TEST(Bootstrap, NoRaceWhenNofailoverOrNoBootstrapSection) {
  DecisionInput in = input(dcs::Cluster::empty(), empty_node());
  in.local.tags.nofailover = true;
  EXPECT_EQ(decide(in).message, "waiting for leader to bootstrap");
  in.local.tags.nofailover = std::nullopt;
  in.settings.has_bootstrap_section = false;
  EXPECT_EQ(decide(in).message, "waiting for leader to bootstrap");
}

TEST(Bootstrap, CloneFromLeaderOrClonefromMember) {
  Decision d = decide(input(healthy_cluster().build(), empty_node("node4")));
  EXPECT_EQ(d.action, Action::clone);
  EXPECT_EQ(d.find<step::Clone>()->member, "node1");
  EXPECT_EQ(d.message, "trying to bootstrap from leader 'node1'");
  ClusterBuilder b = healthy_cluster();
  b.member("node3", "replica", 1000, R"(,"tags":{"clonefrom":true})");
  Decision d2 = decide(input(b.build(), empty_node("node4")));
  EXPECT_EQ(d2.message, "trying to bootstrap from replica 'node3'");
}

TEST(Bootstrap, CloneWithoutLeader) {
  DecisionInput in = input(ClusterBuilder().initialize().build(), empty_node("node4"));
  EXPECT_EQ(decide(in).message, "waiting for leader to bootstrap");
  in.settings.replica_method_without_leader = true;
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::clone);
  EXPECT_EQ(d.message, "trying to bootstrap (without leader)");
  in.cluster = ClusterBuilder().initialize("").build();  // someone is bootstrapping
  EXPECT_EQ(decide(in).message, "waiting for leader to bootstrap");
}

TEST(Bootstrap, StandbyClusterBootstrapsStandbyLeader) {
  DecisionInput in = input(dcs::Cluster::empty(), empty_node());
  in.settings.standby_cluster.active = true;
  in.settings.standby_cluster.host = "remote";
  Decision won = decide(in).resolve({true});
  EXPECT_TRUE(won.find<step::Bootstrap>()->standby_leader);
  EXPECT_EQ(won.message, "trying to bootstrap a new standby leader");
  in.cluster = ClusterBuilder().initialize("").build();
  EXPECT_EQ(decide(in).message, "waiting for standby_leader to bootstrap");
}

TEST(Bootstrap, EmptyDataDirWhileHoldingLockReleasesIt) {
  Decision d = decide(input(healthy_cluster().build(), empty_node("node1")));
  EXPECT_TRUE(d.has(Action::release_lock));
  EXPECT_TRUE(d.has(Action::stop_postgres));
  EXPECT_EQ(d.find<step::SetRole>()->role, Role::uninitialized);
  EXPECT_EQ(d.message, "released leader key voluntarily as data dir empty and currently leader");
}

TEST(Bootstrap, InaccessibleAndPausedEmptyDataDir) {
  LocalState me = empty_node("node4");
  me.data_dir = DataDir::inaccessible;
  me.data_dir_error = "[Errno 13] Permission denied: '/data'";
  EXPECT_EQ(decide(input(healthy_cluster().build(), me)).message,
            "data directory is not accessible: [Errno 13] Permission denied: '/data'");
  me.data_dir = DataDir::empty;
  DecisionInput in = input(healthy_cluster().build(), me);
  in.settings.pause = true;
  EXPECT_EQ(decide(in).message, "PAUSE: running with empty data directory");
}

TEST(Bootstrap, PostBootstrapStages) {
  LocalState me = primary_state("node1");
  me.bootstrapping = true;
  ClusterBuilder b;
  b.initialize("").member("node1", "master");
  DecisionInput in = input(b.build(), me);
  in.local.in_recovery = true;
  EXPECT_EQ(decide(in).message, "waiting for end of recovery after bootstrap");
  in.local.in_recovery = false;
  Decision d = decide(in);
  EXPECT_EQ(d.action, Action::post_bootstrap);
  EXPECT_EQ(d.message, "running post_bootstrap");
  in.local.bootstrap_result = BootstrapResult::succeeded;
  Decision done = decide(in);
  ASSERT_TRUE(done.is_conditional());
  EXPECT_EQ(done.action, Action::activate_watchdog);
  Decision ok = done.resolve({true, true});
  EXPECT_TRUE(ok.has(Action::take_leader));
  EXPECT_FALSE(ok.find<step::WriteInitialize>()->create_new);
  EXPECT_TRUE(ok.has(Action::write_config));
  ASSERT_NE(ok.find<step::SetIsLeader>(), nullptr);
  EXPECT_TRUE(ok.find<step::SetIsLeader>()->value);
  EXPECT_EQ(ok.message, "initialized a new cluster");
  EXPECT_TRUE(done.resolve({false}).has(Action::cancel_initialization));
  EXPECT_TRUE(logs(done.resolve({false}), "error: Cancelling bootstrap because watchdog activation failed"));
}

// Writing the leader key after the bootstrap can fail (DCS trouble): the node must not then
// consider itself the leader (is_leader drives /primary and the lock refresh bookkeeping).
TEST(Bootstrap, FailedTakeLeaderNeverSetsIsLeader) {
  LocalState me = primary_state("node1");
  me.bootstrapping = true;
  me.bootstrap_result = BootstrapResult::succeeded;
  ClusterBuilder b;
  b.initialize("").member("node1", "master");
  Decision watchdog_ok = decide(input(b.build(), me)).on_success();
  ASSERT_TRUE(watchdog_ok.is_conditional());
  EXPECT_EQ(watchdog_ok.action, Action::take_leader);
  Decision not_taken = watchdog_ok.resolve({false});
  EXPECT_FALSE(not_taken.has(Action::set_is_leader));
  EXPECT_TRUE(not_taken.has(Action::fire_on_start));
  EXPECT_EQ(not_taken.message, "initialized a new cluster, but writing the leader lock failed: racing for it");
}

TEST(Bootstrap, PostBootstrapSyncModeSetsStandbyNames) {
  LocalState me = primary_state("node1");
  me.bootstrapping = true;
  me.bootstrap_result = BootstrapResult::succeeded;
  DecisionInput in = input(ClusterBuilder().initialize("").build(), me);
  in.settings.synchronous_mode = true;
  in.settings.synchronous_mode_strict = true;
  EXPECT_EQ(decide(in).resolve({true, true}).find<step::SetSynchronousStandbyNames>()->value, "*");
}

TEST(Bootstrap, FailedBootstrapIsCancelled) {
  LocalState me = primary_state("node1");
  me.bootstrapping = true;
  me.process = PgProcess::stopped;
  Decision d = decide(input(ClusterBuilder().initialize("").build(), me));
  EXPECT_TRUE(d.has(Action::cancel_initialization));
  EXPECT_TRUE(d.has(Action::rename_data_directory));
  EXPECT_TRUE(d.has(Action::fatal_exit));
  EXPECT_EQ(d.steps.back().action(), Action::fatal_exit);
}

TEST(Sysid, MismatchIsFatalUnlessPaused) {
  DecisionInput in = input(healthy_cluster().build(), replica_state("node2"));
  in.local.sysid = "7000000000000000002";
  EXPECT_EQ(decide(in).action, Action::fatal_exit);
  in.settings.pause = true;
  EXPECT_NE(decide(in).action, Action::fatal_exit);
  in.local = primary_state("node1");
  in.local.sysid = "7000000000000000002";
  Decision d = decide(in);
  EXPECT_TRUE(d.has(Action::release_lock));
  EXPECT_EQ(d.message, "PAUSE: released leader key voluntarily due to the system ID mismatch");
  EXPECT_TRUE(logs(d,
                   "warning: system ID has changed while in paused mode. Patroni will exit when resuming unless "
                   "system ID is reset: " + *in.cluster->initialize() + " != 7000000000000000002"));
  EXPECT_TRUE(d.find<step::ReleaseLock>()->voluntarily);
}

TEST(Sysid, ARunningReplicaWithoutInitializeKeyAbortsInPatronisWords) {
  ClusterBuilder b;
  b.member("node1", "master");
  DecisionInput in = input(b.build(), replica_state("node2"));
  in.local.on_start_fired = false;
  Decision d = decide(in);
  ASSERT_EQ(d.action, Action::fatal_exit);
  EXPECT_TRUE(logs(d, "error: No initialize key in DCS and PostgreSQL is running as replica, aborting start"));
  EXPECT_TRUE(logs(d, "error: Please first start Patroni on the node running as primary"));
  EXPECT_EQ(d.find<step::FatalExit>()->reason, "");  // nothing more at exit
}

TEST(Sysid, InvalidLocalSysidSuggestsReinitialize) {
  LocalState me = replica_state("node2");
  me.sysid = "123";
  EXPECT_EQ(decide(input(healthy_cluster().build(), me)).message,
            "data dir for the cluster is not empty, but system ID is invalid; consider doing reinitialize");
}

TEST(Sysid, UnlockedWithoutInitializeWritesIt) {
  ClusterBuilder b;
  b.member("node1", "master");
  DecisionInput in = input(b.build(), primary_state("node1"));
  in.local.on_start_fired = false;
  Decision d = decide(in);
  ASSERT_NE(d.find(Action::write_initialize), nullptr);
  EXPECT_TRUE(d.find<step::WriteInitialize>()->create_new);
  in.local = replica_state("node1");
  in.local.on_start_fired = false;
  EXPECT_EQ(decide(in).action, Action::fatal_exit);
}

}  // namespace
}  // namespace custos::ha::test
