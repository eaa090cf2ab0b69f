#include "common/python_int.h"

#include <gtest/gtest.h>

using custos::python_int;
using nlohmann::json;

TEST(PythonInt, NumbersAndBooleansAsPythonsInt) {
  EXPECT_EQ(python_int(json(30)), 30);
  EXPECT_EQ(python_int(json(-7)), -7);
  EXPECT_EQ(python_int(json(30.7)), 30);
  EXPECT_EQ(python_int(json(-30.7)), -30);
  EXPECT_EQ(python_int(json(true)), 1);
  EXPECT_EQ(python_int(json(false)), 0);
  EXPECT_EQ(python_int(json(18446744073709551615ull)), INT64_MAX);
  EXPECT_EQ(python_int(json(1e300)), INT64_MAX);
}

TEST(PythonInt, StringsHoldingADecimalInteger) {
  EXPECT_EQ(python_int(json("30")), 30);
  EXPECT_EQ(python_int(json(" 30\n")), 30);
  EXPECT_EQ(python_int(json("+1_000")), 1000);
  EXPECT_EQ(python_int(json("-5")), -5);
  EXPECT_EQ(python_int(json("007")), 7);
  EXPECT_EQ(python_int(json("-9223372036854775808")), INT64_MIN);
  EXPECT_EQ(python_int(json("99999999999999999999999")), INT64_MAX);
}

TEST(PythonInt, WhatIntRaisesOnHasNoValue) {
  for (const char* text : {"often", "3.0", "", " ", "1__0", "_1", "1_", "+", "0x10", "1e3", "- 1"})
    EXPECT_FALSE(python_int(json(text))) << text;
  EXPECT_FALSE(python_int(json()));
  EXPECT_FALSE(python_int(json::array({1})));
  EXPECT_FALSE(python_int(json::object()));
}
