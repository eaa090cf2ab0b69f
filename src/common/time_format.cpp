#include "common/time_format.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace custos {

std::string iso8601_local(double epoch_seconds) {
  const auto t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm);
  std::string s = buf;
  if (s.size() > 5) s.insert(s.size() - 2, ":");  // +0200 -> +02:00
  return s;
}

std::string iso8601_utc(double epoch_seconds) {
  // Whole microseconds, as Python's datetime holds them.
  const long long micros_total = std::llround(epoch_seconds * 1e6);
  long long secs = micros_total / 1000000;
  long long micros = micros_total % 1000000;
  if (micros < 0) {
    micros += 1000000;
    --secs;
  }
  const auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (micros != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%06lld", micros);
    out += frac;
  }
  return out + "+00:00";
}

}  // namespace custos
