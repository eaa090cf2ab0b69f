#include "config/loader.h"

#include <gtest/gtest.h>

#include "test_util.h"

using namespace custos::config;
using custos::config::testing::TempDir;

TEST(Loader, SingleFile) {
  TempDir d;
  auto f = d.write("a.yml", "scope: s\nname: n\nrestapi: {listen: ':8008'}\n");
  auto r = load_local_configuration(f, {});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r.value().source, ConfigSource::kFile);
  EXPECT_EQ(r.value().local["scope"], "s");
  EXPECT_EQ(r.value().local["restapi"]["listen"], ":8008");
}

TEST(Loader, DirectoryMergedAlphabeticallyWithMergePatchRules) {
  TempDir d;
  d.write("10-base.yml", "scope: s\nname: n\npostgresql: {listen: '*:5432', parameters: {a: 1, b: 2}}\ntags: {x: 1}\n");
  d.write("20-override.yaml", "postgresql: {parameters: {b: 3, c: 4}}\ntags: null\n");
  d.write("30-ignored.txt", "scope: wrong\n");
  d.write("sub.yml/inner.yml", "scope: wrong\n");  // a directory named *.yml is skipped
  auto r = load_local_configuration(d.path(), {});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const json& c = r.value().local;
  EXPECT_EQ(r.value().source, ConfigSource::kDirectory);
  EXPECT_EQ(c["scope"], "s");
  EXPECT_EQ(c["postgresql"]["parameters"], json::parse(R"({"a": 1, "b": 3, "c": 4})"));
  EXPECT_EQ(c["postgresql"]["listen"], "*:5432");
  EXPECT_FALSE(c.contains("tags"));  // null deletes
}

TEST(Loader, EnvironmentOverridesFile) {
  TempDir d;
  auto f = d.write("a.yml", "scope: s\nname: n\nrestapi: {listen: ':8008', connect_address: 'a:8008'}\n");
  auto r = load_local_configuration(f, {{"PATRONI_NAME", "from-env"}, {"PATRONI_RESTAPI_LISTEN", "0.0.0.0:9999"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().local["name"], "from-env");
  EXPECT_EQ(r.value().local["restapi"]["listen"], "0.0.0.0:9999");
  EXPECT_EQ(r.value().local["restapi"]["connect_address"], "a:8008");
}

TEST(Loader, ConfigurationVariableWhenPathMissingIgnoresOtherVariables) {
  auto r = load_local_configuration("/nonexistent/custos.yml",
                                    {{"PATRONI_CONFIGURATION", "scope: from-var\nname: n1\n"},
                                     {"PATRONI_NAME", "ignored"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().source, ConfigSource::kConfigurationVariable);
  EXPECT_EQ(r.value().local["scope"], "from-var");
  EXPECT_EQ(r.value().local["name"], "n1");
}

TEST(Loader, EnvironmentOnlyWithoutPathOrVariable) {
  auto r = load_local_configuration("", {{"PATRONI_SCOPE", "s"}, {"PATRONI_NAME", "n"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().source, ConfigSource::kEnvironment);
  EXPECT_EQ(r.value().local["scope"], "s");
}

TEST(Loader, BadYamlNamesFileLineAndColumn) {
  TempDir d;
  auto f = d.write("bad.yml", "scope: s\nname: [unclosed\nx: 1\n");
  auto r = load_local_configuration(f, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().file, f);
  EXPECT_GT(r.error().line, 0);
  EXPECT_NE(r.error().to_string().find(f + ":"), std::string::npos);
}

TEST(Loader, NonMappingRootIsAnError) {
  TempDir d;
  for (const char* text : {"- a\n- b\n", "just a string\n", "42\n"}) {
    auto f = d.write("x.yml", text);
    auto r = load_local_configuration(f, {});
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.error().message.find("mapping"), std::string::npos);
  }
  auto r = load_local_configuration("/nonexistent", {{"PATRONI_CONFIGURATION", "- a\n"}});
  EXPECT_FALSE(r.ok());
}

TEST(Loader, EmptyFileIsAnEmptyMapping) {
  TempDir d;
  auto f = d.write("empty.yml", "");
  auto r = load_local_configuration(f, {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value().local.empty());
}
