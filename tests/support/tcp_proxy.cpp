#include "tcp_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace custos::test {

const char* to_string(TcpProxy::Mode mode) {
  switch (mode) {
    case TcpProxy::Mode::pass: return "pass";
    case TcpProxy::Mode::blackhole: return "blackhole";
    case TcpProxy::Mode::reject: return "reject";
    case TcpProxy::Mode::mute: return "mute";
  }
  return "?";
}

struct TcpProxy::Link {
  int client = -1;
  int upstream = -1;  // -1: accepted while muted; bytes are dropped
  uint64_t generation = 0;
  std::atomic<int> running{0};
  std::thread a, b;
  ~Link() {
    if (a.joinable()) a.join();
    if (b.joinable()) b.join();
    if (client >= 0) ::close(client);
    if (upstream >= 0) ::close(upstream);
  }
};

namespace {

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd pf{fd, POLLOUT, 0};
        ::poll(&pf, 1, 100);
        continue;
      }
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

TcpProxy::TcpProxy(std::vector<Upstream> upstreams, std::string name, int port)
    : upstreams_(std::move(upstreams)), name_(std::move(name)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("proxy socket: " + std::string(std::strerror(errno)));
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 128) != 0) {
    const std::string e = std::strerror(errno);
    ::close(listen_fd_);
    throw std::runtime_error("proxy " + name_ + " bind/listen: " + e);
  }
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TcpProxy::~TcpProxy() {
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  std::list<std::shared_ptr<Link>> links;
  {
    std::lock_guard lk(mu_);
    links.swap(links_);
  }
  for (auto& l : links) {
    ::shutdown(l->client, SHUT_RDWR);
    if (l->upstream >= 0) ::shutdown(l->upstream, SHUT_RDWR);
  }
  links.clear();  // joins
}

void TcpProxy::set_mode(Mode mode) {
  mode_ = mode;
  if (mode != Mode::reject) return;
  ++generation_;
  std::lock_guard lk(mu_);
  for (auto& l : links_) {
    ::shutdown(l->client, SHUT_RDWR);
    if (l->upstream >= 0) ::shutdown(l->upstream, SHUT_RDWR);
  }
}

int TcpProxy::connect_upstream() const {
  for (const auto& u : upstreams_) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(u.port));
    ::inet_pton(AF_INET, u.host.c_str(), &a.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return fd;
    }
    ::close(fd);
  }
  return -1;
}

void TcpProxy::reap_links() {
  std::list<std::shared_ptr<Link>> done;
  {
    std::lock_guard lk(mu_);
    for (auto it = links_.begin(); it != links_.end();) {
      if ((*it)->running.load() == 0) {
        done.push_back(*it);
        it = links_.erase(it);
      } else {
        ++it;
      }
    }
  }
  done.clear();  // joins outside the lock
}

void TcpProxy::accept_loop() {
  while (!stop_) {
    if (mode_ == Mode::blackhole) {
      // New connections stay in the backlog until the partition heals.
      reap_links();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    pollfd pf{listen_fd_, POLLIN, 0};
    if (::poll(&pf, 1, 100) <= 0) {
      reap_links();
      continue;
    }
    int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    ++accepted_;
    if (mode_ == Mode::reject) {
      ::close(c);  // a peer that is down
      continue;
    }
    int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto link = std::make_shared<Link>();
    link->client = c;
    link->generation = generation_.load();
    if (mode_ == Mode::mute) {
      ++muted_;
      link->running = 1;
      Link* l = link.get();
      link->a = std::thread([this, l] { swallow(*l); });
      std::lock_guard lk(mu_);
      links_.push_back(link);
      continue;
    }
    link->upstream = connect_upstream();
    if (link->upstream < 0) {
      link->client = -1;
      ::close(c);  // every upstream refused: so does the proxy
      continue;
    }
    link->running = 2;
    // The threads use the Link through a plain pointer: only links_ owns it, so it is never
    // destroyed (and joined) from one of its own threads.
    Link* l = link.get();
    link->a = std::thread([this, l] { forward(*l, true); });
    link->b = std::thread([this, l] { forward(*l, false); });
    std::lock_guard lk(mu_);
    links_.push_back(link);
  }
}

void TcpProxy::forward(Link& link, bool client_to_upstream) {
  const int from = client_to_upstream ? link.client : link.upstream;
  const int to = client_to_upstream ? link.upstream : link.client;
  char buf[16384];
  while (!stop_) {
    if (link.generation != generation_.load()) break;
    if (mode_.load() == Mode::blackhole) {
      // Nothing is read: the bytes wait in the kernel, nothing crosses.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    pollfd pf{from, POLLIN, 0};
    const int r = ::poll(&pf, 1, 100);
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    const ssize_t n = ::recv(from, buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break;
    }
    if (!write_all(to, buf, static_cast<std::size_t>(n))) break;
  }
  // One direction ended: end the other one too (a closed TCP connection).
  ::shutdown(link.client, SHUT_RDWR);
  ::shutdown(link.upstream, SHUT_RDWR);
  --link.running;
}

void TcpProxy::swallow(Link& link) {
  char buf[16384];
  while (!stop_ && link.generation == generation_.load()) {
    pollfd pf{link.client, POLLIN, 0};
    const int r = ::poll(&pf, 1, 100);
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    const ssize_t n = ::recv(link.client, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) break;
  }
  ::shutdown(link.client, SHUT_RDWR);
  --link.running;
}

}  // namespace custos::test
