// LogCapture: while alive, every line the default spdlog logger writes is also kept here as
// "<level>: <message>" (level as spdlog names it: info, warning, error, ...), so a test can
// check the words an operator would grep for.
//
// Thread: lines may come from any thread; the capture is made and read by the test thread.
// Only one capture at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace spdlog::sinks {
class sink;
}

namespace custos::test {

class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<std::string> lines() const;
  // A line equal to `line` was written.
  bool has(const std::string& line) const;
  // How many lines contain `part`.
  int count_containing(const std::string& part) const;

 private:
  std::shared_ptr<spdlog::sinks::sink> sink_;
  int previous_level_ = 0;
};

}  // namespace custos::test
