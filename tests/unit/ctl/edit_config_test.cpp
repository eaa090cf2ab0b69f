// edit-config's pure logic: --set/--pg dotted paths, --apply/--replace merge patches, the YAML
// shown to the user, the unified diff and the validation that refuses invalid results.
#include "ctl/edit_config.h"

#include <gtest/gtest.h>

#include "config/validate.h"

namespace custos::ctl {
namespace {

using json = nlohmann::json;

const json kBase = json::parse(R"({"ttl": 30, "loop_wait": 10,
  "postgresql": {"use_pg_rewind": true, "parameters": {"max_connections": 100, "work_mem": "4MB"}}})");

TEST(CtlEditConfig, SetParsesValuesAsYaml) {
  auto r =
      apply_config_changes(kBase, {"ttl=40", "synchronous_mode=true", "name=on", "quoted='on'",
                                   "f=1.5", "list=[1, 2]", "obj={a: 1}", "  spaced.key = x y"});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ((*r)["ttl"], 40);
  EXPECT_EQ((*r)["synchronous_mode"], true);
  EXPECT_EQ((*r)["name"], true);  // YAML 1.1: on is a boolean
  EXPECT_EQ((*r)["quoted"], "on");
  EXPECT_EQ((*r)["f"], 1.5);
  EXPECT_EQ((*r)["list"], json::parse("[1,2]"));
  EXPECT_EQ((*r)["obj"], json::parse(R"({"a":1})"));
  EXPECT_EQ((*r)["spaced"]["key"], "x y");  // key stripped, value parsed as YAML
}

TEST(CtlEditConfig, SetNullDeletesAndRemovesEmptyParents) {
  auto r =
      apply_config_changes(kBase, {"postgresql.parameters.max_connections=null",
                                   "postgresql.parameters.work_mem=", "postgresql.use_pg_rewind=~",
                                   "loop_wait=null", "absent.deep.key=null"});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, json::parse(R"({"ttl": 30})"));
}

TEST(CtlEditConfig, SetReplacesScalarsWithObjects) {
  auto r = apply_config_changes(kBase, {"ttl.x=1"});
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["ttl"], json::parse(R"({"x": 1})"));
}

TEST(CtlEditConfig, PgKeepsDottedGucNamesWhole) {
  auto pairs = pg_pairs_to_set_pairs(
      {"work_mem=8MB", "  pg_stat_statements.max=5000", "auto_explain.log_min_duration=-1"});
  EXPECT_EQ(pairs[0], "postgresql.parameters.work_mem=8MB");
  EXPECT_EQ(pairs[1], "postgresql.parameters.pg_stat_statements.max=5000");
  auto r = apply_config_changes(kBase, pairs);
  ASSERT_TRUE(r) << r.error();
  const auto& p = (*r)["postgresql"]["parameters"];
  EXPECT_EQ(p["work_mem"], "8MB");
  EXPECT_EQ(p["pg_stat_statements.max"], 5000);
  EXPECT_EQ(p["auto_explain.log_min_duration"], -1);
  EXPECT_FALSE(p.contains("pg_stat_statements"));
}

