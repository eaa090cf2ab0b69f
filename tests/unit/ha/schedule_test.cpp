// The scheduled action window (ha.md §3.10, §3.16, §14).
#include <gtest/gtest.h>

#include "ha/schedule.h"

namespace custos::ha {
namespace {

TEST(Schedule, Window) {
  EXPECT_EQ(check_schedule(1000 + 11, 1000, 10).verdict, ScheduleVerdict::wait);
  ScheduleCheck near = check_schedule(1000 + 10, 1000, 10);
  EXPECT_EQ(near.verdict, ScheduleVerdict::run);
  EXPECT_EQ(near.sleep_seconds, 10);
  EXPECT_EQ(check_schedule(1000 - 15, 1000, 10).verdict, ScheduleVerdict::run);
  EXPECT_EQ(check_schedule(1000 - 15, 1000, 10).sleep_seconds, 0);
  EXPECT_EQ(check_schedule(1000 - 15.5, 1000, 10).verdict, ScheduleVerdict::stale);
  // int(1.5 * 3) = 4
  EXPECT_EQ(check_schedule(1000 - 4.5, 1000, 3).verdict, ScheduleVerdict::stale);
  EXPECT_EQ(check_schedule(1000 - 4, 1000, 3).verdict, ScheduleVerdict::run);
}

}  // namespace
}  // namespace custos::ha
