// The lease fence in real time (short deadlines): it fires once the deadline passes without a
// new one, never while it is re-armed ahead of time, and not after disarm().
#include "agent/lease_fence.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "sim_clock.h"

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
  SystemClock clock;
  LeaseFence f(clock, [&] { ++fired; });
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
  SystemClock clock;
  LeaseFence f(clock, [&] { ++fired; });
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
  SystemClock clock;
  LeaseFence f(clock, [&] { ++fired; });
  f.arm(MonoClock::now() + 10s);
  f.arm(MonoClock::now() - 1s);  // a refresh that came too late
  ASSERT_TRUE(wait_for([&] { return fired == 1; }, 1s));
}

// The loop may be stuck: the fence's own thread acts, and arm/disarm answer while it does.
TEST(LeaseFence, TheActionRunsOnItsOwnThreadWithoutTheLock) {
  std::atomic<bool> in_action{false}, release{false};
  SystemClock clock;
  LeaseFence f(clock, [&] {
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

// A deadline that fired is not armed again (a stale re-arm from a cycle that saw the old lease
// must not stop a PostgreSQL started since); a later one is.
TEST(LeaseFence, ADeadlineThatFiredIsNotArmedAgain) {
  std::atomic<int> fired{0};
  SystemClock clock;
  LeaseFence f(clock, [&] { ++fired; });
  const auto d = MonoClock::now() - 1s;
  f.arm(d);
  ASSERT_TRUE(wait_for([&] { return fired == 1; }, 1s));
  f.arm(d);
  f.arm(d - 1s);
  EXPECT_FALSE(f.deadline());
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(fired, 1);
  f.arm(MonoClock::now() + 10s);
  EXPECT_TRUE(f.deadline());
}

// Deadlines count on the agent's Clock: a simulated clock far from the host's never fires by
// itself, and fires when it has passed the deadline and the fence looks again.
TEST(LeaseFence, DeadlinesCountOnTheAgentsClock) {
  std::atomic<int> fired{0};
  test::SimClock sim;
  LeaseFence f(sim, [&] { ++fired; });
  f.arm(sim.now() + 10s);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(fired, 0);
  sim.advance(11s);
  f.arm(sim.now() - 1ms);
  ASSERT_TRUE(wait_for([&] { return fired == 1; }, 1s));
}

TEST(LeaseFence, StopEndsTheThreadAndArmDoesNothingAfterwards) {
  std::atomic<int> fired{0};
  SystemClock clock;
  LeaseFence f(clock, [&] { ++fired; });
  f.arm(MonoClock::now() + 50ms);
  f.stop();
  f.arm(MonoClock::now() - 1s);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(fired, 0);
  EXPECT_FALSE(f.deadline());
}

}  // namespace
}  // namespace custos::agent
