#include "common/process.h"

#include <gtest/gtest.h>

#include <unistd.h>

using namespace custos;
using namespace std::chrono_literals;

TEST(Process, CapturesOutputAndExitCode) {
  auto r = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->success());
  EXPECT_EQ(r->describe(), "exited with code 3");
}

TEST(Process, EnvironmentStdinAndCwd) {
  RunOptions o;
  o.env = {{"CUSTOS_X", "a b"}, {"LC_ALL", "C"}};
  o.stdin_data = "from stdin";
  o.cwd = "/";
  auto r = run_command({"sh", "-c", "printf '%s|%s|' \"$CUSTOS_X\" \"$LC_ALL\"; cat; pwd"}, o);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->out, "a b|C|from stdin/\n");
  EXPECT_TRUE(r->success());
}

TEST(Process, TimeoutKillsTheWholeGroup) {
  RunOptions o;
  o.timeout = 300ms;
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_command({"sh", "-c", "sleep 30 & sleep 30"}, o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->signal, 9);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST(Process, DoesNotWaitForGrandchildrenHoldingPipes) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_command({"sh", "-c", "(sleep 3 &) ; echo done"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "done\n");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2500ms);
}

TEST(Process, MissingCommandIsAnError) {
  EXPECT_FALSE(run_command({"/nonexistent/binary"}).ok());
  EXPECT_FALSE(run_command({"custos-no-such-command"}).ok());
  EXPECT_FALSE(run_command({}).ok());
}

TEST(Process, SpawnDetachedAndWait) {
  auto pid = spawn_detached({"sleep", "30"});
  ASSERT_TRUE(pid.ok()) << pid.error();
  EXPECT_TRUE(process_alive(pid.value()));
  EXPECT_EQ(::getsid(pid.value()), pid.value());  // own session
  EXPECT_FALSE(wait_for_exit(pid.value(), 100ms));
  auto st = process_start_time(pid.value());
  ASSERT_TRUE(st);
  EXPECT_LE(std::abs(*st - static_cast<int64_t>(::time(nullptr))), 2);
  EXPECT_EQ(process_parent(pid.value()), ::getpid());
  ::kill(pid.value(), SIGTERM);
  EXPECT_TRUE(wait_for_exit(pid.value(), 2s));
  EXPECT_FALSE(process_alive(pid.value()));
}

TEST(RunCommand, EachOutputLineReachesTheCallbackAsItArrives) {
  std::vector<std::pair<std::string, bool>> lines;
  custos::RunOptions o;
  o.max_output = 4;  // the callback sees everything, the captured text is capped
  o.on_output_line = [&](std::string_view line, bool from_stderr) { lines.emplace_back(line, from_stderr); };
  auto r = custos::run_command({"/bin/sh", "-c", "echo first; echo second >&2; printf 'no newline\\r\\nlast'"}, o);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success());
  EXPECT_EQ(r->out.size(), 4u);
  // The order between the two streams depends on scheduling; within each it is kept.
  std::vector<std::string> out, err;
  for (const auto& [line, from_stderr] : lines) (from_stderr ? err : out).push_back(line);
  EXPECT_EQ(out, (std::vector<std::string>{"first", "no newline", "last"}));
  EXPECT_EQ(err, (std::vector<std::string>{"second"}));
}
