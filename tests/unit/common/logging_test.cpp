#include "common/logging.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

TEST(Logging, ParsesPatroniLevelNamesCaseInsensitively) {
  EXPECT_EQ(custos::parse_log_level("debug"), spdlog::level::debug);
  EXPECT_EQ(custos::parse_log_level("WARNING"), spdlog::level::warn);
  EXPECT_EQ(custos::parse_log_level("Warn"), spdlog::level::warn);
  EXPECT_EQ(custos::parse_log_level("CRITICAL"), spdlog::level::critical);
  EXPECT_EQ(custos::parse_log_level("FATAL"), spdlog::level::critical);
  EXPECT_FALSE(custos::parse_log_level("LOUD").has_value());
  EXPECT_FALSE(custos::parse_log_level("").has_value());
}
