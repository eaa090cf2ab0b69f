// A real DCS server for the backend contract suite and the mixed-cluster tests, behind one
// interface: which backend it serves, the Patroni DCS section that reaches it (TLS and
// authentication where the backend has them), a third party's raw writes, and faults (stop,
// start, kill one of three members). Everything runs on 127.0.0.1 with free ports in temp dirs
// and is stopped by PID by the destructor.
//
// Thread: the test's thread. Errors: std::runtime_error when a server cannot be started.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace custos::test {

class DcsServer {
 public:
  virtual ~DcsServer() = default;

  // The Patroni section name: "etcd3", "etcd" (v2 API) or "zookeeper".
  virtual std::string section_name() const = 0;
  // The section's value: hosts, TLS material and credentials.
  virtual nlohmann::json section() const = 0;
  // Writes `value` at `key` (absolute, "/service/demo/config") as another program would:
  // no TTL, no checks. Throws when the server refuses.
  virtual void raw_put(const std::string& key, const std::string& value) = 0;
  // The value at `key` (absolute), nullopt when there is none or the server cannot be read.
  virtual std::optional<std::string> raw_get(const std::string& key) = 0;

  virtual int members() const = 0;
  virtual void stop_member(int i) = 0;  // graceful; keeps data and ports
  virtual void kill_member(int i) = 0;  // SIGKILL
  virtual void start_member(int i) = 0;  // same ports and data; waits until it serves
  void stop_all() {
    for (int i = 0; i < members(); ++i) stop_member(i);
  }
  void start_all() {
    for (int i = 0; i < members(); ++i) start_member(i);
  }
  // Waits (bounded) until every running member serves clients (quorum, leader, caught up).
  virtual bool wait_serving(int timeout_seconds) = 0;
};

// `backend`: "etcd3", "etcd" or "zookeeper". `members` 1 or 3. `secure`: TLS with client
// certificates and users (etcd v3 and v2), digest authentication (ZooKeeper: Debian's C client
// has no TLS).
std::unique_ptr<DcsServer> start_dcs_server(const std::string& backend, int members, bool secure);

}  // namespace custos::test
