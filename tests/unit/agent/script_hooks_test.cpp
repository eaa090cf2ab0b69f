// The user's scripts run for real (SystemProcessRunner): Patroni's argv, one callback at a
// time with a newer one replacing the running one, on_reload apart, pre_promote's verdict and
// before_stop's bound.
#include "agent/script_hooks.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "log_capture.h"

namespace custos::agent {
namespace {

using namespace std::chrono_literals;

struct Dir {
  Dir() {
    char t[] = "/tmp/custos-hooks-XXXXXX";
    path = ::mkdtemp(t);
  }
  ~Dir() { std::filesystem::remove_all(path); }
  std::string path;
};

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A script appending its arguments (and, when asked, sleeping first).
std::string recorder(const Dir& d, const std::string& name, const std::string& body = "") {
  const std::string path = d.path + "/" + name;
  std::ofstream(path) << "#!/bin/sh\n" << body << "echo \"$@\" >> " << d.path << "/calls\n";
  ::chmod(path.c_str(), 0755);
  return path;
}


TEST(ScriptHooks, ACallbackGetsActionRoleAndScopeAsPatroniPassesThem) {
  Dir d;
  HooksConfig c;
  c.scope = "batman";
  c.presentation = PatroniGeneration::v3_3;
  c.callbacks[CallbackAction::on_role_change] = recorder(d, "cb.sh") + " --flag 'two words'";
  c.callbacks[CallbackAction::on_start] = recorder(d, "cb.sh");
  ScriptHooks h(system_process_runner(), c);
  h.fire(CallbackAction::on_role_change, ha::Role::promoted);  // a node being promoted is "master"
  ASSERT_TRUE(h.wait_idle(5s));
  h.fire(CallbackAction::on_start, ha::Role::replica);
  ASSERT_TRUE(h.wait_idle(5s));
  h.fire(CallbackAction::on_stop, ha::Role::replica);  // not configured: nothing
  ASSERT_TRUE(h.wait_idle(5s));
  EXPECT_EQ(slurp(d.path + "/calls"), "--flag two words on_role_change master batman\non_start replica batman\n");
  // Presenting Patroni 4.1, the primary is "primary".
  c.presentation = PatroniGeneration::v4_1;
  h.set_config(c);
  h.fire(CallbackAction::on_role_change, ha::Role::promoted);
  ASSERT_TRUE(h.wait_idle(5s));
  h.fire(CallbackAction::on_role_change, ha::Role::primary);
  ASSERT_TRUE(h.wait_idle(5s));
  EXPECT_EQ(slurp(d.path + "/calls"), "--flag two words on_role_change master batman\non_start replica batman\n"
                                      "--flag two words on_role_change primary batman\n"
                                      "--flag two words on_role_change primary batman\n");
}

TEST(ScriptHooks, ANewCallbackReplacesTheOneStillRunning) {
  Dir d;
  HooksConfig c;
  c.scope = "s";
  c.presentation = PatroniGeneration::v3_3;
  // The first call hangs (on_start); the second (on_stop) kills it and runs.
  c.callbacks[CallbackAction::on_start] = recorder(d, "slow.sh", "sleep 30\n");
  c.callbacks[CallbackAction::on_stop] = recorder(d, "fast.sh");
  test::LogCapture log;
  ScriptHooks h(system_process_runner(), c);
  h.fire(CallbackAction::on_start, ha::Role::primary);
  std::this_thread::sleep_for(200ms);
  const auto t0 = std::chrono::steady_clock::now();
  h.fire(CallbackAction::on_stop, ha::Role::primary);
  ASSERT_TRUE(h.wait_idle(5s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(slurp(d.path + "/calls"), "on_stop master s\n");  // the slow one never got to write
  EXPECT_GE(log.count_containing("because it was still running"), 1);
}

TEST(ScriptHooks, OnReloadRunsBesideTheOthers) {
  Dir d;
  HooksConfig c;
  c.scope = "s";
  c.callbacks[CallbackAction::on_start] = recorder(d, "slow.sh", "sleep 1\n");
  c.callbacks[CallbackAction::on_reload] = recorder(d, "reload.sh");
  ScriptHooks h(system_process_runner(), c);
  h.fire(CallbackAction::on_start, ha::Role::replica);
  std::this_thread::sleep_for(100ms);
  h.fire(CallbackAction::on_reload, ha::Role::replica);  // does not kill on_start
  ASSERT_TRUE(h.wait_idle(5s));
  EXPECT_EQ(slurp(d.path + "/calls"), "on_reload replica s\non_start replica s\n");
}

TEST(ScriptHooks, PrePromoteDecidesAndCanBeCancelled) {
  Dir d;
  HooksConfig c;
  c.pre_promote = recorder(d, "ok.sh");
  ScriptHooks ok(system_process_runner(), c);
  EXPECT_TRUE(ok.pre_promote(CancelToken()));
  c.pre_promote = recorder(d, "bad.sh", "exit 3\n");
  ScriptHooks bad(system_process_runner(), c);
  test::LogCapture log;
  auto r = bad.pre_promote(CancelToken());
  ASSERT_FALSE(r);
  EXPECT_TRUE(log.has("info: pre_promote script `" + c.pre_promote + "` exited with 3"));
  c.pre_promote = recorder(d, "hang.sh", "sleep 30\n");
  ScriptHooks hang(system_process_runner(), c);
  CancelToken cancel;
  std::thread t([&] {
    std::this_thread::sleep_for(200ms);
    cancel.cancel();  // the lock was lost meanwhile
  });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(hang.pre_promote(cancel));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  t.join();
}

TEST(ScriptHooks, BeforeStopIsBoundedAndItsExitCodeOnlyLogged) {
  Dir d;
  HooksConfig c;
  c.before_stop = recorder(d, "bs.sh", "sleep 30\n");
  c.before_stop_timeout = 1;
  ScriptHooks h(system_process_runner(), c);
  const auto t0 = std::chrono::steady_clock::now();
  h.before_stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST(ScriptHooks, ConfigurationIsReadLikePatroniReadsIt) {
  auto c = hooks_config_from(nlohmann::json{{"callbacks", {{"on_start", "/x start"}, {"on_stop", 5}, {"bogus", "/y"}}},
                                            {"pre_promote", "/p"},
                                            {"before_stop", "/b"}},
                             "sc", 30, PatroniGeneration::v3_3);
  EXPECT_EQ(c.scope, "sc");
  EXPECT_EQ(c.callbacks.size(), 1u);
  EXPECT_EQ(c.callbacks[CallbackAction::on_start], "/x start");
  EXPECT_EQ(c.pre_promote, "/p");
  EXPECT_EQ(c.before_stop, "/b");
  EXPECT_EQ(c.before_stop_timeout, 30);
}

}  // namespace
}  // namespace custos::agent
