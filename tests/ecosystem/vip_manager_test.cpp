// Debian's vip-manager (1.0.2) beside every node, as operators run it: it watches the leader key
// /service/<scope>/leader and holds the cluster's virtual IP on its host's interface while the
// key names its own node. vip-manager 1.x reads etcd through the v2 API only, so this cluster
// runs on etcd's v2 API (custos's `etcd:` section), with TLS, a client certificate and a user
// for the agents and for vip-manager alike.
//
// Each node's "host" is a network interface of the test's own: one veth pair per node, made by
// the test in this machine's namespace with a 127.x base address (vip-manager's ARP client
// needs one on the interface) and removed at the end; the VIP is another 127.x address. No
// address outside loopback is used. Making interfaces needs CAP_NET_ADMIN (and vip-manager's
// ARP, CAP_NET_RAW): main.cpp keeps both for this executable only (CUSTOS_TEST_NET_CAPS in its
// CTest environment) when it drops root for the postgres user.
//
// Checked: exactly the leader's interface holds the VIP after the start, after a switchover,
// and after a failover in which the old primary's agent and postmaster die but its host (and
// its vip-manager) lives on and must give the address up. The delays are reported.
#include <signal.h>
#include <sys/prctl.h>
#include <linux/capability.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "ecosystem_support.h"

namespace custos::e2e {
namespace {

constexpr const char* kVipManager = "/usr/bin/vip-manager";
constexpr const char* kIp = "/usr/sbin/ip";

test::RunResult ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv{kIp};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run_command(argv, 10s);
}

// Interfaces this test makes are named cvh<pid>x<i> (peer cvp<pid>x<i>): those of a test
// process that no longer runs (killed before its clean-up) are removed first.
void remove_stale_interfaces() {
  std::istringstream links(ip({"-o", "link", "show"}).output);
  std::string line;
  while (std::getline(links, line)) {
    const auto colon = line.find(": cvh");
    if (colon == std::string::npos) continue;
    const std::string name = line.substr(colon + 2, line.find_first_of("@:", colon + 2) - colon - 2);
    const auto x = name.find('x');
    if (x == std::string::npos || x <= 3) continue;
    const std::string digits = name.substr(3, x - 3);
    if (!std::all_of(digits.begin(), digits.end(), [](unsigned char ch) { return std::isdigit(ch); })) continue;
    const pid_t owner = static_cast<pid_t>(std::stol(digits));
    if (::kill(owner, 0) != 0 && errno == ESRCH) ip({"link", "del", name});
  }
}

// One node's host interface: a veth pair, up, with a base address.
class HostInterface {
 public:
  HostInterface(int index, const std::string& base_address)
      : name_("cvh" + std::to_string(::getpid()) + "x" + std::to_string(index)),
        peer_("cvp" + std::to_string(::getpid()) + "x" + std::to_string(index)) {
    auto made = ip({"link", "add", name_, "type", "veth", "peer", "name", peer_});
    if (made.exit_code != 0) throw std::runtime_error("ip link add " + name_ + ": " + made.output);
    for (const auto& link : {name_, peer_}) ip({"link", "set", link, "up"});
    auto addr = ip({"addr", "add", base_address + "/32", "dev", name_});
    if (addr.exit_code != 0) throw std::runtime_error("ip addr add on " + name_ + ": " + addr.output);
  }
  ~HostInterface() { ip({"link", "del", name_}); }  // removes the peer too
  HostInterface(const HostInterface&) = delete;
  HostInterface& operator=(const HostInterface&) = delete;

  const std::string& name() const { return name_; }
  bool holds(const std::string& address) const {
    const std::string out = ip({"-o", "-4", "addr", "show", "dev", name_}).output;
    return out.find("inet " + address + "/") != std::string::npos;
  }

 private:
  std::string name_, peer_;
};

bool has_net_admin() {
  return ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_ADMIN, 0, 0) == 1 || ::geteuid() == 0;
}

class VipManagerE2E : public ClusterFixture {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.scope = "vip";
    o.dcs = "etcd";  // vip-manager 1.x: etcd v2 API only
    o.tls = true;
    make_cluster(o);
  }
  // The vip-managers stop (and the interfaces go) before the fixture removes the temp dir
  // they log into, also when the test failed.
  void TearDown() override {
    managers_.clear();
    hosts_.clear();
    ClusterFixture::TearDown();
  }

  // The node indexes whose interface holds the VIP now.
  std::vector<int> holders() const {
    std::vector<int> out;
    for (std::size_t i = 0; i < hosts_.size(); ++i)
      if (hosts_[i]->holds(vip_)) out.push_back(static_cast<int>(i));
    return out;
  }
  // Waits (bounded) until exactly node i's interface holds the VIP; the seconds it took.
  std::optional<double> seconds_until_only(int i, std::chrono::seconds timeout) {
    const auto from = SteadyClock::now();
    if (!eventually([&] { return holders() == std::vector<int>{i}; }, timeout)) return std::nullopt;
    return std::chrono::duration<double>(SteadyClock::now() - from).count();
  }
  std::string describe_holders() {
    std::string s = "VIP " + vip_ + " held by:";
    for (int i : holders()) s += " " + c().name(i);
    return s;
  }

  std::string vip_;
  std::vector<std::unique_ptr<HostInterface>> hosts_;
  std::vector<test::ChildProcess> managers_;
};

