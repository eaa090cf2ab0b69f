// The prettytable look-alike: alignment, title injection and truncation, multi-line cells,
// empty tables.
#include <gtest/gtest.h>

#include "ctl/pretty_table.h"

namespace custos::ctl {
namespace {

TEST(CtlPrettyTable, FrameWithTitleAndAlignment) {
  Table t;
  t.columns = {"Name", "N"};
  t.rows = {{"a", 1}, {"bbbb", 100}};
  t.align = {{"N", 'r'}};
  t.title = " T ";
  EXPECT_EQ(render_pretty(t),
            "+ T ---+-----+\n"
            "| Name |   N |\n"
            "+------+-----+\n"
            "| a    |   1 |\n"
            "| bbbb | 100 |\n"
            "+------+-----+");
}

TEST(CtlPrettyTable, TitleLongerThanTheBorderIsCut) {
  Table t;
  t.columns = {"A"};
  t.rows = {{"x"}};
  t.title = " a very long title ";
  EXPECT_EQ(render_pretty(t),
            "+ a +\n"
            "| A |\n"
            "+---+\n"
            "| x |\n"
            "+---+");
}

TEST(CtlPrettyTable, MultiLineCellsSeparateEveryRow) {
  Table t;
  t.columns = {"K", "V"};
  t.rows = {{"a", "one\ntwo"}, {"b", ""}};
  EXPECT_EQ(render_pretty(t),
            "+---+-----+\n"
            "| K | V   |\n"
            "+---+-----+\n"
            "| a | one |\n"
            "|   | two |\n"
            "+---+-----+\n"
            "| b |     |\n"
            "+---+-----+");
}

TEST(CtlPrettyTable, EmptyTableRepeatsTheBottomBorder) {
  Table t;
  t.columns = {"Member", "TL"};
  t.align = {{"TL", 'r'}};
  EXPECT_EQ(render_pretty(t),
            "+--------+----+\n"
            "| Member | TL |\n"
            "+--------+----+\n"
            "+--------+----+");
}

TEST(CtlPrettyTable, PythonStr) {
  EXPECT_EQ(python_str("x"), "x");
  EXPECT_EQ(python_str(12), "12");
  EXPECT_EQ(python_str(true), "True");
  EXPECT_EQ(python_str(nullptr), "None");
  EXPECT_EQ(display_width("h\xc3\xa9llo"), 5u);
}

}  // namespace
}  // namespace custos::ctl
