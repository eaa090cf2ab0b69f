#include "common/result.h"

#include <gtest/gtest.h>

#include <string>

using custos::make_error;
using custos::Result;

TEST(Result, HoldsValueOrError) {
  Result<int, std::string> good = 5;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good.value(), 5);
  Result<int, std::string> bad = make_error(std::string("boom"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "boom");
  EXPECT_EQ(bad.value_or(7), 7);
}

TEST(Result, SameTypeForValueAndErrorStaysDistinct) {
  Result<std::string, std::string> v = std::string("value");
  Result<std::string, std::string> e = make_error(std::string("error"));
  EXPECT_TRUE(v.ok());
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.error(), "error");
}

TEST(Result, WrongAccessThrowsLogicError) {
  Result<int, std::string> bad = make_error(std::string("x"));
  EXPECT_THROW((void)bad.value(), std::logic_error);
  Result<int, std::string> good = 1;
  EXPECT_THROW((void)good.error(), std::logic_error);
}
