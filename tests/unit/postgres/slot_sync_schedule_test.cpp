#include "postgres/slot_sync_schedule.h"

#include <gtest/gtest.h>

using custos::postgres::ExpectedSlot;
using custos::postgres::SlotSyncRequest;
using custos::postgres::SlotSyncSchedule;
using namespace std::chrono_literals;

namespace {

SlotSyncRequest routine_request() {
  SlotSyncRequest r;
  r.expected["node2"] = ExpectedSlot{};
  r.routine = true;
  return r;
}

const SlotSyncSchedule::TimePoint t0{std::chrono::hours(1)};

}  // namespace

TEST(SlotSyncSchedule, AnUnchangedRoutineRequestAfterASettledOneIsSkippedUntilTheRecheck) {
  SlotSyncSchedule s;
  const auto req = routine_request();
  EXPECT_TRUE(s.due(req, 100, t0));  // never reconciled
  s.record(req, 100, t0, true);
  EXPECT_FALSE(s.due(req, 100, t0 + 2s));
  EXPECT_FALSE(s.due(req, 100, t0 + SlotSyncSchedule::kRecheck - 1ms));
  EXPECT_TRUE(s.due(req, 100, t0 + SlotSyncSchedule::kRecheck));
}

TEST(SlotSyncSchedule, AnythingTheReconciliationDependsOnMakesItDue) {
  SlotSyncSchedule s;
  const auto req = routine_request();
  s.record(req, 100, t0, true);
  EXPECT_TRUE(s.due(req, 101, t0 + 1s)) << "another postmaster";
  EXPECT_TRUE(s.due(req, std::nullopt, t0 + 1s)) << "no postmaster known";
  auto other = req;
  other.expected["node3"] = ExpectedSlot{};
  EXPECT_TRUE(s.due(other, 100, t0 + 1s)) << "a member joined";
  other = req;
  other.expected["node2"].lsn = 0x3000000;
  EXPECT_TRUE(s.due(other, 100, t0 + 1s)) << "a position to advance to moved";
  other = req;
  other.primary = true;
  EXPECT_TRUE(s.due(other, 100, t0 + 1s)) << "promoted";
  other = req;
  other.drop_unknown = false;
  EXPECT_TRUE(s.due(other, 100, t0 + 1s)) << "paused";
  other = req;
  other.ignore.push_back({std::string("x"), "", "", ""});
  EXPECT_TRUE(s.due(other, 100, t0 + 1s)) << "ignore_slots changed";
  other = req;
  other.routine = false;
  EXPECT_TRUE(s.due(other, 100, t0 + 1s)) << "a call that must act now (before a promotion)";
  EXPECT_TRUE(s.due(req, 100, t0 - 1s)) << "the clock went back";
}

TEST(SlotSyncSchedule, AReconciliationThatChangedOrFailedSomethingIsCheckedAgainNextTime) {
  SlotSyncSchedule s;
  const auto req = routine_request();
  s.record(req, 100, t0, true);
  s.record(req, 100, t0 + 1s, false);
  EXPECT_TRUE(s.due(req, 100, t0 + 2s));
  s.record(req, 100, t0 + 2s, true);
  EXPECT_FALSE(s.due(req, 100, t0 + 3s));
}
