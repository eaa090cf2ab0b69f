// Child processes for tests that start real servers (etcd, PostgreSQL, ...).
//
// This machine's PID 1 does not reap orphans, so test binaries make themselves a child
// subreaper (become_subreaper()) and reap orphans they inherit (a background ChildReaper).
// The reaper never touches children owned by a live ChildProcess (they reap themselves).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace custos::test {

// prctl(PR_SET_CHILD_SUBREAPER) and start a background thread that reaps orphaned
// grandchildren every few hundred milliseconds. Idempotent; safe to call from any test.
void become_subreaper();

// Reaps, once, every zombie child of this process that no ChildProcess owns.
void reap_orphans();

struct SpawnOptions {
  std::vector<std::string> argv;              // argv[0] is looked up in PATH
  std::map<std::string, std::string> env;     // added to / overriding the environment
  std::string cwd;                            // empty: inherit
  std::string output_file;                    // stdout+stderr appended here; empty: /dev/null
};

class ChildProcess {
 public:
  ChildProcess() = default;
  // Throws std::runtime_error when fork/exec set-up fails (exec failure shows as exit 127).
  explicit ChildProcess(const SpawnOptions& options);
  ~ChildProcess();  // stop()s a running child
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True while the child has not exited (reaps it if it has).
  bool running();
  // Exit status as from waitpid (WIFEXITED/...), once the child was reaped.
  std::optional<int> wait_status() const { return status_; }
  // Waits up to `timeout` for the child to exit; returns its raw wait status if it did.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  // Sends a signal if still running.
  void signal(int sig);
  // SIGTERM, wait up to `grace`, then SIGKILL; always reaps.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // SIGKILL and reap.
  void kill();

 private:
  void release();
  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string output;  // stdout + stderr
};

// Runs a command to completion (bounded by `timeout`, then SIGKILL) and captures its output.
RunResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = std::chrono::seconds(30),
                      const std::map<std::string, std::string>& env = {});

// Creates a fresh directory under $TMPDIR (or /tmp) named prefix-XXXXXX.
std::string make_temp_dir(const std::string& prefix);

// A 127.0.0.1 TCP port that was free a moment ago, below the kernel's ephemeral range (no outgoing
// connection takes it) and reserved against every other test process on this machine until this
// process exits (tests run in parallel). Thread-safe.
int free_port();

}  // namespace custos::test
