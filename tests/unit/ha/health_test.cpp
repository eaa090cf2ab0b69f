// The leader-race verdict's reason as a small fixed code (the custos_leader_race_verdict label).
#include "ha/health.h"

#include <gtest/gtest.h>

TEST(RaceReasonCode, EveryVerdictHasASmallCode) {
  using custos::ha::race_reason_code;
  EXPECT_EQ(race_reason_code("healthiest"), "healthiest");
  EXPECT_EQ(race_reason_code("primary (n1) is still alive"), "primary_alive");
  EXPECT_EQ(race_reason_code("wal position of n3 is ahead of my wal position"), "member_ahead");
  EXPECT_EQ(race_reason_code("n3 has equally tolerable WAL position and higher priority"), "member_preferred");
  EXPECT_EQ(race_reason_code("my wal position exceeds maximum replication lag"), "lagging");
  EXPECT_EQ(race_reason_code("quorum 2 not reached (1 votes)"), "quorum_not_reached");
  EXPECT_EQ(race_reason_code("my timeline is behind last known cluster timeline"), "timeline_behind");
  EXPECT_EQ(race_reason_code("can not figure out my timeline"), "timeline_unknown");
  EXPECT_EQ(race_reason_code("paused"), "paused");
  EXPECT_EQ(race_reason_code("paused: failover without candidate"), "manual_failover");
  EXPECT_EQ(race_reason_code("not allowed to promote"), "nofailover");
  EXPECT_EQ(race_reason_code("not a synchronous standby"), "not_synchronous");
  EXPECT_EQ(race_reason_code("switchover in synchronous mode and not in /sync"), "not_synchronous");
  EXPECT_EQ(race_reason_code("watchdog device is not usable"), "watchdog_unusable");
  EXPECT_EQ(race_reason_code("not in /failsafe"), "not_in_failsafe");
  EXPECT_EQ(race_reason_code("manual failover to healthy n2"), "manual_failover");
  EXPECT_EQ(race_reason_code("backoff after pre_promote failure"), "pre_promote_backoff");
  EXPECT_EQ(race_reason_code("running primary"), "running_primary");
  EXPECT_EQ(race_reason_code("something new"), "other");
}
