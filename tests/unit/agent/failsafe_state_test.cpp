#include "agent/failsafe_state.h"

#include <gtest/gtest.h>

namespace custos::agent {
namespace {

TEST(FailsafeState, AReceivedLeaderLastsTtlSeconds) {
  FailsafeState s;
  EXPECT_FALSE(s.is_active(100, 30));
  FailsafeState::Leader l;
  l.name = "n1";
  l.api_url = "http://n1/patroni";
  l.received_at = 100;
  s.update(l);
  EXPECT_TRUE(s.is_active(129.9, 30));
  ASSERT_TRUE(s.leader(129.9, 30));
  EXPECT_EQ(s.leader(129.9, 30)->name, "n1");
  EXPECT_FALSE(s.is_active(130, 30));
  EXPECT_FALSE(s.leader(130, 30));
}

TEST(FailsafeState, ThePrimarysConfirmationAndItsReset) {
  FailsafeState s;
  s.set_active(50);
  EXPECT_TRUE(s.is_active(60, 30));
  EXPECT_FALSE(s.leader(60, 30));  // a primary has no other leader
  s.set_active(std::nullopt);
  EXPECT_FALSE(s.is_active(60, 30));
  FailsafeState::Leader l;
  l.name = "n1";
  l.received_at = 55;
  s.update(l);
  s.set_active(std::nullopt);  // reset forgets the leader too, as Patroni's set_is_active(0)
  EXPECT_FALSE(s.leader(60, 30));
}

}  // namespace
}  // namespace custos::agent
