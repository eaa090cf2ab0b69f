#include "agent/schedule.h"

#include <gtest/gtest.h>

using custos::agent::next_run;

TEST(Schedule, NoDriftWhenTheCycleIsShort) {
  // Scheduled at 100, loop_wait 10, the cycle took 3 s: next at 110, not 113.
  auto r = next_run(100, 10, 103);
  EXPECT_DOUBLE_EQ(r.at, 110);
  EXPECT_FALSE(r.overran);
  // Successive cycles keep the grid.
  r = next_run(r.at, 10, 110.7);
  EXPECT_DOUBLE_EQ(r.at, 120);
}

TEST(Schedule, OverrunRunsAtOnce) {
  auto r = next_run(100, 10, 125);
  EXPECT_TRUE(r.overran);
  EXPECT_DOUBLE_EQ(r.at, 125);
  // The grid is re-anchored at the late run, no burst of catch-up cycles.
  r = next_run(r.at, 10, 126);
  EXPECT_DOUBLE_EQ(r.at, 135);
  EXPECT_FALSE(r.overran);
}

TEST(Schedule, ExactlyOnTimeIsNotAnOverrun) {
  auto r = next_run(100, 10, 110);
  EXPECT_FALSE(r.overran);
  EXPECT_DOUBLE_EQ(r.at, 110);
}
