// The history table (ctl.md §5 history) and print_output in every format.
#include "ctl/table_output.h"

#include <gtest/gtest.h>

#include "ctl_test_util.h"

namespace custos::ctl {
namespace {

using namespace test;

dcs::Cluster with_history() {
  return cluster(
      {{"history",
        R"([[1, 25165984, "no recovery target specified", "2024-01-02T03:04:05.123456+00:00", "node1"],
                               [2, 50331744, "no recovery target specified"],
                               "garbage",
                               [3, 83886240, "no recovery target specified", "2024-02-02T03:04:05+00:00"]])"}});
}

TEST(CtlHistory, Rows) {
  auto rows = history_rows(with_history());
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& r : rows) EXPECT_EQ(r.size(), 5u);
  EXPECT_EQ(rows[1][3], "");
  EXPECT_EQ(rows[1][4], "");
  EXPECT_EQ(rows[2][4], "");
  EXPECT_TRUE(history_rows(dcs::Cluster{}).empty());
}

TEST(CtlHistory, Pretty) {
  EXPECT_EQ(render_history(with_history(), OutputFormat::kPretty),
            "+----+----------+------------------------------+----------------------------------+---"
            "---------+\n"
            "| TL |      LSN | Reason                       | Timestamp                        | "
            "New Leader |\n"
            "+----+----------+------------------------------+----------------------------------+---"
            "---------+\n"
            "|  1 | 25165984 | no recovery target specified | 2024-01-02T03:04:05.123456+00:00 | "
            "node1      |\n"
            "|  2 | 50331744 | no recovery target specified |                                  |   "
            "         |\n"
            "|  3 | 83886240 | no recovery target specified | 2024-02-02T03:04:05+00:00        |   "
            "         |\n"
            "+----+----------+------------------------------+----------------------------------+---"
            "---------+\n");
}

TEST(CtlHistory, MachineFormats) {
  EXPECT_EQ(render_history(with_history(), OutputFormat::kTsv),
            "TL\tLSN\tReason\tTimestamp\tNew Leader\n"
            "1\t25165984\tno recovery target specified\t2024-01-02T03:04:05.123456+00:00\tnode1\n"
            "2\t50331744\tno recovery target specified\t\t\n"
            "3\t83886240\tno recovery target specified\t2024-02-02T03:04:05+00:00\t\n");
  const std::string json_text = render_history(with_history(), OutputFormat::kJson);
  EXPECT_EQ(json_text.rfind(
                R"([{"TL": 1, "LSN": 25165984, "Reason": "no recovery target specified", )", 0),
            0u)
      << json_text;
  auto parsed = nlohmann::json::parse(json_text);
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_EQ(parsed[1]["New Leader"], "");
  const std::string yaml = render_history(with_history(), OutputFormat::kYaml);
  EXPECT_EQ(yaml.rfind("- LSN: 25165984\n  New Leader: node1\n", 0), 0u) << yaml;
}

TEST(CtlPrintOutput, TsvDelimiterAndNulls) {
  EXPECT_EQ(print_output({"a", "b"}, {{1, nullptr}, {"x", true}}, {}, OutputFormat::kTsv, ","),
            "a,b\n1,None\nx,True\n");
  EXPECT_EQ(
      print_output({}, {{"2024-01-01 00:00:00", "ERROR, SQLSTATE: 42P01"}}, {}, OutputFormat::kTsv),
      "2024-01-01 00:00:00\tERROR, SQLSTATE: 42P01\n");
}

}  // namespace
}  // namespace custos::ctl
