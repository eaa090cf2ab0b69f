// EtcdCluster: a real etcd cluster of N members (/usr/bin/etcd) on free 127.0.0.1 ports, for
// the fault tests: members can be stopped, killed and started one by one (one of three lost,
// then two: no quorum, then back). Optionally TLS (one test CA for every member) and
// authentication (user root). Everything is stopped by PID and removed by the destructor.
//
// Thread: the test's thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "etcd_server.h"
#include "test_ca.h"

namespace custos::test {

class EtcdCluster {
 public:
  // Starts every member and waits until the cluster has a leader (throws when it does not).
  EtcdCluster(int members, bool tls, bool auth, const std::string& name = "custos-etcd");
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  int size() const { return static_cast<int>(members_.size()); }
  EtcdServer& member(int i) { return *members_.at(static_cast<std::size_t>(i)); }
  // "127.0.0.1:<client port>" of every member, in order.
  std::vector<std::string> host_ports() const;
  std::vector<int> client_ports() const;
  void stop_member(int i) { member(i).stop(); }
  void kill_member(int i) { member(i).kill(); }
  void start_member(int i) { member(i).start(); }
  void stop_all();
  void start_all();
  // Some running member answers /health true (the cluster has quorum and a leader).
  bool healthy();
  // Polls healthy() until `timeout`.
  bool wait_healthy(std::chrono::milliseconds timeout);

  bool tls() const { return tls_; }
  const std::string& ca_file() const { return members_.front()->ca_file(); }
  const std::string& client_cert_file() const { return members_.front()->client_cert_file(); }
  const std::string& client_key_file() const { return members_.front()->client_key_file(); }
  const std::string& root_password() const { return members_.front()->options().root_password; }

 private:
  bool tls_;
  std::string dir_;
  std::unique_ptr<TestCa> ca_;
  std::vector<std::unique_ptr<EtcdServer>> members_;
};

}  // namespace custos::test
