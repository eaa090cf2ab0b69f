// Echo off on a terminal for the length of a scope (a password prompt), and back on at its end,
// also when SIGINT, SIGTERM, SIGHUP or SIGQUIT ends the process meanwhile: the handler puts the
// terminal back and re-raises the signal under its previous disposition, as Python's getpass
// leaves the terminal on Ctrl-C. Without it, Ctrl-C at a password prompt left the shell without
// echo.
//
// Thread: one instance at a time in the process (prompts are interactive, on the main thread).
// Blocking: no. Errors: none; a descriptor that is not a terminal is left as it is.
#pragma once

namespace custos {

class TerminalEchoOff {
 public:
  explicit TerminalEchoOff(int fd);
  ~TerminalEchoOff();
  TerminalEchoOff(const TerminalEchoOff&) = delete;
  TerminalEchoOff& operator=(const TerminalEchoOff&) = delete;

  // Echo was on a terminal and is off now.
  bool active() const { return active_; }

 private:
  bool active_ = false;
};

}  // namespace custos
