// WatchdogEmulator: the hardware behind a watchdog device, for Patroni's `testing` driver. It
// reads what an agent writes to a FIFO ("Ctimeout=<s>\n" when armed, "1" per keepalive, "V"
// before a clean close) and, when an armed watchdog goes without a keepalive for longer than
// its timeout, "resets the machine" by calling `reset` once (a fault test kills the node's
// agent and PostgreSQL at once there), as a real watchdog would. A writer that goes away
// without "V" leaves it armed: an agent killed while primary gets its machine reset too.
//
// Thread: one reader thread of its own (polls every 20 ms); the accessors from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace custos::test {

class WatchdogEmulator {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  // `fifo` must exist (mkfifo). The emulator holds it open for reading and writing, so that an
  // agent can always open it and a closing writer never makes it spin on end-of-file.
  WatchdogEmulator(std::string fifo, std::function<void()> reset);
  ~WatchdogEmulator();
  WatchdogEmulator(const WatchdogEmulator&) = delete;
  WatchdogEmulator& operator=(const WatchdogEmulator&) = delete;

  bool armed() const;
  int timeout_seconds() const;
  int keepalives() const;
  int resets() const;
  // When the last reset happened.
  std::optional<SteadyTime> last_reset() const;

 private:
  void run();

  const std::string fifo_;
  const std::function<void()> reset_;
  int read_fd_ = -1, write_fd_ = -1;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  bool armed_ = false;
  int timeout_ = 60;
  int keepalives_ = 0;
  int resets_ = 0;
  SteadyTime last_keepalive_{};
  std::optional<SteadyTime> last_reset_;
  std::thread thread_;
};

}  // namespace custos::test