TEST_F(VipManagerE2E, TheLeadersHostHoldsTheVirtualIpThroughSwitchoverAndFailover) {
  if (!std::filesystem::exists(kVipManager)) GTEST_SKIP() << "vip-manager not installed (scripts/install-deps.sh)";
  if (!has_net_admin())
    GTEST_SKIP() << "needs CAP_NET_ADMIN (run as root: main.cpp keeps it with CUSTOS_TEST_NET_CAPS=1)";
  remove_stale_interfaces();
  // Addresses of this process's own: 127.<100 + pid % 100>.<pid / 100 % 250 + 1>.{1..n, 100}.
  const int pid = static_cast<int>(::getpid());
  const std::string net = "127." + std::to_string(100 + pid % 100) + "." + std::to_string(pid / 100 % 250 + 1) + ".";
  vip_ = net + "100";
  for (int i = 0; i < c().size(); ++i) hosts_.push_back(std::make_unique<HostInterface>(i, net + std::to_string(i + 1)));

  c().start_all();
  const int p = c().wait_for_primary(150s);
  c().wait_for_streaming(p, others(p), 150s);

  // One vip-manager per node, with the cluster's etcd TLS material and user.
  const nlohmann::json dcs = c().dcs_client_settings();
  std::string endpoints;
  for (const auto& h : dcs.at("hosts")) endpoints += (endpoints.empty() ? "" : ",") + std::string("https://") + h.get<std::string>();
  for (int i = 0; i < c().size(); ++i) {
    test::SpawnOptions so;
    so.argv = {kVipManager, "--ip", vip_, "--netmask", "32", "--interface", hosts_[static_cast<std::size_t>(i)]->name(),
               "--trigger-key", c().key("leader"), "--trigger-value", c().name(i), "--dcs-type", "etcd",
               "--dcs-endpoints", endpoints, "--etcd-ca-file", dcs.at("cacert").get<std::string>(),
               "--etcd-cert-file", dcs.at("cert").get<std::string>(), "--etcd-key-file", dcs.at("key").get<std::string>(),
               "--etcd-user", dcs.at("username").get<std::string>(), "--etcd-password", dcs.at("password").get<std::string>(),
               "--interval", "250"};
    so.output_file = c().node(i).dir + "/vip-manager.log";
    managers_.emplace_back(so);
  }
  auto logs = [&] {
    std::string s = describe_holders() + "\n";
    for (int i = 0; i < c().size(); ++i)
      s += c().name(i) + "'s vip-manager:\n" +
           test::run_command({"tail", "-n", "8", c().node(i).dir + "/vip-manager.log"}).output;
    return s;
  };
  ASSERT_TRUE(seconds_until_only(p, 30s)) << logs();

  // Switchover: the address moves with the leader key.
  const int q = others(p).front();
  const auto switch_at = SteadyClock::now();
  auto r = c().rest(p, "POST", "/switchover", nlohmann::json{{"leader", c().name(p)}, {"candidate", c().name(q)}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(c().wait_for_primary(60s), q);
  ASSERT_TRUE(seconds_until_only(q, 30s)) << logs();
  report("vip-manager: the VIP on the new primary's host after a switchover request",
         std::chrono::duration<double>(SteadyClock::now() - switch_at).count());

  // Failover: q's agent and postmaster die; its host and vip-manager live on and must let the
  // address go once another node holds the leader key.
  c().wait_for_streaming(q, others(q), 60s);
  const auto fail_at = SteadyClock::now();
  c().kill_node(q);
  const int w = c().wait_for_primary(90s);
  ASSERT_NE(w, q);
  ASSERT_TRUE(seconds_until_only(w, 30s)) << logs();
  report("vip-manager: the VIP on the new primary's host after kill -9 of the primary's agent and postmaster",
         std::chrono::duration<double>(SteadyClock::now() - fail_at).count());
  for (auto& m : managers_) EXPECT_TRUE(m.running()) << "a vip-manager exited\n" << logs();
  for (auto& m : managers_) m.stop();
}

}  // namespace
}  // namespace custos::e2e
