// LoopWaker: no wake-up is lost (before the wait, between deciding to watch and the watch, during
// it) and a stop ends every kind of wait; the sleep step ends only on the stop.
#include "agent/loop_waker.h"

#include <gtest/gtest.h>

#include <thread>

#include "in_memory_dcs.h"
#include "sim_clock.h"

namespace custos::test {
namespace {

using namespace std::chrono_literals;

struct Waker {
  SystemClock clock;
  InMemoryStore store{clock};
  InMemoryDcs dcs{store, "node1"};
  agent::LoopWaker waker{clock, dcs};
};

TEST(LoopWaker, AWakeBeforeTheWaitEndsItAtOnce) {
  Waker w;
  w.waker.wake();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(w.waker.wait_until(w.clock.now() + 10s, std::nullopt), agent::WaitOutcome::woken);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  // Delivered once: the next wait runs to its deadline.
  EXPECT_EQ(w.waker.wait_until(w.clock.now() + 50ms, std::nullopt), agent::WaitOutcome::deadline);
}

TEST(LoopWaker, AWakeBeforeTheWatchEndsTheWatchAtOnce) {
  Waker w;
  w.waker.wake();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(w.waker.wait_until(w.clock.now() + 10s, std::optional<dcs::Version>()), agent::WaitOutcome::woken);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST(LoopWaker, StopDuringAWatchOrASleepEndsIt) {
  for (bool watch : {false, true}) {
    Waker w;
    std::thread stopper([&] {
      std::this_thread::sleep_for(100ms);
      w.waker.request_stop();
    });
    const auto t0 = std::chrono::steady_clock::now();
    auto outcome = watch ? w.waker.wait_until(w.clock.now() + 20s, std::optional<dcs::Version>())
                         : w.waker.wait_until(w.clock.now() + 20s, std::nullopt);
    stopper.join();
    EXPECT_EQ(outcome, agent::WaitOutcome::stop_requested) << watch;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  }
  Waker w;
  std::thread stopper([&] {
    std::this_thread::sleep_for(100ms);
    w.waker.wake();  // a wake does not end the sleep step
    std::this_thread::sleep_for(100ms);
    w.waker.request_stop();
  });
  EXPECT_EQ(w.waker.sleep_until(w.clock.now() + 20s), agent::WaitOutcome::stop_requested);
  stopper.join();
}

TEST(LoopWaker, AStopBeforeTheWaitIsNeverLost) {
  Waker w;
  w.waker.request_stop();
  EXPECT_TRUE(w.waker.stop_requested());
  EXPECT_EQ(w.waker.wait_until(w.clock.now() + 20s, std::optional<dcs::Version>()), agent::WaitOutcome::stop_requested);
  EXPECT_EQ(w.waker.sleep_until(w.clock.now() + 20s), agent::WaitOutcome::stop_requested);
}

TEST(LoopWaker, ALeaderChangeEndsTheWatch) {
  SimClock clock;
  InMemoryStore store{clock};
  InMemoryDcs dcs{store, "node2"};
  InMemoryDcs other{store, "node1"};
  ASSERT_TRUE(other.attempt_to_acquire_leader());
  auto c = dcs.get_cluster();
  ASSERT_TRUE(c && c->leader());
  agent::LoopWaker waker(clock, dcs);
  // The lease (ttl 30 on the simulated clock) runs out during a 60 s watch: a change.
  EXPECT_EQ(waker.wait_until(clock.now() + 60s, std::optional<dcs::Version>(c->leader()->version)),
            agent::WaitOutcome::woken);
  EXPECT_FALSE(store.get("leader"));
}

}  // namespace
}  // namespace custos::test
