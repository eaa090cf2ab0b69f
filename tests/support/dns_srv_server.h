// DnsSrvServer: a tiny DNS server on 127.0.0.1 (UDP, a free port) that answers SRV queries for
// the names a test gives it and NXDOMAIN for everything else, so SRV discovery can be tested
// against the real resolver library without touching the machine's DNS.
//
// Thread: one thread serves; records may be set from the test thread at any time.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace custos::test {

class DnsSrvServer {
 public:
  DnsSrvServer();
  ~DnsSrvServer();
  DnsSrvServer(const DnsSrvServer&) = delete;
  DnsSrvServer& operator=(const DnsSrvServer&) = delete;

  int port() const { return port_; }
  // The SRV answer for `name` (e.g. "_etcd-client._tcp.example.test"): (target host, port) pairs.
  void set(const std::string& name, std::vector<std::pair<std::string, int>> targets);
  // How many queries arrived.
  int queries() const { return queries_.load(); }

 private:
  void serve();

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  mutable std::mutex mu_;
  std::map<std::string, std::vector<std::pair<std::string, int>>> records_;
  std::thread thread_;
};

}  // namespace custos::test
