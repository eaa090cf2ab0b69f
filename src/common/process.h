// Child processes without a shell: run a command to completion under a timeout (capturing
// stdout/stderr), or spawn a long-lived detached child (own session, output to a log file);
// plus small /proc-based helpers about other processes (alive, start time, pidfd). Children never
// inherit systemd's NOTIFY_SOCKET / WATCHDOG_USEC / WATCHDOG_PID (the agent's own channel).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/cancel_token.h"
#include "common/result.h"

namespace custos {

struct RunOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // Added to (or overriding) the inherited environment.
  std::map<std::string, std::string> env;
  // Removed from the inherited environment.
  std::vector<std::string> env_unset;
  // Fed to the child's stdin; without it stdin is /dev/null.
  std::optional<std::string> stdin_data;
  // Working directory of the child (inherited when empty).
  std::string cwd;
  // Output beyond this many bytes per stream is read and discarded.
  size_t max_output = 8 * 1024 * 1024;
  // When set and cancelled, the child's process group is killed as on a timeout (checked at
  // least every 100 ms); the result then has `cancelled` set.
  const CancelToken* cancel = nullptr;
  // When set, called on the calling thread with each line of the child's stdout/stderr
  // (without the newline; `from_stderr` tells which) as it arrives, also beyond max_output:
  // how child output reaches the agent's log line by line (log_child_output).
  std::function<void(std::string_view line, bool from_stderr)> on_output_line;
};

struct RunResult {
  int exit_code = -1;  // when the child exited normally
  int signal = 0;      // the signal that terminated it, else 0
  bool timed_out = false;
  bool cancelled = false;
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};

  bool success() const { return !timed_out && !cancelled && signal == 0 && exit_code == 0; }
  // "exited with code 1", "killed by signal 9", "timed out after 500 ms".
  std::string describe() const;
};

// Runs argv (argv[0] looked up in PATH when it has no '/') in its own process group. On timeout
// the whole group gets SIGKILL and the child is reaped; the child is always reaped before
// returning. An error is returned only when the command could not be started.
Result<RunResult, std::string> run_command(const std::vector<std::string>& argv, const RunOptions& options = {});

struct SpawnOptions {
  std::map<std::string, std::string> env;
  std::vector<std::string> env_unset;
  std::string cwd;
  // stdout and stderr are appended to this file (created 0600); /dev/null when empty.
  std::string log_file;
};

// Starts argv as a detached child: new session (so its own process group, no controlling
// terminal), stdin /dev/null, all other descriptors closed, signals reset to default. Returns
// its pid once exec succeeded. The caller must reap it (try_reap / wait_for_exit).
Result<pid_t, std::string> spawn_detached(const std::vector<std::string>& argv, const SpawnOptions& options = {});

// waitpid(pid, WNOHANG): the wait status if `pid` is our child and has exited (now reaped),
// nullopt if it is still running or is not our child.
std::optional<int> try_reap(pid_t pid);

// True if the process exists and is not a zombie. Reaps it first when it is our exited child.
bool process_alive(pid_t pid);

// Waits until the process is gone (reaping it when it is our child). Uses a pidfd
// (pidfd_open, Linux >= 5.3) when available, else polls every 50 ms. True if gone in time.
bool wait_for_exit(pid_t pid, std::chrono::milliseconds timeout);

// A pidfd for `pid` (readable once the process terminates), or -1 if unsupported / no process.
// The caller owns (closes) it.
int open_pidfd(pid_t pid);

// Sends `sig` through the pidfd when there is one (it can never reach a recycled pid), else
// with kill(2). True when delivered.
bool send_signal(pid_t pid, int pidfd, int sig);
// Waits on the pidfd (falls back to wait_for_exit(pid)) until the process is gone, reaping it
// when it is our child. True if gone in time.
bool wait_for_exit(pid_t pid, int pidfd, std::chrono::milliseconds timeout);

// Process start time in seconds since the epoch (from /proc/PID/stat and /proc/stat btime).
std::optional<int64_t> process_start_time(pid_t pid);

// Parent pid from /proc/PID/stat.
std::optional<pid_t> process_parent(pid_t pid);

// Direct children of `pid` (scan of /proc).
std::vector<pid_t> process_children(pid_t pid);

// Resolves argv[0]-style names through PATH; returns the name unchanged if it contains '/'.
std::optional<std::string> find_executable(const std::string& name);

}  // namespace custos
