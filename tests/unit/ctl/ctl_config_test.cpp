// custosctl configuration: file vs default path vs environment, --dcs-url, -k; and the DCS
// configuration built for one cluster (ctl mode, Citus groups, unsupported backends).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ctl/ctl_config.h"
#include "ctl/dcs_factory.h"
#include "log_capture.h"

namespace custos::ctl {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class CtlConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/custosctl-config-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    if (xdg) saved_xdg_ = xdg;
    ::setenv("XDG_CONFIG_HOME", dir_.c_str(), 1);
  }
  void TearDown() override {
    if (saved_xdg_) ::setenv("XDG_CONFIG_HOME", saved_xdg_->c_str(), 1); else ::unsetenv("XDG_CONFIG_HOME");
    fs::remove_all(dir_);
  }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
  std::optional<std::string> saved_xdg_;
};

TEST_F(CtlConfigTest, DefaultPathFollowsXdg) { EXPECT_EQ(default_config_file(), dir_ + "/patroni/patronictl.yaml"); }

TEST_F(CtlConfigTest, MissingExplicitFileIsAnError) {
  ConfigRequest r;
  r.config_file = dir_ + "/nope.yml";
  auto c = load_ctl_configuration(r, {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("nope.yml not existing or no read rights"), std::string::npos) << c.error();
}

TEST_F(CtlConfigTest, MissingDefaultFileUsesTheEnvironment) {
  ConfigRequest r;
  r.config_file = default_config_file();
  auto c = load_ctl_configuration(r, {{"PATRONI_SCOPE", "envscope"}, {"PATRONI_ETCD3_HOSTS", "h1:2379,h2:2379"}});
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ((*c)["scope"], "envscope");
  EXPECT_TRUE((*c)["etcd3"].contains("hosts"));
  EXPECT_EQ((*c)["ctl"]["insecure"], false);
}

TEST_F(CtlConfigTest, AnUnacceptedCompatIsWarnedAboutNotSilentlyDefaulted) {
  // The agent warns about such a file at start; custosctl, which prints roles in the
  // generation presented, says it too, and goes on with the default as the agent does.
  ConfigRequest r;
  r.config_file = write("bad.yml", "scope: demo\ncustos:\n  compat: '5.0'\n");
  test::LogCapture log;
  auto c = load_ctl_configuration(r, {});
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_TRUE(log.has("warning: custos.compat must be \"3.3\" or \"4.1\", got \"5.0\": presenting Patroni 4.1"));

  r.config_file = write("env.yml", "scope: demo\n");
  test::LogCapture from_env;
  ASSERT_TRUE(load_ctl_configuration(r, {{"PATRONI_CUSTOS_COMPAT", "v3"}}).ok());
  EXPECT_EQ(from_env.count_containing("custos.compat must be"), 1);

  r.config_file = write("good.yml", "scope: demo\ncustos:\n  compat: 3.3\n");
  test::LogCapture quiet;
  ASSERT_TRUE(load_ctl_configuration(r, {}).ok());
  EXPECT_EQ(quiet.count_containing("custos.compat"), 0);
}

TEST_F(CtlConfigTest, DefaultFileIsReadWhenPresent) {
  write("patroni/patronictl.yaml", "scope: fromdefault\netcd3:\n  host: 127.0.0.1:2379\n");
  ConfigRequest r;
  r.config_file = default_config_file();
  auto c = load_ctl_configuration(r, {});
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ((*c)["scope"], "fromdefault");
}

TEST_F(CtlConfigTest, FileEnvironmentDcsUrlAndInsecure) {
  std::string path = write("p.yml",
                           "scope: demo\nnamespace: /custom\netcd:\n  host: old:2379\n"
                           "ctl:\n  insecure: false\n  cacert: /ca.pem\n");
  ConfigRequest r;
  r.config_file = path;
  r.dcs_url = "etcd3://127.0.0.1:2399";
  r.insecure = true;
  auto c = load_ctl_configuration(r, {{"PATRONI_NAME", "me"}});
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ((*c)["name"], "me");  // environment on top of the file
  EXPECT_FALSE(c->contains("etcd"));
  EXPECT_EQ((*c)["etcd3"], (json{{"host", "127.0.0.1:2399"}}));
  EXPECT_EQ((*c)["namespace"], "/custom");
  EXPECT_EQ((*c)["ctl"]["insecure"], true);
  EXPECT_EQ((*c)["ctl"]["cacert"], "/ca.pem");
}

TEST_F(CtlConfigTest, BadYamlAndBadUrlAreErrors) {
  ConfigRequest r;
  r.config_file = write("bad.yml", "scope: [unclosed\n");
  EXPECT_FALSE(load_ctl_configuration(r, {}).ok());
  r.config_file = write("good.yml", "scope: x\n");
  r.dcs_url = "nosuch://h";
  auto c = load_ctl_configuration(r, {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error(), "Unknown dcs scheme: nosuch");
}

TEST(CtlDcsFactory, CtlModeConfiguration) {
  json config = {{"scope", "configured"}, {"etcd3", {{"host", "127.0.0.1:2379"}}}};
  json d = dcs_config_for(config, "other", std::nullopt);
  EXPECT_EQ(d["scope"], "other");
  EXPECT_EQ(d["name"], "other");
  EXPECT_EQ(d["patronictl"], true);
  EXPECT_FALSE(d.contains("citus"));
  EXPECT_FALSE(is_citus_config(config));

  json citus = config;
  citus["citus"] = {{"group", 2}, {"database", "citus"}};
  EXPECT_TRUE(is_citus_config(citus));
  EXPECT_EQ(dcs_config_for(citus, "c", std::nullopt)["citus"]["group"], 0);  // coordinator view
  EXPECT_EQ(dcs_config_for(citus, "c", 3)["citus"]["group"], 3);
  EXPECT_EQ(dcs_config_for(config, "c", 1)["citus"]["group"], 1);
}

TEST(CtlDcsFactory, BuildsEtcdAndExplainsOtherBackends) {
  auto ok = make_ctl_dcs({{"etcd3", {{"host", "127.0.0.1:2379"}}}}, "demo", std::nullopt);
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ((*ok)->base_path(), "/service/demo/");
  auto v2 = make_ctl_dcs({{"etcd", {{"host", "127.0.0.1:2379"}}}, {"namespace", "/ns"}}, "demo", std::nullopt);
  ASSERT_TRUE(v2.ok()) << v2.error();
  EXPECT_EQ((*v2)->base_path(), "/ns/demo/");

  auto zk = make_ctl_dcs({{"zookeeper", {{"hosts", {"z:2181"}}}}}, "demo", std::nullopt);
  ASSERT_TRUE(zk.ok()) << zk.error();
  EXPECT_EQ((*zk)->base_path(), "/service/demo/");
  auto consul = make_ctl_dcs({{"consul", {{"host", "c:8500"}}}}, "demo", std::nullopt);
  ASSERT_FALSE(consul.ok());
  EXPECT_NE(consul.error().find("consul"), std::string::npos);
  auto none = make_ctl_dcs({{"scope", "demo"}}, "demo", std::nullopt);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().find("Can not find suitable configuration"), std::string::npos);
  auto bad = make_ctl_dcs({{"etcd3", {{"hosts", 5}}}}, "demo", std::nullopt);
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace custos::ctl
