// The lease fence in real time (short deadlines): it fires once the deadline passes without a
// new one, never while it is re-armed ahead of time, and not after disarm().
#include "agent/lease_fence.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace custos::agent {
namespace {

using namespace std::chrono_literals;

bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  const auto end = MonoClock::now() + limit;
  while (MonoClock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

TEST(LeaseFence, FiresWhenTheDeadlinePassesWithoutARefresh) {
  std::atomic<int> fired{0};
  LeaseFence f([&] { ++fired; });
  EXPECT_FALSE(f.deadline());
  const auto armed_at = MonoClock::now();
  f.arm(armed_at + 50ms);
  ASSERT_TRUE(wait_for([&] { return fired == 1; }, 2s));
  EXPECT_GE(MonoClock::now() - armed_at, 50ms);
  EXPECT_EQ(f.fired(), 1);
  EXPECT_FALSE(f.deadline());  // fired once, then disarmed until armed again
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(fired, 1);
}

TEST(LeaseFence, ARefreshBeforeTheDeadlineMovesItAndDisarmStopsIt) {
  std::atomic<int> fired{0};
  LeaseFence f([&] { ++fired; });
  for (int i = 0; i < 10; ++i) {
    f.arm(MonoClock::now() + 60ms);
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(fired, 0);
  f.disarm();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(fired, 0);
  EXPECT_FALSE(f.deadline());
}

TEST(LeaseFence, ADeadlineAlreadyPastFiresAtOnceAndAnEarlierOneWins) {
  std::atomic<int> fired{0};
  LeaseFence f([&] { ++fired; });
  f.arm(MonoClock::now() + 10s);
  f.arm(MonoClock::now() - 1s);  // a refresh that came too late
  ASSERT_TRUE(wait_for([&] { return fired == 1; }, 1s));
}

// The loop may be stuck: the fence's own thread acts, and arm/disarm answer while it does.
TEST(LeaseFence, TheActionRunsOnItsOwnThreadWithoutTheLock) {
  std::atomic<bool> in_action{false}, release{false};
  LeaseFence f([&] {
    in_action = true;
    while (!release) std::this_thread::sleep_for(1ms);
  });
  f.arm(MonoClock::now());
  ASSERT_TRUE(wait_for([&] { return in_action.load(); }, 1s));
  f.arm(MonoClock::now() + 10s);  // does not wait for the action
  EXPECT_TRUE(f.deadline());
  f.disarm();
  release = true;
}

}  // namespace
}  // namespace custos::agent
