// ha.md §3.14 (async action in progress) and §3.15 (PostgreSQL starting).
#include "builders.h"

namespace custos::ha::test {
namespace {

TEST(Async, LockHolderRefreshesDuringAction) {
  LocalState me = replica_state("node1");
  me.async = AsyncTask{AsyncKind::promote, ""};
  Decision d = decide(input(healthy_cluster().build(), me));
  EXPECT_EQ(d.resolve({true}).message, "updated leader lock during promote");
  Decision fail = d.resolve({false});
  EXPECT_TRUE(fail.has(Action::cancel_async));
  EXPECT_EQ(fail.message, "lost leader before promote");
}

TEST(Async, PromoteCancelledWithoutLock) {
  LocalState me = replica_state("node2");
  me.async = AsyncTask{AsyncKind::promote, ""};
  Decision d = decide(input(healthy_cluster().build(), me));
  EXPECT_EQ(d.message, "lost leader before promote");
}

TEST(Async, PrimaryLosingLockDuringRestartDemotes) {
  LocalState me = primary_state("node2");
  me.async = AsyncTask{AsyncKind::restart, ""};
  Decision d = decide(input(healthy_cluster().build(), me));
  EXPECT_TRUE(d.has(Action::cancel_async));
  EXPECT_EQ(d.find<step::StopPostgres>()->kind, StopKind::immediate);
  EXPECT_EQ(d.find<step::Demote>()->mode, DemoteMode::immediate_nolock);
  EXPECT_EQ(d.message, "lost leader lock during restart");
}

TEST(Async, OtherActionsJustReportProgress) {
  LocalState me = replica_state("node2");
  me.async = AsyncTask{AsyncKind::clone, "bootstrap from leader 'node1'"};
  Decision d = decide(input(healthy_cluster().build(), me));
  EXPECT_EQ(d.message, "bootstrap from leader 'node1' in progress");
  EXPECT_FALSE(d.has(Action::sync_replication_slots));
}

TEST(Async, CrashRecoveryTimeoutDemotesWhenFailoverPossible) {
  LocalState me = primary_state("node1");
  me.process = PgProcess::stopped;
  me.async = AsyncTask{AsyncKind::crash_recovery, ""};
  DecisionInput in = input(healthy_cluster().build(), me);
  in.local.crash_recovery_started = in.now - 301;
  in.members = {replica_status("node2", 1000)};
  Decision ok = decide(in).resolve({true});
  EXPECT_EQ(ok.find<step::Demote>()->mode, DemoteMode::immediate);
  EXPECT_EQ(ok.message, "terminated crash recovery because of startup timeout");
  in.local.crash_recovery_started = in.now - 100;
  EXPECT_EQ(decide(in).resolve({true}).message,
            "updated leader lock during doing crash recovery in a single user mode");
}

TEST(Starting, LockHolderStartTimeout) {
  LocalState me = primary_state("node1");
  me.process = PgProcess::starting;
  me.state = PgState::starting;
  DecisionInput in = input(healthy_cluster().build(), me);
  in.local.state_since = in.now - 200;
  Decision d = decide(in);
  EXPECT_EQ(d.resolve({true}).message, "PostgreSQL is still starting up, 100 seconds until timeout");
  Decision fail = d.resolve({false});
  EXPECT_EQ(fail.find<step::Demote>()->mode, DemoteMode::immediate_nolock);
  in.local.state_since = in.now - 400;
  in.members = {replica_status("node2", 1000)};
  Decision late = decide(in).resolve({true});
  EXPECT_EQ(late.find<step::Demote>()->mode, DemoteMode::immediate);
  EXPECT_EQ(late.message, "stopped PostgreSQL because of startup timeout");
  in.members = {};
  EXPECT_EQ(decide(in).resolve({true}).message,
            "primary start has timed out, but continuing to wait because failover is not possible");
  in.local.start_timeout = 1000;
  EXPECT_EQ(decide(in).resolve({true}).message, "PostgreSQL is still starting up, 600 seconds until timeout");
}

TEST(Starting, PausedStartIsNotTimedOut) {
  LocalState me = primary_state("node1");
  me.process = PgProcess::starting;
  DecisionInput in = input(healthy_cluster().build(), me);
  in.settings.pause = true;
  in.local.state_since = in.now - 4000;
  in.members = {replica_status("node2", 1000)};
  for (const Path& p : all_paths(decide(in))) EXPECT_EQ(step_index(p.steps, Action::demote), -1);
}

}  // namespace
}  // namespace custos::ha::test
