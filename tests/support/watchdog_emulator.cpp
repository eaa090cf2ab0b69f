#include "watchdog_emulator.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <stdexcept>

namespace custos::test {

WatchdogEmulator::WatchdogEmulator(std::string fifo, std::function<void()> reset)
    : fifo_(std::move(fifo)), reset_(std::move(reset)) {
  read_fd_ = ::open(fifo_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (read_fd_ < 0) throw std::runtime_error("cannot open " + fifo_ + " for reading");
  write_fd_ = ::open(fifo_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  thread_ = std::thread([this] { run(); });
}

WatchdogEmulator::~WatchdogEmulator() {
  stop_ = true;
  thread_.join();
  ::close(read_fd_);
  if (write_fd_ >= 0) ::close(write_fd_);
}

void WatchdogEmulator::run() {
  std::string pending;
  char buf[256];
  while (!stop_) {
    pollfd pf{read_fd_, POLLIN, 0};
    ::poll(&pf, 1, 20);
    for (;;) {
      const ssize_t n = ::read(read_fd_, buf, sizeof buf);
      if (n <= 0) break;
      pending.append(buf, static_cast<std::size_t>(n));
    }
    const auto now = std::chrono::steady_clock::now();
    bool fire = false;
    {
      std::lock_guard lk(mu_);
      std::size_t i = 0;
      while (i < pending.size()) {
        const char c = pending[i];
        if (c == 'C') {
          const auto nl = pending.find('\n', i);
          if (nl == std::string::npos) break;  // the rest of the command has not arrived yet
          const std::string cmd = pending.substr(i + 1, nl - i - 1);
          if (cmd.rfind("timeout=", 0) == 0) timeout_ = std::stoi(cmd.substr(8));
          armed_ = true;
          last_keepalive_ = now;
          i = nl + 1;
        } else if (c == 'V') {
          armed_ = false;
          ++i;
        } else {
          // Any other write keeps a Linux watchdog alive.
          armed_ = true;
          last_keepalive_ = now;
          ++keepalives_;
          ++i;
        }
      }
      pending.erase(0, i);
      if (armed_ && now - last_keepalive_ > std::chrono::seconds(timeout_)) {
        armed_ = false;
        ++resets_;
        last_reset_ = now;
        fire = true;
      }
    }
    if (fire) reset_();
  }
}

bool WatchdogEmulator::armed() const {
  std::lock_guard lk(mu_);
  return armed_;
}
int WatchdogEmulator::timeout_seconds() const {
  std::lock_guard lk(mu_);
  return timeout_;
}
int WatchdogEmulator::keepalives() const {
  std::lock_guard lk(mu_);
  return keepalives_;
}
int WatchdogEmulator::resets() const {
  std::lock_guard lk(mu_);
  return resets_;
}
std::optional<WatchdogEmulator::SteadyTime> WatchdogEmulator::last_reset() const {
  std::lock_guard lk(mu_);
  return last_reset_;
}

}  // namespace custos::test
