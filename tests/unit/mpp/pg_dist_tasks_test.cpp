// The maintainer's task rules (src/mpp/pg_dist_tasks.h), Patroni's (spec/citus.md §5).
#include "mpp/pg_dist_tasks.h"

#include <gtest/gtest.h>

namespace custos::mpp {
namespace {

using namespace std::chrono_literals;

const MonoTime t0 = MonoTime(1000s);

PgDistTask task(int group, const std::string& primary, CitusEvent e = CitusEvent::after_promote,
                std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
  PgDistTask t;
  t.group = group;
  t.event = e;
  t.target.primary = NodeAddress{primary, 5432};
  t.target.paused = e == CitusEvent::before_demote;
  t.timeout = timeout;
  return t;
}

PgDistTasks loaded(std::vector<std::pair<int, PgDistRow>> rows = {}) {
  PgDistTasks q;
  q.load(rows);
  return q;
}

TEST(PgDistTasks, NothingIsPickedBeforePgDistNodeWasRead) {
  PgDistTasks q;
  EXPECT_TRUE(q.offer(task(1, "w1"), t0));  // queued: the cache is unknown
  EXPECT_FALSE(q.next());
  EXPECT_EQ(q.idle_for(t0), 0ms);  // read it now
}

TEST(PgDistTasks, ATaskMatchingPgDistNodeIsDropped) {
  auto q = loaded({{1, PgDistRow{5, {"w1", 5432}, "primary"}}});
  EXPECT_FALSE(q.offer(task(1, "w1"), t0));
  EXPECT_TRUE(q.offer(task(1, "w2"), t0));
}

TEST(PgDistTasks, OneTaskPerGroupTheNewerReplacingADifferentOne) {
  auto q = loaded();
  auto a = q.offer(task(1, "w1"), t0);
  EXPECT_FALSE(q.offer(task(1, "w1"), t0));  // equal: dropped
  auto b = q.offer(task(1, "w2"), t0);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(q.queued(*a));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.next()->target.primary.host, "w2");
}

TEST(PgDistTasks, AReconciliationNeverReplacesAWorkersEvent) {
  auto q = loaded({{1, PgDistRow{5, {"w1", 5432}, "primary"}}});
  ASSERT_TRUE(q.offer(task(1, "w1", CitusEvent::before_demote, 30s), t0));
  EXPECT_FALSE(q.offer(task(1, "w1"), t0));
  EXPECT_EQ(q.next()->event, CitusEvent::before_demote);
  // A worker's event replaces a queued reconciliation.
  auto q2 = loaded();
  ASSERT_TRUE(q2.offer(task(1, "w1"), t0));
  EXPECT_TRUE(q2.offer(task(1, "w2", CitusEvent::before_promote, 30s), t0));
}

TEST(PgDistTasks, AReconciliationIsRefusedWhileTheWorkersTransactionIsBeforeItsDeadline) {
  auto q = loaded({{1, PgDistRow{5, {"w1", 5432}, "primary"}}});
  q.in_transaction(1, {PgDistRow{5, {"w1-demoted", 5432}, "primary"}}, true, t0 + 30s);
  EXPECT_FALSE(q.offer(task(1, "w1"), t0 + 10s));
  EXPECT_TRUE(q.offer(task(1, "w1"), t0 + 31s));
}

TEST(PgDistTasks, TheCoordinatorsGroupGoesFirstThenTheOldest) {
  auto q = loaded();
  ASSERT_TRUE(q.offer(task(2, "b"), t0));
  ASSERT_TRUE(q.offer(task(1, "a"), t0));
  ASSERT_TRUE(q.offer(task(0, "c"), t0));
  auto first = q.next();
  EXPECT_EQ(first->group, 0);
  q.finish(first->id);
  EXPECT_EQ(q.next()->group, 2);
}

TEST(PgDistTasks, WhileATransactionIsOpenOnlyItsGroupIsServed) {
  auto q = loaded({{1, PgDistRow{5, {"w1", 5432}, "primary"}}});
  q.in_transaction(1, {PgDistRow{5, {"w1-demoted", 5432}, "primary"}}, true, t0 + 30s);
  ASSERT_TRUE(q.offer(task(2, "x"), t0));
  EXPECT_FALSE(q.next());
  EXPECT_FALSE(q.rollback_due(t0 + 29s));
  EXPECT_EQ(q.idle_for(t0), 30001ms);
  EXPECT_TRUE(q.rollback_due(t0 + 30s));
  // after_promote of the open group is served (it commits) even if it changes nothing more.
  ASSERT_TRUE(q.offer(task(1, "w2", CitusEvent::after_promote, 30s), t0));
  EXPECT_EQ(q.next()->group, 1);
}

TEST(PgDistTasks, AnOpenTransactionWithNothingElseWaitingStaysOpen) {
  auto q = loaded();
  q.in_transaction(1, {}, true, t0 + 1s);
  EXPECT_FALSE(q.rollback_due(t0 + 100s));
  EXPECT_FALSE(q.idle_for(t0 + 100s));
}

TEST(PgDistTasks, CommittedRowsUpdateTheCacheAndInvalidateForgetsTheTransaction) {
  auto q = loaded();
  q.in_transaction(1, {PgDistRow{5, {"w1-demoted", 5432}, "primary"}}, true, t0 + 30s);
  EXPECT_EQ(q.rows_of(1).front().address.host, "w1-demoted");
  q.committed(1, {PgDistRow{5, {"w2", 5432}, "primary"}});
  EXPECT_FALSE(q.transaction());
  EXPECT_FALSE(q.offer(task(1, "w2"), t0));
  q.in_transaction(1, {}, true, t0);
  q.invalidate();
  EXPECT_FALSE(q.transaction());
  EXPECT_FALSE(q.cache_valid());
}

TEST(CitusEventMessage, ParsesPatronisBodyAndNamesWhatIsWrong) {
  auto ok = CitusEventMessage::parse(nlohmann::json::parse(
      R"({"type": "before_demote", "group": 2, "leader": "w1", "timeout": 30, "cooldown": 10})"));
  ASSERT_TRUE(std::holds_alternative<CitusEventMessage>(ok));
  auto m = std::get<CitusEventMessage>(ok);
  EXPECT_EQ(m.type, CitusEvent::before_demote);
  EXPECT_EQ(m.group, 2);
  EXPECT_EQ(m.leader, "w1");
  EXPECT_EQ(m.to_json()["type"], "before_demote");
  for (const char* bad : {R"([])", R"({"group": 1, "leader": "a"})", R"({"type": "x", "group": 1, "leader": "a"})",
                          R"({"type": "after_promote", "group": "1", "leader": "a"})",
                          R"({"type": "after_promote", "group": -1, "leader": "a"})",
                          R"({"type": "after_promote", "group": 1})",
                          R"({"type": "after_promote", "group": 1, "leader": "a", "timeout": "x"})"}) {
    auto r = CitusEventMessage::parse(nlohmann::json::parse(bad));
    EXPECT_TRUE(std::holds_alternative<std::string>(r)) << bad;
  }
}

}  // namespace
}  // namespace custos::mpp
