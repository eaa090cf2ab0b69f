// Pieces the ecosystem tests share: a client that writes every 20 ms and records where each
// write landed, the longest gap between successful writes, and HAProxy started in front of a
// TestCluster with Patroni's documented configuration (checks over https when the cluster runs
// TLS). Test code only.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "child_process.h"
#include "cluster_fixture.h"
#include "postgres/pg_connection.h"

namespace custos::e2e {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

inline constexpr const char* kHaproxy = "/usr/sbin/haproxy";

// One write attempt: when it ended, and which server port took it (0: it failed).
struct Attempt {
  int64_t id = 0;  // the row it inserted (when it succeeded)
  SteadyClock::time_point at;
  int server_port = 0;
  std::string error;
};

// Writes through `conninfo` every 20 ms on one connection, recording every attempt (the server
// port that took each write tells which node it landed on: an INSERT succeeds on a primary
// only); after an error the connection is made again unless `keep_connection` (then
// PgConnection re-makes it on the next call if it broke). Its own thread; attempts() may be read
// at any time.
class RecordingWriter {
 public:
  explicit RecordingWriter(std::string conninfo, bool keep_connection = false)
      : conninfo_(std::move(conninfo)), keep_connection_(keep_connection) {
    thread_ = std::thread([this] { run(); });
  }

  ~RecordingWriter() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Attempt> attempts() {
    std::lock_guard l(mu_);
    return attempts_;
  }

 private:
  void run() {
    postgres::ConnectionOptions o;
    o.connect_timeout = 2s;
    o.query_timeout = 5s;
    for (int64_t id = 1; !stop_; ++id) {
      postgres::PgConnection conn(conninfo_, o);
      while (!stop_) {
        auto r = conn.query(
            "INSERT INTO ha_writes (id) VALUES ($1) RETURNING pg_catalog.inet_server_port()",
            {std::to_string(id++)});
        Attempt a;
        a.id = id - 1;
        a.at = SteadyClock::now();
        if (r && !r->rows.empty() && r->rows[0].size() == 1) {
          a.server_port = std::stoi(r->rows[0][0].value_or("0"));
        } else {
          a.error = r ? std::string("no row") : r.error().message;
        }
        {
          std::lock_guard l(mu_);
          attempts_.push_back(a);
        }
        std::this_thread::sleep_for(20ms);
        if (!a.error.empty() && !keep_connection_) break;  // a new connection
      }
    }
  }
  std::string conninfo_;
  const bool keep_connection_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Attempt> attempts_;
  std::thread thread_;
};

// The longest time between two successful writes among the attempts after `from`.
inline double longest_gap(const std::vector<Attempt>& attempts, SteadyClock::time_point from) {
  std::optional<SteadyClock::time_point> last_ok;
  double longest = 0;
  for (const auto& a : attempts) {
    if (a.at < from || a.server_port == 0) continue;
    if (last_ok) longest = std::max(longest, std::chrono::duration<double>(a.at - *last_ok).count());
    last_ok = a.at;
  }
  return longest;
}

inline std::string with_port(std::string conninfo, int from, int to) {
  const std::string needle = "port=" + std::to_string(from);
  auto pos = conninfo.find(needle);
  if (pos != std::string::npos) conninfo.replace(pos, needle.size(), "port=" + std::to_string(to));
  return conninfo;
}


struct HaproxyListeners {
  int write_port = 0;  // /primary
  int read_port = 0;   // /replica
  test::ChildProcess process;
};

// HAProxy as Patroni's documentation configures it: `option httpchk OPTIONS /primary` (writes)
// and `/replica` (reads), inter 500 ms, fall 2, rise 1, on-marked-down shutdown-sessions; over
// https with the cluster's ctl client certificate when it runs TLS.
inline HaproxyListeners start_haproxy(TestCluster& c) {
  const std::string dir = c.dir() + "/haproxy";
  std::filesystem::create_directories(dir);
  std::string tls;
  if (c.options().tls) {
    const std::string pem = dir + "/client.pem";  // HAProxy wants certificate and key in one file
    std::ofstream out(pem);
    out << std::ifstream(c.ctl_cert().cert_file).rdbuf() << std::ifstream(c.ctl_cert().key_file).rdbuf();
    tls = " check-ssl verify required ca-file " + c.ca_file() + " crt " + pem;
  }
  HaproxyListeners l;
  l.write_port = test::free_port();
  l.read_port = test::free_port();
  {
    std::ofstream y(dir + "/haproxy.cfg");
    y << "global\n  maxconn 100\n\ndefaults\n  mode tcp\n  retries 2\n  timeout client 30m\n"
         "  timeout connect 4s\n  timeout server 30m\n  timeout check 2s\n\n";
    for (const auto& [name, port, check] : {std::tuple{"primary", l.write_port, "/primary"},
                                            std::tuple{"replicas", l.read_port, "/replica"}}) {
      y << "listen " << name << "\n  bind 127.0.0.1:" << port << "\n  option httpchk OPTIONS " << check
        << "\n  http-check expect status 200\n"
        << "  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions\n";
      for (int i = 0; i < c.size(); ++i)
        y << "  server " << c.name(i) << " 127.0.0.1:" << c.node(i).pg_port << " maxconn 100 check port "
          << c.node(i).api_port << tls << "\n";
      y << "\n";
    }
  }
  auto valid = test::run_command({kHaproxy, "-c", "-f", dir + "/haproxy.cfg"}, std::chrono::seconds(20));
  EXPECT_EQ(valid.exit_code, 0) << valid.output;
  test::SpawnOptions so;
  so.argv = {kHaproxy, "-db", "-f", dir + "/haproxy.cfg"};
  so.output_file = dir + "/haproxy.log";
  l.process = test::ChildProcess(so);
  return l;
}

}  // namespace custos::e2e
