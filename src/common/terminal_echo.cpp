#include "common/terminal_echo.h"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>

namespace custos {

namespace {

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// The terminal to put back from a signal handler: written before the handlers are installed and
// after they are removed, read only by them (tcsetattr, sigaction and raise are
// async-signal-safe).
constexpr std::size_t kCount = sizeof kSignals / sizeof kSignals[0];
volatile sig_atomic_t g_fd = -1;
termios g_saved{};
struct sigaction g_previous[kCount];
bool g_handled[kCount];  // false for a signal that was ignored: it stays ignored

void restore_and_reraise(int sig) {
  if (g_fd >= 0) ::tcsetattr(g_fd, TCSAFLUSH, &g_saved);
  for (std::size_t i = 0; i < kCount; ++i)
    if (kSignals[i] == sig) ::sigaction(sig, &g_previous[i], nullptr);
  ::raise(sig);
}

}  // namespace

TerminalEchoOff::TerminalEchoOff(int fd) {
  termios saved{};
  if (fd < 0 || !::isatty(fd) || ::tcgetattr(fd, &saved) != 0 || !(saved.c_lflag & ECHO)) return;
  g_saved = saved;
  g_fd = fd;
  struct sigaction handler {};
  handler.sa_handler = restore_and_reraise;
  sigemptyset(&handler.sa_mask);
  for (std::size_t i = 0; i < kCount; ++i) {
    g_handled[i] = ::sigaction(kSignals[i], nullptr, &g_previous[i]) == 0 && g_previous[i].sa_handler != SIG_IGN;
    if (g_handled[i]) ::sigaction(kSignals[i], &handler, nullptr);
  }
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  ::tcsetattr(fd, TCSAFLUSH, &quiet);
  active_ = true;
}

TerminalEchoOff::~TerminalEchoOff() {
  if (!active_) return;
  ::tcsetattr(g_fd, TCSAFLUSH, &g_saved);
  for (std::size_t i = 0; i < kCount; ++i)
    if (g_handled[i]) ::sigaction(kSignals[i], &g_previous[i], nullptr);
  g_fd = -1;
}

}  // namespace custos
