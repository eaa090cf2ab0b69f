// next_history_value: the /history key the primary writes after a promotion, and
// max_timelines_history keeping only the newest lines.
#include "dcs/history_value.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace custos::dcs {
namespace {

using nlohmann::json;

std::vector<HistorySwitch> switches(int n) {
  std::vector<HistorySwitch> out;
  for (int tl = 1; tl <= n; ++tl) out.push_back(HistorySwitch{tl, tl * 1000, "no recovery target specified"});
  return out;
}

TEST(HistoryValue, EveryTimelineByDefaultTheNewestOnlyWithMaxTimelinesHistory) {
  auto all = next_history_value(std::nullopt, 5, switches(4), "2026-12-04T23:00:00+00:00", "n1");
  ASSERT_TRUE(all);
  json a = json::parse(*all);
  ASSERT_EQ(a.size(), 4u);
  EXPECT_EQ(a[0][0], 1);
  EXPECT_EQ(a[3], json::array({4, 4000, "no recovery target specified", "2026-12-04T23:00:00+00:00", "n1"}));
  auto two = next_history_value(std::nullopt, 5, switches(4), "2026-12-04T23:00:00+00:00", "n1", 2);
  ASSERT_TRUE(two);
  json b = json::parse(*two);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0][0], 3);
  EXPECT_EQ(b[1][0], 4);
  EXPECT_EQ(b[1][4], "n1");
  // A trimmed key that already ends with the previous timeline is left as it is.
  auto current = TimelineHistory::from_node(1, *two);
  EXPECT_FALSE(next_history_value(current, 5, switches(4), "later", "n1", 2));
  // Timeline 1: "[]" whatever the limit.
  EXPECT_EQ(next_history_value(std::nullopt, 1, {}, "t", "n1", 1), std::optional<std::string>("[]"));
}

}  // namespace
}  // namespace custos::dcs
