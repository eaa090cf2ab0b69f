// The command layer in-process, on the paths that need no server: exit codes and messages
// for usage errors (2), configuration/URL/backend errors (1), no cluster name (0, warning).
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "ctl/commands.h"

namespace custos::ctl {
namespace {

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run run(std::vector<std::string> args) {
  ::unsetenv("PATRONICTL_CONFIG_FILE");
  ::unsetenv("DCS_URL");
  ::setenv("XDG_CONFIG_HOME", "/nonexistent-custosctl-unit", 1);
  args.insert(args.begin(), "custosctl");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  int code = run_ctl(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

TEST(CtlCommands, Version) {
  auto r = run({"version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("custosctl version ", 0), 0u);
}

TEST(CtlCommands, UsageErrorIsTwo) {
  auto r = run({"list", "--format", "html"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("Error: --format: html not in"), std::string::npos) << r.err;
}

TEST(CtlCommands, RuntimeErrorsAreOne) {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const std::vector<Case> cases = {
      {{"--dcs-url", "redis://h", "list", "demo"}, "Error: Unknown dcs scheme: redis\n"},
      {{"--dcs-url", "etcd3://h:70000", "list", "demo"}, "Error: Invalid DCS URL \"etcd3://h:70000\": port out of range: 70000\n"},
      {{"--dcs-url", "consul://h", "topology", "demo"}, "Error: DCS `consul` is not supported by custosctl yet (only etcd, etcd3 and zookeeper)\n"},
      {{"-c", "/nonexistent/p.yml", "list"},
       "Error: Provided config file /nonexistent/p.yml not existing or no read rights. Check the -c/--config-file parameter\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args[1]);
    auto r = run(c.args);
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, c.message);
  }
}

TEST(CtlCommands, NoClusterNameListsNothing) {
  auto r = run({"--dcs-url", "etcd3://127.0.0.1:1", "list"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace custos::ctl
