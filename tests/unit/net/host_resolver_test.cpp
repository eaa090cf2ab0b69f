// HostResolver: names from /etc/hosts resolve, unknown names fail with the name, answers are
// shared and cached, and a deadline that already passed is honoured.
#include "net/host_resolver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

using namespace custos;
using namespace std::chrono_literals;

TEST(HostResolver, LocalhostAndUnknownNames) {
  net::HostResolver r(1);
  auto a = r.resolve("localhost", std::chrono::steady_clock::now() + 5s);
  ASSERT_TRUE(a) << a.error();
  EXPECT_TRUE(std::find(a->begin(), a->end(), "127.0.0.1") != a->end() ||
              std::find(a->begin(), a->end(), "::1") != a->end());
  auto bad = r.resolve("no-such-host.invalid", std::chrono::steady_clock::now() + 10s);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("no-such-host.invalid"), std::string::npos) << bad.error();
}

TEST(HostResolver, CachedAnswersAndConcurrentCallers) {
  net::HostResolver r(1);
  ASSERT_TRUE(r.resolve("localhost", std::chrono::steady_clock::now() + 5s));
  // From the cache: even a deadline in the past gets the answer.
  EXPECT_TRUE(r.resolve("localhost", std::chrono::steady_clock::now() - 1s));
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i)
    callers.emplace_back([&] {
      if (r.resolve("localhost", std::chrono::steady_clock::now() + 5s)) ++ok;
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(ok.load(), 8);
}

TEST(HostResolver, InstalledResolverIsTheProcesssOneUntilDestroyed) {
  {
    net::HostResolver r(1);
    net::HostResolver::install(&r);
    EXPECT_EQ(net::HostResolver::installed(), &r);
  }
  EXPECT_EQ(net::HostResolver::installed(), nullptr);
}
