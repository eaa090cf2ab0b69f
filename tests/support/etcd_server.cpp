#include "etcd_server.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "net/http_client.h"
#include "test_ca.h"

namespace custos::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

EtcdServer::EtcdServer(EtcdServerOptions options) : options_(std::move(options)) {
  become_subreaper();
  dir_ = make_temp_dir("custos-etcd");
  data_dir_ = dir_ + "/data";
  log_file_ = dir_ + "/etcd.log";
  client_port_ = options_.client_port ? options_.client_port : free_port();
  peer_port_ = options_.peer_port ? options_.peer_port : free_port();
  try {
    if (options_.tls) make_certs();
    start();
    if (options_.auth) {
      auto r = etcdctl({"user", "add", "root:" + options_.root_password}, false);
      if (r.exit_code != 0) throw std::runtime_error("etcdctl user add root: " + r.output);
      r = etcdctl({"auth", "enable"}, false);
      if (r.exit_code != 0) throw std::runtime_error("etcdctl auth enable: " + r.output);
    }
  } catch (...) {
    if (proc_) proc_->kill();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

EtcdServer::~EtcdServer() {
  if (proc_) proc_->kill();
  proc_.reset();
  std::error_code ec;
  if (!std::getenv("CUSTOS_KEEP_TEST_DIRS")) fs::remove_all(dir_, ec);
}

std::string EtcdServer::client_url() const {
  return std::string(options_.tls ? "https" : "http") + "://" + host_port();
}

std::string EtcdServer::host_port() const { return "127.0.0.1:" + std::to_string(client_port_); }

void EtcdServer::make_certs() {
  std::unique_ptr<TestCa> own;
  if (!options_.ca) own = std::make_unique<TestCa>(dir_);
  const TestCa& ca = options_.ca ? *options_.ca : *own;
  ca_file_ = ca.ca_file();
  auto server = ca.issue("server-" + options_.name, "127.0.0.1", true);
  server_cert_ = server.cert_file;
  server_key_ = server.key_file;
  auto client = ca.issue("client-" + options_.name, "root", false);
  client_cert_ = client.cert_file;
  client_key_ = client.key_file;
}

void EtcdServer::start() {
  if (running()) return;
  std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  SpawnOptions o;
  o.argv = {"/usr/bin/etcd",
            "--name", options_.name,
            "--data-dir", data_dir_,
            "--listen-client-urls", client_url(),
            "--advertise-client-urls", client_url(),
            "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer,
            "--initial-cluster", options_.initial_cluster.empty() ? options_.name + "=" + peer : options_.initial_cluster,
            "--initial-cluster-state", "new",
            "--initial-cluster-token",
            options_.cluster_token.empty() ? "custos-test-" + std::to_string(client_port_) : options_.cluster_token,
            "--logger", "zap",
            "--log-level", "warn",
            // etcd's v2 API too, for the `etcd` backend (a separate keyspace; v3 clients unaffected)
            "--enable-v2=true"};
  if (options_.tls) {
    for (const std::string& a : {std::string("--cert-file=") + server_cert_, "--key-file=" + server_key_,
                                 "--trusted-ca-file=" + ca_file_})
      o.argv.push_back(a);
    if (options_.client_cert_auth) o.argv.push_back("--client-cert-auth");
  }
  o.env["ETCD_UNSUPPORTED_ARCH"] = "";
  o.output_file = log_file_;
  proc_ = std::make_unique<ChildProcess>(o);
  if (!options_.wait_healthy) return;
  auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!proc_->running()) throw std::runtime_error("etcd exited during start-up, see " + log_file_);
    if (healthy()) {
      initialized_ = true;
      return;
    }
    std::this_thread::sleep_for(50ms);
  }
  proc_->kill();
  throw std::runtime_error("etcd did not become healthy, see " + log_file_);
}

bool EtcdServer::healthy() {
  net::HttpClientOptions ho;
  if (options_.tls) {
    ho.tls.ca_file = ca_file_;
    ho.tls.cert_file = client_cert_;
    ho.tls.key_file = client_key_;
  }
  net::HttpClient client(ho);
  auto r = client.request({"GET", client_url() + "/health", {}, "", ""}, 1s);
  return r.ok() && r->status == 200 && r->body.find("\"true\"") != std::string::npos;
}

void EtcdServer::stop() {
  if (proc_) proc_->stop(5s);
}

void EtcdServer::kill() {
  if (proc_) proc_->kill();
}

void EtcdServer::enable_v2_auth() {
  net::HttpClientOptions ho;
  if (options_.tls) {
    ho.tls.ca_file = ca_file_;
    ho.tls.cert_file = client_cert_;
    ho.tls.key_file = client_key_;
  }
  net::HttpClient client(ho);
  auto put = [&](const std::string& path, const std::string& body, bool as_root) {
    net::HttpRequest req{"PUT", client_url() + path, {}, body, "application/json"};
    if (as_root) {
      net::HttpClientOptions with_auth = ho;
      with_auth.basic_auth = std::make_pair(std::string("root"), options_.root_password);
      net::HttpClient root(with_auth);
      return root.request(req, 5s);
    }
    return client.request(req, 5s);
  };
  auto check = [](const auto& r, const std::string& what) {
    if (!r.ok() || r->status >= 300)
      throw std::runtime_error("etcd v2 auth: " + what + ": " + (r.ok() ? r->body : r.error().describe()));
  };
  check(put("/v2/auth/users/root", R"({"user":"root","password":")" + options_.root_password + R"("})", false),
        "add root");
  check(put("/v2/auth/enable", "", false), "enable");
  // The guest role may do anything until revoked: without this, auth would change nothing.
  check(put("/v2/auth/roles/guest", R"({"role":"guest","revoke":{"kv":{"read":["/*"],"write":["/*"]}}})", true),
        "revoke guest");
}

bool EtcdServer::running() { return proc_ && proc_->running(); }

RunResult EtcdServer::etcdctl(const std::vector<std::string>& args, bool as_root) {
  std::vector<std::string> argv = {"/usr/bin/etcdctl", "--endpoints=" + client_url(), "--dial-timeout=3s",
                                   "--command-timeout=5s"};
  if (options_.tls) {
    argv.push_back("--cacert=" + ca_file_);
    argv.push_back("--cert=" + client_cert_);
    argv.push_back("--key=" + client_key_);
  }
  if (options_.auth && as_root) argv.push_back("--user=root:" + options_.root_password);
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, 20s, {{"ETCDCTL_API", "3"}});
}

}  // namespace custos::test
