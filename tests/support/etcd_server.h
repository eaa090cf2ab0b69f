// A real etcd (/usr/bin/etcd) for integration tests: single member on free 127.0.0.1 ports in
// a fresh temp dir, optionally with authentication (root user) and TLS (certificates made with
// the openssl CLI). Stop/restart keep ports and data; the destructor kills and cleans up.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "child_process.h"

namespace custos::test {

class TestCa;

struct EtcdServerOptions {
  bool auth = false;                      // create user root and enable auth
  std::string root_password = "custos-root-pw";
  bool tls = false;                       // https client URL with a test CA
  bool client_cert_auth = false;          // with tls: require a client certificate
  std::string name = "custos-etcd";
  std::chrono::milliseconds start_timeout = std::chrono::seconds(20);
  // ---- one member of a multi-member cluster (EtcdCluster) ----
  // Ports chosen by the caller (0: a free one).
  int client_port = 0;
  int peer_port = 0;
  // `--initial-cluster` of every member ("name=http://127.0.0.1:port,..."); empty: this one alone.
  std::string initial_cluster;
  std::string cluster_token;
  // TLS material issued by this CA instead of one of its own (every member the same CA).
  const TestCa* ca = nullptr;
  // start() returns once the process runs, without waiting for health (a member alone has no
  // quorum); EtcdCluster waits for the cluster.
  bool wait_healthy = true;
};

class EtcdServer {
 public:
  // Starts the server (throws std::runtime_error when it does not become healthy).
  explicit EtcdServer(EtcdServerOptions options = {});
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  void start();  // same ports, same data dir; waits until healthy
  void stop();   // SIGTERM, then SIGKILL after 5 s; reaps
  void kill();   // SIGKILL; reaps
  void restart() { stop(); start(); }
  bool running();

  int client_port() const { return client_port_; }
  int peer_port() const { return peer_port_; }
  // http(s)://127.0.0.1:<client port>
  std::string client_url() const;
  // "127.0.0.1:<client port>" (Patroni `host` form)
  std::string host_port() const;
  const std::string& dir() const { return dir_; }
  const std::string& log_file() const { return log_file_; }
  const EtcdServerOptions& options() const { return options_; }

  // TLS material (empty without tls): CA certificate, client certificate and key.
  const std::string& ca_file() const { return ca_file_; }
  const std::string& client_cert_file() const { return client_cert_; }
  const std::string& client_key_file() const { return client_key_; }

  // Turns on authentication of etcd's v2 API (separate from v3's): user root with the root
  // password, and the guest role's access revoked. Throws when etcd refuses.
  void enable_v2_auth();
  // Runs etcdctl (API v3) against this server, as root when auth is on.
  RunResult etcdctl(const std::vector<std::string>& args, bool as_root = true);

 private:
  void make_certs();

 public:
  // GET /health answers true (this member is part of a cluster with a leader).
  bool healthy();

 private:

  EtcdServerOptions options_;
  std::string dir_, data_dir_, log_file_;
  std::string ca_file_, server_cert_, server_key_, client_cert_, client_key_;
  int client_port_ = 0, peer_port_ = 0;
  bool initialized_ = false;
  std::unique_ptr<ChildProcess> proc_;
};

}  // namespace custos::test
