#include "common/text.h"

#include <gtest/gtest.h>

TEST(Text, TrimAndSplit) {
  EXPECT_EQ(custos::trim_blanks(" \t a b \r\n"), "a b");
  EXPECT_EQ(custos::trim_blanks(""), "");
  EXPECT_EQ(custos::split_trimmed(" 127.0.0.1 , *,", ','), (std::vector<std::string>{"127.0.0.1", "*", ""}));
  EXPECT_EQ(custos::split_trimmed("", ','), (std::vector<std::string>{""}));
}
