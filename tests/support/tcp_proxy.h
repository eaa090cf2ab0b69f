// TcpProxy: a TCP forwarder on 127.0.0.1 that a fault test controls, standing for the network
// between two parties (an agent and etcd, a member and another member's PostgreSQL or REST API).
// Modes, applied to new and existing connections at once (mute: to new ones only):
//   pass       bytes flow both ways (upstreams are tried in order until one accepts);
//   blackhole  a partition as a network shows it: connections stay open and nothing crosses
//              (the proxy stops reading, so bytes wait in the kernel's buffers and the sender's
//              window fills, as TCP retransmitting into a partition); new connections wait in
//              the listen backlog. Callers run into their timeouts. Back to pass, whatever is
//              still waiting flows on, as a healed network delivers it;
//   reject     every connection is closed at once and new ones are closed on arrival (a peer
//              that is down: callers fail fast);
//   mute       new connections are accepted and whatever they send is read and dropped, never
//              answered, for as long as they last (until reject closes them), whatever the mode
//              later (a server that took a connection while starting and never serves it);
//              connections made before go on as they were.
//
// Thread: its own accept thread plus two forwarding threads per connection (one for a muted
// connection), all made and
// joined by the proxy; set_mode/stats from any thread. Every wait is bounded (100 ms polls).
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace custos::test {

class TcpProxy {
 public:
  enum class Mode { pass, blackhole, reject, mute };
  struct Upstream {
    std::string host = "127.0.0.1";
    int port = 0;
  };

  // Listens on 127.0.0.1:<free port> (or `port` when non-zero).
  explicit TcpProxy(std::vector<Upstream> upstreams, std::string name = "", int port = 0);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& name() const { return name_; }
  void set_mode(Mode mode);
  Mode mode() const { return mode_.load(); }
  // Connections accepted so far.
  uint64_t accepted() const { return accepted_.load(); }
  // Connections accepted in mute mode so far.
  uint64_t muted() const { return muted_.load(); }

 private:
  struct Link;
  void accept_loop();
  void forward(Link& link, bool client_to_upstream);
  void swallow(Link& link);
  int connect_upstream() const;
  void reap_links();

  const std::vector<Upstream> upstreams_;
  const std::string name_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<Mode> mode_{Mode::pass};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> muted_{0};
  std::atomic<uint64_t> generation_{0};  // bumped by reject: older connections close
  std::thread acceptor_;
  std::mutex mu_;
  std::list<std::shared_ptr<Link>> links_;
};

const char* to_string(TcpProxy::Mode mode);

}  // namespace custos::test
