#include "dcs_server.h"

#include <stdexcept>
#include <thread>

#include "dcs/etcd3/client.h"
#include "dcs/zookeeper/zk_session.h"
#include "etcd_cluster.h"
#include "zookeeper_server.h"
#include "etcd_server.h"
#include "net/http_client.h"

namespace custos::test {

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// etcd for the v3 (`etcd3`) or v2 (`etcd`) API: one member, or a cluster of three.
class EtcdDcsServer final : public DcsServer {
 public:
  EtcdDcsServer(bool v2, int members, bool secure, bool v3_users = false) : v2_(v2), secure_(secure), users_(v3_users) {
    if (v3_users) {
      EtcdServerOptions o;
      o.auth = true;
      single_ = std::make_unique<EtcdServer>(o);
      return;
    }
    if (members == 1) {
      EtcdServerOptions o;
      o.tls = secure;
      o.client_cert_auth = secure;
      // etcd's v3 JSON gateway refuses requests that carry a client certificate once v3 users
      // are on ("CommonName of client ... will be ignored"), and a server with a trusted CA asks
      // for one: v3 runs TLS with client certificates (its users are tested on their own, in
      // tests/integration/etcd3), v2 TLS with client certificates and users.
      o.auth = secure && v2;
      single_ = std::make_unique<EtcdServer>(o);
      if (secure && v2) single_->enable_v2_auth();
    } else {
      cluster_ = std::make_unique<EtcdCluster>(members, secure, secure && v2, v2 ? "custos-etcd2" : "custos-etcd3");
      if (secure && v2) cluster_->member(0).enable_v2_auth();
    }
  }

  std::string section_name() const override { return v2_ ? "etcd" : "etcd3"; }

  json section() const override {
    json hosts = json::array();
    for (int i = 0; i < members(); ++i) hosts.push_back(member(i).host_port());
    json s = {{"hosts", hosts}};
    if (users_) {
      s["username"] = "root";
      s["password"] = member(0).options().root_password;
    }
    if (secure_) {
      s["protocol"] = "https";
      s["cacert"] = member(0).ca_file();
      s["cert"] = member(0).client_cert_file();
      s["key"] = member(0).client_key_file();
      if (v2_) {
        s["username"] = "root";
        s["password"] = member(0).options().root_password;
      }
    }
    return s;
  }

  void raw_put(const std::string& key, const std::string& value) override {
    if (!v2_) {
      // Our v3 client as a plain key-value client (etcdctl takes no value over 128 KiB).
      json s = section();
      s["scope"] = "raw";
      s["name"] = "raw";
      auto settings = dcs::etcd_common::EtcdSettings::from_section(s);
      if (!settings) throw std::runtime_error(settings.error());
      dcs::etcd3::Etcd3Client client(settings.value());
      auto r = client.put(key, value, "", client.deadline_from_now());
      if (!r) throw std::runtime_error("etcd v3 put " + key + ": " + r.error().message);
      return;
    }
    net::HttpClientOptions o;
    if (secure_) {
      o.tls.ca_file = member(0).ca_file();
      o.tls.cert_file = member(0).client_cert_file();
      o.tls.key_file = member(0).client_key_file();
      o.basic_auth = std::make_pair(std::string("root"), member(0).options().root_password);
    }
    net::HttpClient client(o);
    std::string body = "value=";
    static const char* hex = "0123456789ABCDEF";
    for (unsigned char c : value) {
      if (std::isalnum(c)) {
        body += static_cast<char>(c);
      } else {
        body += '%';
        body += hex[c >> 4];
        body += hex[c & 15];
      }
    }
    net::HttpRequest req{"PUT", member(first_running()).client_url() + "/v2/keys" + key, {}, body,
                         "application/x-www-form-urlencoded"};
    auto r = client.request(req, 5s);
    if (!r.ok() || r->status >= 300)
      throw std::runtime_error("etcd v2 PUT " + key + ": " + (r.ok() ? r->body : r.error().describe()));
  }

  int members() const override { return single_ ? 1 : cluster_->size(); }
  void stop_member(int i) override { member(i).stop(); }
  void kill_member(int i) override { member(i).kill(); }
  void start_member(int i) override { member(i).start(); }
  bool wait_serving(int timeout_seconds) override {
    auto all_healthy = [&] {
      for (int i = 0; i < members(); ++i)
        if (member(i).running() && !member(i).healthy()) return false;
      return true;
    };
    for (int i = 0; i < timeout_seconds * 10; ++i) {
      if (all_healthy()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return all_healthy();
  }

 private:
  EtcdServer& member(int i) const { return single_ ? *single_ : cluster_->member(i); }
  int first_running() const {
    for (int i = 0; i < members(); ++i)
      if (member(i).running()) return i;
    throw std::runtime_error("no etcd member runs");
  }

  bool v2_;
  bool secure_;
  bool users_;
  std::unique_ptr<EtcdServer> single_;
  std::unique_ptr<EtcdCluster> cluster_;
};

// ZooKeeper: one server or three; `secure` requires digest authentication and restricts
// /service to that user (Debian's C client has no TLS: see ZooKeeperSettings).
class ZooKeeperDcsServer final : public DcsServer {
 public:
  ZooKeeperDcsServer(int members, bool secure)
      : server_(members, secure ? std::optional(std::make_pair(std::string("custos"), std::string("zk-secret")))
                                : std::nullopt) {}

  std::string section_name() const override { return "zookeeper"; }
  json section() const override {
    json s = {{"hosts", server_.host_ports()}};
    if (server_.digest())
      s["auth_data"] = {{"digest", server_.digest()->first + ":" + server_.digest()->second}};
    return s;
  }
  void raw_put(const std::string& key, const std::string& value) override {
    std::string hosts;
    for (const auto& hp : server_.host_ports()) hosts += (hosts.empty() ? "" : ",") + hp;
    std::vector<std::pair<std::string, std::string>> auth;
    if (server_.digest()) auth.emplace_back("digest", server_.digest()->first + ":" + server_.digest()->second);
    dcs::zookeeper::ZkSession session(hosts, 10s, auth, nullptr);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    auto s = session.set(key, value, -1, deadline);
    if (!s && s.error().is(dcs::zookeeper::zrc::kNoNode)) {
      auto c = session.create(key, value, false, deadline);
      if (!c) throw std::runtime_error("zookeeper create " + key + ": " + c.error().message);
    } else if (!s) {
      throw std::runtime_error("zookeeper set " + key + ": " + s.error().message);
    }
  }
  int members() const override { return server_.members(); }
  void stop_member(int i) override { server_.stop_member(i); }
  void kill_member(int i) override { server_.kill_member(i); }
  void start_member(int i) override { server_.start_member(i); }
  bool wait_serving(int timeout_seconds) override { return server_.wait_serving(std::chrono::seconds(timeout_seconds)); }

 private:
  mutable ZooKeeperServer server_;
};

}  // namespace

std::unique_ptr<DcsServer> start_dcs_server_with_users(const std::string& backend) {
  if (backend == "etcd3") return std::make_unique<EtcdDcsServer>(false, 1, false, true);
  return start_dcs_server(backend, 1, true);
}

std::unique_ptr<DcsServer> start_dcs_server(const std::string& backend, int members, bool secure) {
  if (backend == "etcd3") return std::make_unique<EtcdDcsServer>(false, members, secure);
  if (backend == "etcd") return std::make_unique<EtcdDcsServer>(true, members, secure);
  if (backend == "zookeeper") return std::make_unique<ZooKeeperDcsServer>(members, secure);
  throw std::runtime_error("no test server for the DCS backend " + backend);
}

}  // namespace custos::test
