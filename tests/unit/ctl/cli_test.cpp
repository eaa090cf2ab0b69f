// Command-line parsing: options of list/topology, global options, usage errors (exit 2).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "ctl/cli.h"

namespace custos::ctl {
namespace {

ParseOutcome parse(std::vector<std::string> args) {
  args.insert(args.begin(), "custosctl");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

class CtlCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("PATRONICTL_CONFIG_FILE");
    ::unsetenv("DCS_URL");
  }
};

TEST_F(CtlCli, ListDefaults) {
  auto p = parse({"list"});
  ASSERT_TRUE(p.invocation);
  EXPECT_EQ(p.invocation->command, Command::kList);
  const auto& l = p.invocation->list;
  EXPECT_TRUE(l.cluster_names.empty());
  EXPECT_FALSE(l.group);
  EXPECT_FALSE(l.extended);
  EXPECT_FALSE(l.timestamp);
  EXPECT_EQ(l.format, OutputFormat::kPretty);
  EXPECT_FALSE(l.watch);
  EXPECT_FALSE(p.invocation->global.config_file);
  EXPECT_FALSE(p.invocation->global.dcs_url);
  EXPECT_FALSE(p.invocation->global.insecure);
}

TEST_F(CtlCli, ListWithEverything) {
  auto p = parse({"-c", "/etc/p.yml", "--dcs-url", "etcd3://h:1", "-k", "list", "a", "b", "--group", "2", "-e", "-t",
                  "-f", "yml", "-w", "0.5"});
  ASSERT_TRUE(p.invocation) << p.err;
  EXPECT_EQ(p.invocation->global.config_file.value_or(""), "/etc/p.yml");
  EXPECT_EQ(p.invocation->global.dcs_url.value_or(""), "etcd3://h:1");
  EXPECT_TRUE(p.invocation->global.insecure);
  const auto& l = p.invocation->list;
  EXPECT_EQ(l.cluster_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(l.group.value_or(-1), 2);
  EXPECT_TRUE(l.extended);
  EXPECT_TRUE(l.timestamp);
  EXPECT_EQ(l.format, OutputFormat::kYaml);
  EXPECT_DOUBLE_EQ(l.watch.value_or(0), 0.5);
}

TEST_F(CtlCli, FormatsAndAliases) {
  EXPECT_EQ(parse({"list", "-f", "json"}).invocation->list.format, OutputFormat::kJson);
  EXPECT_EQ(parse({"list", "--format", "tsv"}).invocation->list.format, OutputFormat::kTsv);
  EXPECT_EQ(parse({"list", "--format=yaml"}).invocation->list.format, OutputFormat::kYaml);
  EXPECT_EQ(parse({"list", "--extended", "--timestamp"}).invocation->list.extended, true);
  EXPECT_EQ(parse({"--dcs", "x", "list"}).invocation->global.dcs_url.value_or(""), "x");
  EXPECT_EQ(parse({"-d", "x", "list"}).invocation->global.dcs_url.value_or(""), "x");
  EXPECT_EQ(parse({"--config-file", "f", "--insecure", "list"}).invocation->global.config_file.value_or(""), "f");
}

TEST_F(CtlCli, WatchFlags) {
  EXPECT_DOUBLE_EQ(parse({"list", "-W"}).invocation->list.watch.value_or(0), 2.0);
  EXPECT_DOUBLE_EQ(parse({"list", "-W", "-w", "5"}).invocation->list.watch.value_or(0), 5.0);
  EXPECT_DOUBLE_EQ(parse({"list", "--watch", "1.5"}).invocation->list.watch.value_or(0), 1.5);
  EXPECT_DOUBLE_EQ(parse({"topology", "-W"}).invocation->list.watch.value_or(0), 2.0);
}

TEST_F(CtlCli, Topology) {
  auto p = parse({"topology", "demo", "--group", "0"});
  ASSERT_TRUE(p.invocation);
  EXPECT_EQ(p.invocation->command, Command::kTopology);
  EXPECT_EQ(p.invocation->list.format, OutputFormat::kTopology);
  EXPECT_EQ(p.invocation->list.cluster_names, (std::vector<std::string>{"demo"}));
  EXPECT_EQ(p.invocation->list.group.value_or(-1), 0);
}

TEST_F(CtlCli, EnvironmentStandsInForOptions) {
  ::setenv("PATRONICTL_CONFIG_FILE", "/from/env.yml", 1);
  ::setenv("DCS_URL", "etcd3://envhost", 1);
  auto p = parse({"list"});
  EXPECT_EQ(p.invocation->global.config_file.value_or(""), "/from/env.yml");
  EXPECT_EQ(p.invocation->global.dcs_url.value_or(""), "etcd3://envhost");
  auto q = parse({"-c", "/cli.yml", "list"});  // the option wins
  EXPECT_EQ(q.invocation->global.config_file.value_or(""), "/cli.yml");
  ::unsetenv("PATRONICTL_CONFIG_FILE");
  ::unsetenv("DCS_URL");
}

TEST_F(CtlCli, UsageErrorsExitWithTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {},                                // no command
      {"frobnicate"},                    // unknown command
      {"list", "-f", "xml"},             // bad format value
      {"list", "--bogus"},               // unknown option
      {"list", "--group", "x"},          // group not an integer
      {"list", "-w", "abc"},             // watch not a number
      {"list", "-w", "-1"},              // negative watch
      {"list", "-f"},                    // missing value
      {"topology", "-f", "json"},        // topology has no --format
      {"-c"},                            // missing value
  };
  for (const auto& args : bad) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    SCOPED_TRACE(joined);
    auto p = parse(args);
    EXPECT_FALSE(p.invocation);
    EXPECT_EQ(p.exit_code, 2);
    EXPECT_NE(p.err.find("Error: "), std::string::npos) << p.err;
  }
}

TEST_F(CtlCli, HelpExitsWithZero) {
  auto p = parse({"--help"});
  EXPECT_FALSE(p.invocation);
  EXPECT_EQ(p.exit_code, 0);
  EXPECT_NE(p.out.find("list"), std::string::npos);
  auto q = parse({"list", "--help"});
  EXPECT_EQ(q.exit_code, 0);
  EXPECT_NE(q.out.find("--extended"), std::string::npos);
}

}  // namespace
}  // namespace custos::ctl
