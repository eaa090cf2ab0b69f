#include "zookeeper_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace custos::test {

using namespace std::chrono_literals;

namespace {

// Sends a four-letter command and returns the answer ("" when the member does not answer).
std::string four_letters(int port, const std::string& command) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, command.data(), command.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(command.size())) {
    char buf[4096];
    for (int i = 0; i < 20; ++i) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

}  // namespace

ZooKeeperServer::ZooKeeperServer(int members, std::optional<std::pair<std::string, std::string>> digest)
    : digest_(std::move(digest)) {
  dir_ = make_temp_dir("custos-zookeeper");
  for (int i = 0; i < members; ++i) ports_.push_back({free_port(), free_port(), free_port()});
  procs_.resize(static_cast<std::size_t>(members));
  for (int i = 0; i < members; ++i) {
    const std::string data = dir_ + "/data" + std::to_string(i + 1);
    std::filesystem::create_directories(data);
    std::ofstream cfg(dir_ + "/zoo" + std::to_string(i + 1) + ".cfg");
    cfg << "tickTime=500\ninitLimit=20\nsyncLimit=10\n"
        << "dataDir=" << data << "\n"
        << "clientPort=" << ports_[static_cast<std::size_t>(i)].client << "\nclientPortAddress=127.0.0.1\n"
        << "minSessionTimeout=1000\nmaxSessionTimeout=120000\n"
        << "admin.enableServer=false\n4lw.commands.whitelist=srvr,ruok\n";
    if (digest_) cfg << "enforce.auth.enabled=true\nenforce.auth.schemes=digest\n";
    if (members > 1) {
      std::ofstream(data + "/myid") << (i + 1) << "\n";
      for (int j = 0; j < members; ++j)
        cfg << "server." << (j + 1) << "=127.0.0.1:" << ports_[static_cast<std::size_t>(j)].peer << ":"
            << ports_[static_cast<std::size_t>(j)].election << "\n";
    }
  }
  try {
    for (int i = 0; i < members; ++i) spawn(i);
    if (!wait_serving(60s)) throw std::runtime_error("ZooKeeper did not start serving within 60 s, see " + dir_);
    if (digest_) {
      // /service readable and writable by the digest user only (Debian's kazoo, which Patroni
      // uses too, computes the digest).
      const std::string script =
          "import sys\n"
          "from kazoo.client import KazooClient\n"
          "from kazoo.security import make_digest_acl\n"
          "user, pw, hosts = sys.argv[1], sys.argv[2], sys.argv[3]\n"
          "k = KazooClient(hosts, auth_data=[('digest', user + ':' + pw)])\n"
          "k.start(timeout=20)\n"
          "k.create('/service', b'', acl=[make_digest_acl(user, pw, all=True)])\n"
          "k.stop()\n";
      std::string hosts;
      for (const auto& hp : host_ports()) hosts += (hosts.empty() ? "" : ",") + hp;
      auto r = run_command({"/usr/bin/python3", "-c", script, digest_->first, digest_->second, hosts}, 60s);
      if (r.exit_code != 0) throw std::runtime_error("creating /service with a digest ACL failed: " + r.output);
    }
  } catch (...) {
    for (auto& p : procs_)
      if (p) p->kill();
    throw;
  }
}

ZooKeeperServer::~ZooKeeperServer() {
  for (auto& p : procs_)
    if (p) p->kill();
  procs_.clear();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::vector<std::string> ZooKeeperServer::host_ports() const {
  std::vector<std::string> out;
  for (const auto& p : ports_) out.push_back("127.0.0.1:" + std::to_string(p.client));
  return out;
}

void ZooKeeperServer::spawn(int i) {
  SpawnOptions o;
  o.argv = {"/usr/bin/java",
            "-Xmx128m",
            "-XX:+UseSerialGC",
            "-Dzookeeper.log.dir=" + dir_,
            "-cp",
            "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar",
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            dir_ + "/zoo" + std::to_string(i + 1) + ".cfg"};
  o.output_file = dir_ + "/zookeeper" + std::to_string(i + 1) + ".log";
  procs_[static_cast<std::size_t>(i)] = std::make_unique<ChildProcess>(o);
}

void ZooKeeperServer::start_member(int i) {
  if (running(i)) return;
  spawn(i);
  if (!wait_serving(60s)) throw std::runtime_error("ZooKeeper member did not serve again, see " + dir_);
}

void ZooKeeperServer::stop_member(int i) {
  if (auto& p = procs_.at(static_cast<std::size_t>(i))) p->stop(5s);
}

void ZooKeeperServer::kill_member(int i) {
  if (auto& p = procs_.at(static_cast<std::size_t>(i))) p->kill();
}

bool ZooKeeperServer::running(int i) {
  auto& p = procs_.at(static_cast<std::size_t>(i));
  return p && p->running();
}

bool ZooKeeperServer::serving() {
  int up = 0;
  for (int i = 0; i < members(); ++i) {
    if (!running(i)) continue;
    if (four_letters(ports_[static_cast<std::size_t>(i)].client, "srvr").find("Mode:") == std::string::npos)
      return false;
    ++up;
  }
  return up > 0;
}

bool ZooKeeperServer::wait_serving(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (serving()) return true;
    std::this_thread::sleep_for(200ms);
  }
  return serving();
}

}  // namespace custos::test
