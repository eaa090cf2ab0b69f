#include "common/fresh_call_batch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

using custos::FreshCallBatch;
using namespace std::chrono_literals;

namespace {

std::chrono::steady_clock::time_point in(std::chrono::milliseconds d) { return std::chrono::steady_clock::now() + d; }

// Waits (bounded) until `n` callers wait on another's call.
bool wait_for_waiters(const FreshCallBatch<int>& batch, int n) {
  for (int i = 0; i < 1000 && batch.waiting() < n; ++i) std::this_thread::sleep_for(5ms);
  return batch.waiting() >= n;
}

}  // namespace

TEST(FreshCallBatch, ALoneCallerRunsTheCallItself) {
  FreshCallBatch<int> batch;
  EXPECT_EQ(batch.get([] { return 7; }, in(1s)), 7);
  EXPECT_EQ(batch.get([] { return 8; }, in(1s)), 8);
  EXPECT_EQ(batch.calls_started(), 2u);
}

TEST(FreshCallBatch, CallersArrivingDuringACallShareTheNextOneAndNeverGetTheOlderAnswer) {
  FreshCallBatch<int> batch;
  std::atomic<int> generation{0};
  std::promise<void> release_first;
  std::shared_future<void> first_released = release_first.get_future().share();
  // Each call answers its own generation; the first one blocks until released.
  auto call = [&] {
    const int g = ++generation;
    if (g == 1) first_released.wait();
    return g;
  };
  auto first = std::async(std::launch::async, [&] { return batch.get(call, in(10s)); });
  for (int i = 0; i < 1000 && generation.load() == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(generation.load(), 1);

  constexpr int kLate = 8;
  std::vector<std::future<std::optional<int>>> late;
  for (int i = 0; i < kLate; ++i)
    late.push_back(std::async(std::launch::async, [&] { return batch.get(call, in(10s)); }));
  ASSERT_TRUE(wait_for_waiters(batch, kLate));
  release_first.set_value();

  EXPECT_EQ(first.get(), 1);
  for (auto& f : late) {
    auto r = f.get();
    ASSERT_TRUE(r.has_value());
    // Started after they asked: never the first call's answer, and all shared one call.
    EXPECT_EQ(*r, 2);
  }
  EXPECT_EQ(batch.calls_started(), 2u);
}

TEST(FreshCallBatch, AWaiterGivesUpAtItsDeadline) {
  FreshCallBatch<int> batch;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> entered{false};
  auto slow = std::async(std::launch::async, [&] {
    return batch.get([&] { entered = true; released.wait(); return 1; }, in(10s));
  });
  for (int i = 0; i < 1000 && !entered; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(entered);
  EXPECT_EQ(batch.get([] { return 2; }, in(50ms)), std::nullopt);
  release.set_value();
  EXPECT_EQ(slow.get(), 1);
}

TEST(FreshCallBatch, AFailingCallReachesItsCallerAndTheWaitersRunTheirOwn) {
  FreshCallBatch<int> batch;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> entered{false};
  auto failing = std::async(std::launch::async, [&] {
    return batch.get([&]() -> int { entered = true; released.wait(); throw std::runtime_error("boom"); }, in(10s));
  });
  for (int i = 0; i < 1000 && !entered; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(entered);
  auto waiter = std::async(std::launch::async, [&] { return batch.get([] { return 3; }, in(10s)); });
  ASSERT_TRUE(wait_for_waiters(batch, 1));
  release.set_value();
  EXPECT_THROW(failing.get(), std::runtime_error);
  EXPECT_EQ(waiter.get(), 3);
  EXPECT_EQ(batch.calls_started(), 2u);
}

TEST(FreshCallBatch, NoCallStartsOnceTheCallersDeadlineHasPassed) {
  FreshCallBatch<int> batch;
  bool called = false;
  EXPECT_EQ(batch.get(
                [&] {
                  called = true;
                  return 1;
                },
                in(-1ms)),
            std::nullopt);
  EXPECT_FALSE(called);
  EXPECT_EQ(batch.calls_started(), 0u);
}