TEST(CtlEditConfig, InvalidPairs) {
  auto r = apply_config_changes(kBase, {"ttl"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "Invalid parameter setting ttl");
  EXPECT_FALSE(apply_config_changes(kBase, {""}));
  auto bad_yaml = apply_config_changes(kBase, {"a=[unclosed"});
  ASSERT_FALSE(bad_yaml);
  EXPECT_NE(bad_yaml.error().find("Invalid parameter setting a=[unclosed"), std::string::npos);
}

TEST(CtlEditConfig, ApplyMergesAndReplaceStartsEmpty) {
  auto r = apply_yaml_text(
      kBase, "ttl: 60\npostgresql:\n  parameters:\n    work_mem: null\n    shared_buffers: 1GB\n",
      "patch.yaml");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ((*r)["ttl"], 60);
  EXPECT_EQ((*r)["loop_wait"], 10);
  EXPECT_FALSE((*r)["postgresql"]["parameters"].contains("work_mem"));
  EXPECT_EQ((*r)["postgresql"]["parameters"]["shared_buffers"], "1GB");
  EXPECT_EQ((*r)["postgresql"]["use_pg_rewind"], true);

  auto replaced = apply_yaml_text(json::object(), "ttl: 20\n", "stdin");
  ASSERT_TRUE(replaced);
  EXPECT_EQ(*replaced, json::parse(R"({"ttl": 20})"));

  auto empty = apply_yaml_text(kBase, "", "stdin");
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, kBase);
  auto list = apply_yaml_text(kBase, "- 1\n", "x.yaml");
  ASSERT_FALSE(list);
  EXPECT_NE(list.error().find("x.yaml"), std::string::npos);
  EXPECT_FALSE(apply_yaml_text(kBase, "a: [", "x.yaml"));
}

TEST(CtlEditConfig, FormatIsSortedBlockYaml) {
  EXPECT_EQ(format_config_for_editing(kBase),
            "loop_wait: 10\n"
            "postgresql:\n"
            "  parameters:\n"
            "    max_connections: 100\n"
            "    work_mem: 4MB\n"
            "  use_pg_rewind: true\n"
            "ttl: 30\n");
}

TEST(CtlEditConfig, UnifiedDiffLayout) {
  const std::string before = format_config_for_editing(kBase);
  auto changed = apply_config_changes(kBase, {"ttl=40"});
  ASSERT_TRUE(changed);
  auto lines = unified_diff(before, format_config_for_editing(*changed));
  EXPECT_EQ(lines, (std::vector<std::string>{"--- ", "+++ ", "@@ -4,4 +4,4 @@",
                                             "     max_connections: 100", "     work_mem: 4MB",
                                             "   use_pg_rewind: true", "-ttl: 30", "+ttl: 40"}));
  EXPECT_TRUE(unified_diff(before, before).empty());
}

TEST(CtlEditConfig, UnifiedDiffInsertionsDeletionsAndHunks) {
  EXPECT_EQ(unified_diff("a\n", "a\nb\n"),
            (std::vector<std::string>{"--- ", "+++ ", "@@ -1 +1,2 @@", " a", "+b"}));
  EXPECT_EQ(unified_diff("a\nb\n", "b\n"),
            (std::vector<std::string>{"--- ", "+++ ", "@@ -1,2 +1 @@", "-a", " b"}));
  EXPECT_EQ(unified_diff("{}\n", "a: 1\n"),
            (std::vector<std::string>{"--- ", "+++ ", "@@ -1 +1 @@", "-{}", "+a: 1"}));
  // Two changes more than 6 lines apart: two hunks.
  std::string a, b;
  for (int i = 1; i <= 12; ++i) {
    a += std::to_string(i) + "\n";
    b += (i == 1 || i == 12 ? "x" : std::to_string(i)) + "\n";
  }
  auto lines = unified_diff(a, b);
  ASSERT_EQ(lines.size(), 2u + 1 + 5 + 1 + 5);
  EXPECT_EQ(lines[2], "@@ -1,4 +1,4 @@");
  EXPECT_EQ(lines[8], "@@ -9,4 +9,4 @@");
  EXPECT_EQ(lines.back(), "+x");
}

TEST(CtlEditConfig, ProblemsNameTheKey) {
  EXPECT_TRUE(config::dynamic_configuration_problems(kBase).empty());
  auto bad = config::dynamic_configuration_problems(json::parse(R"({"ttl": "soon", "loop_wait": 10})"));
  ASSERT_FALSE(bad.empty());
  EXPECT_NE(bad[0].find("ttl"), std::string::npos) << bad[0];
  EXPECT_FALSE(config::dynamic_configuration_problems(json::array()).empty());
}

}  // namespace
}  // namespace custos::ctl
