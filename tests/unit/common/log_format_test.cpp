#include "common/log_format.h"

#include <gtest/gtest.h>
#include <time.h>

#include <regex>

using custos::LogFormat;
using custos::LogRecord;
using nlohmann::json;

namespace {

LogRecord record(int level, std::string_view message) {
  LogRecord r;
  // 2026-12-03 10:49:13.042 local time.
  struct tm tm {};
  tm.tm_year = 126;
  tm.tm_mon = 11;
  tm.tm_mday = 3;
  tm.tm_hour = 10;
  tm.tm_min = 49;
  tm.tm_sec = 13;
  tm.tm_isdst = -1;
  r.time = std::chrono::system_clock::from_time_t(::mktime(&tm)) + std::chrono::milliseconds(42);
  r.level = level;
  r.message = message;
  r.process = 4242;
  r.thread = 4242;
  return r;
}

}  // namespace

TEST(LogFormat, DefaultLayoutIsPatronis) {
  LogFormat f;
  EXPECT_EQ(f.render(record(20, "no action. I am (n1), the leader with the lock")),
            "2026-12-03 10:49:13,042 INFO: no action. I am (n1), the leader with the lock");
  EXPECT_EQ(f.render(record(30, "w")), "2026-12-03 10:49:13,042 WARNING: w");
  EXPECT_EQ(f.render(record(50, "c")), "2026-12-03 10:49:13,042 CRITICAL: c");
}

TEST(LogFormat, PythonFormatAndDateformat) {
  std::vector<std::string> w;
  auto f = LogFormat::from_config(
      json{{"format", "%(asctime)s [%(levelname)-8s] %(process)d/%(threadName)s %(levelno)03d %%: %(message)s"},
           {"dateformat", "%d.%m.%Y %H:%M"}},
      &w);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(f.render(record(30, "m")), "03.12.2026 10:49 [WARNING ] 4242/MainThread 030 %: m");
}

TEST(LogFormat, FormatsPythonWouldRejectFallBackWithAWarning) {
  for (const char* bad : {"%(nonexistent)s %(message)s", "%(message)", "%(levelname)d", "50% %(message)s"}) {
    std::vector<std::string> w;
    auto f = LogFormat::from_config(json{{"format", bad}}, &w);
    ASSERT_EQ(w.size(), 1u) << bad;
    EXPECT_NE(w[0].find("using the default"), std::string::npos) << w[0];
    EXPECT_EQ(f.render(record(20, "x")), "2026-12-03 10:49:13,042 INFO: x");
  }
  std::vector<std::string> w;
  LogFormat::from_config(json{{"format", json::array({"message"})}}, &w);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], "Expected log format to be a string when log type is plain, but got \"list\"");
}

TEST(LogFormat, JsonWithFieldsRenamesAndStaticFields) {
  std::vector<std::string> w;
  auto def = LogFormat::from_config(json{{"type", "json"}}, &w);
  EXPECT_EQ(def.render(record(20, "caf\xc3\xa9 \"q\"")),
            R"({"asctime": "2026-12-03 10:49:13,042", "levelname": "INFO", "message": "caf\u00e9 \"q\""})");
  auto list = LogFormat::from_config(
      json{{"type", "json"},
           {"format", json::array({"asctime", json{{"levelname", "level"}}, "message", 7})},
           {"static_fields", json{{"app", "patroni"}, {"dc", 3}}}},
      &w);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], "Expected each item of log format to be a string or dictionary, but got \"int\"");
  EXPECT_EQ(list.render(record(40, "e")),
            R"({"asctime": "2026-12-03 10:49:13,042", "level": "ERROR", "message": "e", "app": "patroni", "dc": 3})");
  auto numbers = LogFormat::from_config(json{{"type", "json"}, {"format", "%(levelno)s %(process)s"}}, &w);
  EXPECT_EQ(numbers.render(record(10, "d")), R"({"levelno": 10, "process": 4242})");
}
