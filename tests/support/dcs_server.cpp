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
  EtcdDcsServer(bool v2, int members, bool secure) : v2_(v2), secure_(secure) {
    if (members == 1) {
      EtcdServerOptions o;
      o.tls = secure;
      // etcd asks every client for a certificate once it has a trusted CA; with
      // --client-cert-auth on as well, its v3 JSON gateway refuses certificates once users are
      // on ("CommonName of client ... will be ignored"), so v3 runs without that flag (as the
      // e2e clusters do): TLS, client certificates, users.
      o.client_cert_auth = secure && v2;
      o.auth = secure;
      single_ = std::make_unique<EtcdServer>(o);
      if (secure && v2) single_->enable_v2_auth();
    } else {
      cluster_ = std::make_unique<EtcdCluster>(members, secure, secure, v2 ? "custos-etcd2" : "custos-etcd3");
      if (secure && v2) cluster_->member(0).enable_v2_auth();
    }
  }

  std::string section_name() const override { return v2_ ? "etcd" : "etcd3"; }

  json section() const override {
    json hosts = json::array();
    for (int i = 0; i < members(); ++i) hosts.push_back(member(i).host_port());
    json s = {{"hosts", hosts}};
    if (secure_) {
      s["protocol"] = "https";
      s["cacert"] = member(0).ca_file();
      s["cert"] = member(0).client_cert_file();
      s["key"] = member(0).client_key_file();
      s["username"] = "root";
      s["password"] = member(0).options().root_password;
    }
    return s;
  }

  std::optional<std::string> raw_get(const std::string& key) override {
    if (!v2_) {
      auto client = v3_client();
      auto r = client->range(key, std::nullopt, false, client->deadline_from_now());
      if (!r || r->kvs.empty()) return std::nullopt;
      return r->kvs.front().value;
    }
    auto client = v2_client();
    auto r = client->request({"GET", member(first_running()).client_url() + "/v2/keys" + key, {}, "", ""}, 5s);
    if (!r.ok() || r->status != 200) return std::nullopt;
    const json j = json::parse(r->body, nullptr, false);
    if (!j.is_object() || !j.contains("node") || !j["node"].contains("value") || !j["node"]["value"].is_string())
      return std::nullopt;
    return j["node"]["value"].get<std::string>();
  }

  void raw_put(const std::string& key, const std::string& value) override {
    if (!v2_) {
      // Our v3 client as a plain key-value client (etcdctl takes no value over 128 KiB).
      auto client = v3_client();
      auto r = client->put(key, value, "", client->deadline_from_now());
      if (!r) throw std::runtime_error("etcd v3 put " + key + ": " + r.error().message);
      return;
    }
    auto client = v2_client();
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
    auto r = client->request(req, 5s);
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
  std::unique_ptr<dcs::etcd3::Etcd3Client> v3_client() const {
    json s = section();
    s["scope"] = "raw";
    s["name"] = "raw";
    auto settings = dcs::etcd_common::EtcdSettings::from_section(s);
    if (!settings) throw std::runtime_error(settings.error());
    return std::make_unique<dcs::etcd3::Etcd3Client>(settings.value());
  }
  std::unique_ptr<net::HttpClient> v2_client() const {
    net::HttpClientOptions o;
    if (secure_) {
      o.tls.ca_file = member(0).ca_file();
      o.tls.cert_file = member(0).client_cert_file();
      o.tls.key_file = member(0).client_key_file();
      o.basic_auth = std::make_pair(std::string("root"), member(0).options().root_password);
    }
    return std::make_unique<net::HttpClient>(o);
  }
  int first_running() const {
    for (int i = 0; i < members(); ++i)
      if (member(i).running()) return i;
    throw std::runtime_error("no etcd member runs");
  }

  bool v2_;
  bool secure_;
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
  std::optional<std::string> raw_get(const std::string& key) override {
    auto session = open_session();
    auto r = session->get(key, false, std::chrono::steady_clock::now() + 10s);
    if (!r || !*r) return std::nullopt;
    return (*r)->value;
  }
  void raw_put(const std::string& key, const std::string& value) override {
    auto session = open_session();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    auto s = session->set(key, value, -1, deadline);
    if (!s && s.error().is(dcs::zookeeper::zrc::kNoNode)) {
      auto c = session->create(key, value, false, deadline);
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
  std::unique_ptr<dcs::zookeeper::ZkSession> open_session() const {
    std::string hosts;
    for (const auto& hp : server_.host_ports()) hosts += (hosts.empty() ? "" : ",") + hp;
    std::vector<std::pair<std::string, std::string>> auth;
    if (server_.digest()) auth.emplace_back("digest", server_.digest()->first + ":" + server_.digest()->second);
    return std::make_unique<dcs::zookeeper::ZkSession>(hosts, 10s, auth, nullptr);
  }
  mutable ZooKeeperServer server_;
};

}  // namespace

std::unique_ptr<DcsServer> start_dcs_server(const std::string& backend, int members, bool secure) {
  if (backend == "etcd3") return std::make_unique<EtcdDcsServer>(false, members, secure);
  if (backend == "etcd") return std::make_unique<EtcdDcsServer>(true, members, secure);
  if (backend == "zookeeper") return std::make_unique<ZooKeeperDcsServer>(members, secure);
  throw std::runtime_error("no test server for the DCS backend " + backend);
}

}  // namespace custos::test
