#include "log_capture.h"

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace custos::test {

namespace {

spdlog::sinks::ringbuffer_sink_mt& ring(const std::shared_ptr<spdlog::sinks::sink>& s) {
  return static_cast<spdlog::sinks::ringbuffer_sink_mt&>(*s);
}

}  // namespace

LogCapture::LogCapture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(4096)) {
  sink_->set_pattern("%l: %v");
  auto logger = spdlog::default_logger();
  previous_level_ = static_cast<int>(logger->level());
  if (logger->level() > spdlog::level::info) logger->set_level(spdlog::level::info);
  logger->sinks().push_back(sink_);
}

LogCapture::~LogCapture() {
  auto logger = spdlog::default_logger();
  auto& sinks = logger->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  logger->set_level(static_cast<spdlog::level::level_enum>(previous_level_));
}

std::vector<std::string> LogCapture::lines() const {
  std::vector<std::string> out = ring(sink_).last_formatted();
  for (std::string& l : out)
    while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
  return out;
}

bool LogCapture::has(const std::string& line) const {
  const auto all = lines();
  return std::find(all.begin(), all.end(), line) != all.end();
}

int LogCapture::count_containing(const std::string& part) const {
  int n = 0;
  for (const std::string& l : lines()) n += l.find(part) != std::string::npos ? 1 : 0;
  return n;
}

}  // namespace custos::test
