// The leader's memory of member slots for Patroni 4 member_slots_ttl.
#include "ha/retained_slots.h"

#include <gtest/gtest.h>

namespace custos::ha {
namespace {

TEST(RetainedSlots, KeptForTtlAfterLastSeenThenExpired) {
  RetainedSlots r;
  r.seed({"old_leader", "n2"}, 100);  // won the lock at 100
  EXPECT_EQ(r.update({"n1", "n2"}, 100, 30), (std::vector<std::string>{"n1", "n2", "old_leader"}));
  EXPECT_EQ(r.update({"n1", "n2"}, 125, 30), (std::vector<std::string>{"n1", "n2", "old_leader"}));
  std::vector<std::string> expired;
  EXPECT_EQ(r.update({"n1"}, 130, 30, &expired), (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(expired, (std::vector<std::string>{"old_leader"}));
  EXPECT_EQ(r.update({"n1", "n2"}, 150, 30), (std::vector<std::string>{"n1", "n2"}));  // n2 seen again
  r.seed({}, 200);
  EXPECT_EQ(r.update({"n1"}, 200, 30), (std::vector<std::string>{"n1"}));
}

}  // namespace
}  // namespace custos::ha
