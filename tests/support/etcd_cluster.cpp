#include "etcd_cluster.h"

#include <filesystem>
#include <stdexcept>
#include <thread>

namespace custos::test {

using namespace std::chrono_literals;

EtcdCluster::EtcdCluster(int members, bool tls, bool auth, const std::string& name) : tls_(tls) {
  dir_ = make_temp_dir(name + "-ca");
  if (tls) ca_ = std::make_unique<TestCa>(dir_);
  std::vector<std::pair<int, int>> ports;
  std::string initial;
  for (int i = 0; i < members; ++i) {
    ports.push_back({free_port(), free_port()});
    if (!initial.empty()) initial += ",";
    initial += name + std::to_string(i + 1) + "=http://127.0.0.1:" + std::to_string(ports.back().second);
  }
  try {
    for (int i = 0; i < members; ++i) {
      EtcdServerOptions o;
      o.name = name + std::to_string(i + 1);
      o.tls = tls;
      o.client_cert_auth = false;
      o.client_port = ports[static_cast<std::size_t>(i)].first;
      o.peer_port = ports[static_cast<std::size_t>(i)].second;
      o.initial_cluster = initial;
      o.cluster_token = name + "-" + std::to_string(ports.front().first);
      o.ca = ca_.get();
      o.wait_healthy = false;
      members_.push_back(std::make_unique<EtcdServer>(o));
    }
    if (!wait_healthy(30s)) throw std::runtime_error("the etcd cluster did not get a leader within 30 s");
    if (auth) {
      auto r = member(0).etcdctl({"user", "add", "root:" + root_password()}, false);
      if (r.exit_code != 0) throw std::runtime_error("etcdctl user add root: " + r.output);
      r = member(0).etcdctl({"auth", "enable"}, false);
      if (r.exit_code != 0) throw std::runtime_error("etcdctl auth enable: " + r.output);
    }
  } catch (...) {
    members_.clear();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    throw;
  }
}

EtcdCluster::~EtcdCluster() {
  members_.clear();
  std::error_code ec;
  if (!std::getenv("CUSTOS_KEEP_TEST_DIRS")) std::filesystem::remove_all(dir_, ec);
}

std::vector<std::string> EtcdCluster::host_ports() const {
  std::vector<std::string> out;
  for (const auto& m : members_) out.push_back(m->host_port());
  return out;
}

std::vector<int> EtcdCluster::client_ports() const {
  std::vector<int> out;
  for (const auto& m : members_) out.push_back(m->client_port());
  return out;
}

void EtcdCluster::stop_all() {
  for (auto& m : members_) m->stop();
}

void EtcdCluster::start_all() {
  for (auto& m : members_) m->start();
}

bool EtcdCluster::healthy() {
  for (auto& m : members_)
    if (m->running() && m->healthy()) return true;
  return false;
}

bool EtcdCluster::wait_healthy(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (healthy()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return healthy();
}

}  // namespace custos::test
