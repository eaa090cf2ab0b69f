// replica_methods_to_run: Patroni's choice of create_replica_methods with and without a source.
#include "postgres/replica_methods.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace custos::postgres {
namespace {

using nlohmann::json;

TEST(ReplicaMethods, WithASourceEveryMethodRunsInItsOrder) {
  const json sections = {{"pgbackrest", {{"command", "x"}, {"keep_data", true}}}};
  EXPECT_EQ(replica_methods_to_run({"pgbackrest", "basebackup", "unknown"}, sections, true),
            (std::vector<std::string>{"pgbackrest", "basebackup", "unknown"}));
}

TEST(ReplicaMethods, WithoutASourceOnlyNoLeaderMethodsAsPythonReadsTheFlag) {
  const json sections = {{"a", {{"command", "x"}, {"no_leader", true}}},
                         {"b", {{"command", "x"}, {"no_master", 1}}},
                         {"c", {{"command", "x"}, {"no_leader", "false"}}},  // a non-empty string is truthy
                         {"d", {{"command", "x"}, {"no_leader", 0}}},
                         {"e", "not a section"},
                         {"basebackup", {{"no_leader", true}}}};
  EXPECT_EQ(replica_methods_to_run({"basebackup", "a", "b", "c", "d", "e", "f"}, sections, false),
            (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(replica_methods_to_run({"basebackup"}, sections, false).empty());
  EXPECT_TRUE(replica_methods_to_run({"a"}, json(), false).empty());  // no sections at all
  EXPECT_FALSE(replica_method_works_without_leader(sections, "basebackup"));
  EXPECT_TRUE(replica_method_works_without_leader(sections, "b"));
}

}  // namespace
}  // namespace custos::postgres
