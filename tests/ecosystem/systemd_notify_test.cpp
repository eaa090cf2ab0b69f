// custos under a systemd unit with Type=notify and WatchdogSec= (packaging/custos.service):
// the test stands in for systemd with a datagram socket as NOTIFY_SOCKET and WATCHDOG_USEC set,
// as systemd does, and reads what the agent sends: READY=1 once (after the REST API listens and
// the first HA cycle ran), WATCHDOG=1 after every HA cycle (at least once per loop_wait), STATUS=
// with the cycle's message, and STOPPING=1 when it is stopped. A node without those variables
// runs as before.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cluster_fixture.h"

namespace custos::e2e {
namespace {

using namespace std::chrono_literals;

// A bound AF_UNIX datagram socket read all the time by a thread of its own (as systemd reads
// it: a full queue would block the sender); take() returns what arrived since the last take().
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path.copy(a.sun_path, sizeof a.sun_path - 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("cannot bind " + path);
    timeval tv{0, 200000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    reader_ = std::thread([this] {
      char buf[4096];
      while (!stop_) {
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) continue;
        std::lock_guard l(mu_);
        got_.emplace_back(buf, static_cast<std::size_t>(n));
      }
    });
  }
  ~NotifySocket() {
    stop_ = true;
    reader_.join();
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  std::vector<std::string> take() {
    std::lock_guard l(mu_);
    return std::exchange(got_, {});
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::string> got_;
  std::thread reader_;
};

int count_lines(const std::vector<std::string>& datagrams, const std::string& line) {
  int n = 0;
  for (const auto& d : datagrams) {
    std::size_t start = 0;
    while (start <= d.size()) {
      auto end = d.find('\n', start);
      if (d.substr(start, end == std::string::npos ? std::string::npos : end - start) == line) ++n;
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  return n;
}

class SystemdNotifyE2E : public ClusterFixture {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.scope = "notify";
    o.nodes = 2;
    make_cluster(o);
  }
};

TEST_F(SystemdNotifyE2E, ReadyWatchdogStatusAndStoppingAsTypeNotifyExpects) {
  NotifySocket systemd(c().dir() + "/notify.sock");
  c().node(0).env = {{"NOTIFY_SOCKET", c().dir() + "/notify.sock"}, {"WATCHDOG_USEC", "10000000"}};
  c().start_all();
  const int p = c().wait_for_primary(150s);
  c().wait_for_streaming(p, {1 - p}, 150s);
  // loop_wait is 2 s: 10 s more bring several cycles, each with a keepalive and a status.
  std::this_thread::sleep_for(10s);
  auto got = systemd.take();
  EXPECT_EQ(count_lines(got, "READY=1"), 1);
  EXPECT_GE(count_lines(got, "WATCHDOG=1"), 3);
  int status = 0;
  for (const auto& d : got) status += d.find("STATUS=") != std::string::npos;
  EXPECT_GE(status, 3);
  // The status names what the node does ("no action. I am (n1), the leader with the lock" or
  // "... a secondary, and following a leader ...").
  EXPECT_NE(got.back().find("STATUS=no action. I am (" + c().name(0) + ")"), std::string::npos) << got.back();
  // The REST API answers by the time READY=1 is sent.
  EXPECT_EQ(c().rest_status(0, "/liveness"), 200);
  // A clean stop says STOPPING=1.
  c().sigterm_agent(0);
  ASSERT_TRUE(c().wait_agent_exit(0, 60s));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(count_lines(systemd.take(), "STOPPING=1"), 1);
}

}  // namespace
}  // namespace custos::e2e
