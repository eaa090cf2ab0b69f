// TerminalEchoOff on a pseudo-terminal: echo goes off for the scope and comes back at its end,
// also when Ctrl-C (SIGINT) or SIGTERM ends the process at the prompt; a descriptor that is no
// terminal is left alone.
#include "common/terminal_echo.h"

#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace custos {
namespace {

class TerminalEchoTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::openpty(&master_, &slave_, nullptr, nullptr, nullptr), 0); }
  void TearDown() override {
    ::close(master_);
    ::close(slave_);
  }
  bool echo() const {
    termios t{};
    EXPECT_EQ(::tcgetattr(slave_, &t), 0);
    return (t.c_lflag & ECHO) != 0;
  }
  // A child turns echo off and is ended by `sig` at the prompt; it must die of that signal.
  void end_child_at_the_prompt(int sig) {
    ASSERT_TRUE(echo());
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::signal(sig, SIG_DFL);  // as at an interactive shell (a background job inherits SIGINT ignored)
      TerminalEchoOff quiet(slave_);
      if (!quiet.active()) ::_exit(3);
      ::raise(sig);
      ::_exit(4);  // not reached: the signal ends the process
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exit status " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    EXPECT_EQ(WTERMSIG(status), sig);
    EXPECT_TRUE(echo()) << "the terminal was left without echo";
  }

  int master_ = -1;
  int slave_ = -1;
};

TEST_F(TerminalEchoTest, EchoIsOffForTheScopeAndBackAfterIt) {
  ASSERT_TRUE(echo());
  {
    TerminalEchoOff quiet(slave_);
    EXPECT_TRUE(quiet.active());
    EXPECT_FALSE(echo());
  }
  EXPECT_TRUE(echo());
}

TEST_F(TerminalEchoTest, CtrlCAtThePromptLeavesTheTerminalWithEcho) { end_child_at_the_prompt(SIGINT); }

TEST_F(TerminalEchoTest, SigtermAtThePromptLeavesTheTerminalWithEcho) { end_child_at_the_prompt(SIGTERM); }

TEST_F(TerminalEchoTest, TheHandlersAreGoneAfterTheScope) {
  struct sigaction before {};
  ASSERT_EQ(::sigaction(SIGINT, nullptr, &before), 0);
  { TerminalEchoOff quiet(slave_); }
  struct sigaction after {};
  ASSERT_EQ(::sigaction(SIGINT, nullptr, &after), 0);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
}

TEST_F(TerminalEchoTest, AnIgnoredSignalStaysIgnored) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction before {};
  ASSERT_EQ(::sigaction(SIGHUP, &ignore, &before), 0);
  {
    TerminalEchoOff quiet(slave_);
    struct sigaction now {};
    ASSERT_EQ(::sigaction(SIGHUP, nullptr, &now), 0);
    EXPECT_EQ(now.sa_handler, SIG_IGN);
  }
  ::sigaction(SIGHUP, &before, nullptr);
}

TEST_F(TerminalEchoTest, NoTerminalNoChange) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    TerminalEchoOff quiet(fds[0]);
    EXPECT_FALSE(quiet.active());
  }
  TerminalEchoOff none(-1);
  EXPECT_FALSE(none.active());
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace custos
