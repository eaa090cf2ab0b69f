// SyncReplication::leave_sync_role (ha.md §6.4): a replica stopping or restarting in synchronous
// mode first gives up the synchronous standby role. It waits (on a simulated clock) only while the
// current leader's /sync lists it, and never on a DCS it cannot read: the role is a hint.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "agent/sync_replication.h"
#include "ha/sync_selection.h"
#include "in_memory_dcs.h"
#include "sim_clock.h"

namespace custos::agent {
namespace {

std::optional<dcs::DcsError> unreachable() { return dcs::DcsError{dcs::DcsErrorKind::kUnreachable, "no etcd"}; }

struct Fixture {
  test::SimClock clock;
  test::InMemoryStore store{clock};
  test::InMemoryDcs dcs{store, "replica1"};
  int publishes = 0;
  bool publish_ok = true;

  // Calls leave_sync_role as replica1 with a 10 s wait (2 x loop_wait 5).
  bool leave() {
    return SyncReplication::leave_sync_role(dcs, clock, "replica1", 10, [this] {
      ++publishes;
      return publish_ok;
    });
  }

  // Leader "p" holds the lock and its /sync lists `standby`.
  void led_by_p_with_sync_standby(const std::string& standby) {
    store.put("leader", "p");
    store.put("sync", R"({"leader":"p","sync_standby":")" + standby + R"("})");
  }

  double elapsed() const { return clock.now_seconds() - start; }
  const double start = clock.now_seconds();
};

// Counts the cluster reads of replica1, and lets a test change the store at a chosen read.
void on_reads(Fixture& f, std::function<std::optional<dcs::DcsError>(int read)> at_read) {
  auto reads = std::make_shared<int>(0);
  f.store.set_fault([reads, at_read](const std::string& member, const std::string& op) -> std::optional<dcs::DcsError> {
    if (member != "replica1" || op != "get_cluster") return std::nullopt;
    return at_read(++*reads);
  });
}

TEST(IsSyncStandby, OnlyTheCurrentLeadersSyncKeyBindsAStandby) {
  test::SimClock clock;
  test::InMemoryStore store{clock};
  test::InMemoryDcs dcs{store, "r"};
  auto cluster = [&] { return *dcs.get_cluster(); };

  store.put("sync", R"({"leader":"p","sync_standby":"R1,r2"})");
  EXPECT_FALSE(ha::is_sync_standby(cluster(), "r1")) << "no leader: nobody is bound";
  store.put("leader", "p");
  EXPECT_TRUE(ha::is_sync_standby(cluster(), "r1")) << "names compare case-insensitively";
  EXPECT_TRUE(ha::is_sync_standby(cluster(), "r2"));
  EXPECT_FALSE(ha::is_sync_standby(cluster(), "r3"));
  store.put("leader", "r2");
  EXPECT_FALSE(ha::is_sync_standby(cluster(), "r1")) << "/sync of a former leader binds nobody";
  store.erase("sync");
  store.put("leader", "p");
  EXPECT_FALSE(ha::is_sync_standby(cluster(), "r1"));
}

TEST(LeaveSyncRole, AReplicaThatIsNotAStandbyOfTheLeaderPublishesNosyncAndGoesOn) {
  // Published anyway, as Patroni does: the primary must not pick it while it stops.
  Fixture f;
  f.led_by_p_with_sync_standby("replica2");
  EXPECT_TRUE(f.leave());
  EXPECT_EQ(f.publishes, 1);
  EXPECT_EQ(f.elapsed(), 0.0);
}

TEST(LeaveSyncRole, WaitsUntilTheLeaderRemovesIt) {
  Fixture f;
  f.led_by_p_with_sync_standby("replica1");
  // The leader rewrites /sync before the third read (reads 1 and 2, at 0 and 2 s, still list it).
  on_reads(f, [&f](int read) -> std::optional<dcs::DcsError> {
    if (read == 3) f.store.put("sync", R"({"leader":"p","sync_standby":"replica2"})");
    return std::nullopt;
  });
  EXPECT_TRUE(f.leave());
  EXPECT_EQ(f.publishes, 1);
  EXPECT_DOUBLE_EQ(f.elapsed(), 4.0) << "read at once after the publish, then every 2 s";
}

TEST(LeaveSyncRole, StopsWaitingWhenTheLeaderIsGone) {
  // The whole cluster stopping: the primary's agent deletes the leader key first. /sync still
  // names this node, but it binds nobody now: no point waiting 2 x loop_wait for it.
  Fixture f;
  f.led_by_p_with_sync_standby("replica1");
  on_reads(f, [&f](int read) -> std::optional<dcs::DcsError> {
    if (read == 2) f.store.erase("leader");
    return std::nullopt;
  });
  EXPECT_TRUE(f.leave());
  EXPECT_DOUBLE_EQ(f.elapsed(), 2.0);
}

TEST(LeaveSyncRole, GivesUpAfterTwiceLoopWait) {
  Fixture f;
  f.led_by_p_with_sync_standby("replica1");
  EXPECT_FALSE(f.leave());
  EXPECT_EQ(f.publishes, 1);
  EXPECT_DOUBLE_EQ(f.elapsed(), 10.0);
}

TEST(LeaveSyncRole, AnUnreadableDcsEndsTheWait) {
  Fixture f;
  f.led_by_p_with_sync_standby("replica1");
  on_reads(f, [](int read) -> std::optional<dcs::DcsError> {
    if (read >= 2) return unreachable();
    return std::nullopt;
  });
  EXPECT_FALSE(f.leave());
  EXPECT_DOUBLE_EQ(f.elapsed(), 2.0) << "the failed read after 2 s ends it, not the 10 s deadline";
}

TEST(LeaveSyncRole, AnUnreadableDcsAtTheStartStopsAtOnce) {
  Fixture f;
  on_reads(f, [](int) { return unreachable(); });
  EXPECT_FALSE(f.leave());
  EXPECT_EQ(f.publishes, 1);
  EXPECT_EQ(f.elapsed(), 0.0);
}

TEST(LeaveSyncRole, AFailedPublishSkipsTheWait) {
  // The primary cannot see `nosync` if the member key was not written: waiting would only delay
  // the stop.
  Fixture f;
  f.publish_ok = false;
  f.led_by_p_with_sync_standby("replica1");
  EXPECT_FALSE(f.leave());
  EXPECT_EQ(f.publishes, 1);
  EXPECT_EQ(f.elapsed(), 0.0);
  for (const auto& op : f.store.log()) EXPECT_NE(op, "replica1:get_cluster");
}

TEST(LeaveSyncRole, ACancelledRestartEndsTheWait) {
  Fixture f;
  f.led_by_p_with_sync_standby("replica1");
  CancelToken cancel;
  on_reads(f, [&cancel](int read) -> std::optional<dcs::DcsError> {
    if (read == 2) cancel.cancel();
    return std::nullopt;
  });
  EXPECT_FALSE(SyncReplication::leave_sync_role(f.dcs, f.clock, "replica1", 10, [] { return true; }, &cancel));
  EXPECT_DOUBLE_EQ(f.elapsed(), 2.0);
}

}  // namespace
}  // namespace custos::agent
