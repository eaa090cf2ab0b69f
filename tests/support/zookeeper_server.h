// A real ZooKeeper (Debian's `zookeeper` package, run with java) for integration tests: one
// server or an ensemble of three on free 127.0.0.1 ports in a fresh temp dir, started and
// stopped by PID; data and ports survive stop/start. tickTime 500 ms, so that session timeouts
// from 1 s to 120 s are granted as asked (Patroni's session timeout is its ttl).
//
// With `digest_user` set, the server requires digest authentication of every client
// (enforce.auth) and the namespace root (`/service`) is created readable and writable by that
// user only: a client with other credentials can neither read nor write clusters.
//
// Thread: the test's thread. Errors: std::runtime_error when a server does not come up.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "child_process.h"

namespace custos::test {

class ZooKeeperServer {
 public:
  // `digest`: (user, password) to require, or nullopt for an open server.
  ZooKeeperServer(int members, std::optional<std::pair<std::string, std::string>> digest);
  ~ZooKeeperServer();
  ZooKeeperServer(const ZooKeeperServer&) = delete;
  ZooKeeperServer& operator=(const ZooKeeperServer&) = delete;

  int members() const { return static_cast<int>(ports_.size()); }
  // "127.0.0.1:<client port>" of every member.
  std::vector<std::string> host_ports() const;
  const std::optional<std::pair<std::string, std::string>>& digest() const { return digest_; }

  void start_member(int i);  // waits until it serves (with an ensemble: once a quorum exists)
  void stop_member(int i);   // SIGTERM, then SIGKILL after 5 s
  void kill_member(int i);   // SIGKILL
  bool running(int i);
  // Every running member answers `srvr` with its mode (part of a quorum that serves).
  bool serving();
  bool wait_serving(std::chrono::milliseconds timeout);

 private:
  void spawn(int i);
  std::string dir_;
  std::optional<std::pair<std::string, std::string>> digest_;
  struct Ports {
    int client = 0, peer = 0, election = 0;
  };
  std::vector<Ports> ports_;
  std::vector<std::unique_ptr<ChildProcess>> procs_;
};

}  // namespace custos::test
