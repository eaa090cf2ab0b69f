// Test helper: one custos node (its own temp dir, free PostgreSQL and REST ports, generated
// YAML) run as a child process of the test, plus small probes: the postmaster pid, SQL on its
// PostgreSQL, and the agent's log.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "child_process.h"
#include "etcd_server.h"

namespace custos::agent_test {

inline constexpr const char* kPgBinDir = "/usr/lib/postgresql/15/bin";

struct NodeOptions {
  std::string scope = "agent-test";
  int ttl = 20, loop_wait = 2, retry_timeout = 3;
};

class AgentNode {
 public:
  AgentNode(const std::string& name, const test::EtcdServer& etcd, NodeOptions options = {});
  ~AgentNode();

  void start();
  void stop_sigterm(std::chrono::milliseconds timeout = std::chrono::seconds(60));  // SIGTERM + wait
  void kill_agent();  // SIGKILL the agent only
  bool agent_running();
  std::optional<int> agent_wait(std::chrono::milliseconds timeout);

  // The agent process, while it runs.
  std::optional<pid_t> agent_pid() const;
  // The number of threads of the agent process (/proc/<pid>/task), 0 when it does not run.
  int agent_threads() const;

  // From postmaster.pid; nullopt when absent or that process is gone.
  std::optional<pid_t> postmaster_pid() const;
  // psql-like single value on this node ("" on error); error text in `error` when given.
  std::string sql(const std::string& query, std::string* error = nullptr) const;
  bool accepts_writes() const;  // pg_is_in_recovery() = f
  std::string log() const;
  std::string pg_log() const;  // the postmaster's output (<data_dir>.log)

  const std::string name;
  std::string dir, data_dir, config_file, log_file;
  int pg_port = 0, api_port = 0;

 private:
  NodeOptions options_;
  std::unique_ptr<test::ChildProcess> proc_;
};

// Polls `pred` every 100 ms until true or the timeout; returns whether it became true.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

}  // namespace custos::agent_test
