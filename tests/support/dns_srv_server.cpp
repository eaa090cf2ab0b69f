#include "dns_srv_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace custos::test {

namespace {

void put16(std::string& out, int v) {
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

void put_name(std::string& out, const std::string& name) {
  std::size_t start = 0;
  while (start < name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out.push_back(static_cast<char>(dot - start));
    out += name.substr(start, dot - start);
    start = dot + 1;
  }
  out.push_back('\0');
}

}  // namespace

DnsSrvServer::DnsSrvServer() {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("DnsSrvServer: socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("DnsSrvServer: bind failed");
  socklen_t len = sizeof addr;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

DnsSrvServer::~DnsSrvServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void DnsSrvServer::set(const std::string& name, std::vector<std::pair<std::string, int>> targets) {
  std::string key = name;
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  std::lock_guard lk(mu_);
  records_[key] = std::move(targets);
}

void DnsSrvServer::serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    unsigned char buf[1500];
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    const ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 12) continue;
    ++queries_;
    // The question: labels from offset 12, then type and class.
    std::string name;
    std::size_t i = 12;
    while (i < static_cast<std::size_t>(n) && buf[i] != 0) {
      const std::size_t l = buf[i];
      if (i + 1 + l > static_cast<std::size_t>(n)) break;
      if (!name.empty()) name += '.';
      name.append(reinterpret_cast<const char*>(buf + i + 1), l);
      i += 1 + l;
    }
    const std::size_t question_end = i + 5;  // the 0 label, type, class
    if (question_end > static_cast<std::size_t>(n)) continue;
    const int qtype = (buf[i + 1] << 8) | buf[i + 2];
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::vector<std::pair<std::string, int>> targets;
    bool known = false;
    {
      std::lock_guard lk(mu_);
      auto it = records_.find(name);
      if (it != records_.end()) {
        known = true;
        if (qtype == 33) targets = it->second;
      }
    }
    std::string out(reinterpret_cast<const char*>(buf), 2);  // id
    put16(out, known ? 0x8180 : 0x8183);                      // response, RD+RA, NOERROR / NXDOMAIN
    put16(out, 1);
    put16(out, static_cast<int>(targets.size()));
    put16(out, 0);
    put16(out, 0);
    out.append(reinterpret_cast<const char*>(buf + 12), question_end - 12);
    for (const auto& [host, port] : targets) {
      put16(out, 0xc00c);  // the question's name
      put16(out, 33);
      put16(out, 1);
      put16(out, 0);
      put16(out, 60);  // ttl
      std::string rdata;
      put16(rdata, 10);  // priority
      put16(rdata, 10);  // weight
      put16(rdata, port);
      put_name(rdata, host);
      put16(out, static_cast<int>(rdata.size()));
      out += rdata;
    }
    ::sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
  }
}

}  // namespace custos::test
