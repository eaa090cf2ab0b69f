#include "postgres/lsn.h"

#include <gtest/gtest.h>

using custos::postgres::format_lsn;
using custos::postgres::parse_lsn;

TEST(Lsn, ParsesHighAndLowHalves) {
  EXPECT_EQ(parse_lsn("0/0"), 0);
  EXPECT_EQ(parse_lsn("0/1511A88"), 0x1511A88);
  EXPECT_EQ(parse_lsn("1/0"), int64_t{1} << 32);
  EXPECT_EQ(parse_lsn("16/B374D848"), (int64_t{0x16} << 32) | 0xB374D848);
  EXPECT_EQ(parse_lsn("  a/ff \n"), (int64_t{0xa} << 32) | 0xff);
  EXPECT_EQ(parse_lsn("7FFFFFFF/FFFFFFFF"), INT64_MAX);
}

TEST(Lsn, RejectsMalformed) {
  EXPECT_FALSE(parse_lsn(""));
  EXPECT_FALSE(parse_lsn("0"));
  EXPECT_FALSE(parse_lsn("/1"));
  EXPECT_FALSE(parse_lsn("1/"));
  EXPECT_FALSE(parse_lsn("g/1"));
  EXPECT_FALSE(parse_lsn("1/2/3"));
  EXPECT_FALSE(parse_lsn("123456789/0"));  // more than 32 bits
  EXPECT_FALSE(parse_lsn("80000000/0"));   // would not fit int64
  EXPECT_FALSE(parse_lsn("-1/0"));
}

TEST(Lsn, FormatsLikePostgres) {
  EXPECT_EQ(format_lsn(0), "0/0");
  EXPECT_EQ(format_lsn(0x1511A88), "0/1511A88");
  EXPECT_EQ(format_lsn((int64_t{0x16} << 32) | 0xB374D848), "16/B374D848");
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{0x3000148}, (int64_t{5} << 32) | 7})
    EXPECT_EQ(parse_lsn(format_lsn(v)), v);
}
