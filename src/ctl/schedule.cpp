#include "ctl/schedule.h"

#include <sys/time.h>

#include <cctype>
#include <cstdio>
#include <ctime>
#include <regex>
#include <sstream>

namespace custos::ctl {

namespace {

std::string offset_text(long seconds) {
  char sign = seconds < 0 ? '-' : '+';
  long a = seconds < 0 ? -seconds : seconds;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%c%02ld:%02ld", sign, (a / 3600) % 100, (a % 3600) / 60);
  return buf;
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

bool valid_date(int y, int m, int d) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  int max = kDays[m - 1];
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) max = 29;
  return d <= max;
}

}  // namespace

Result<std::optional<ScheduledTime>, std::string> parse_scheduled(
    const std::optional<std::string>& text) {
  if (!text || text->empty() || *text == "now") return std::optional<ScheduledTime>{};
  const std::string error = "Unable to parse scheduled timestamp (" + *text +
                            "). It should be in an unambiguous format (e.g. ISO 8601)";
  static const std::regex re(
      R"(^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?\s*$)");
  std::smatch m;
  if (!std::regex_match(*text, m, re)) return Err<std::string>{error};
  const int year = std::stoi(m[1]), month = std::stoi(m[2]), day = std::stoi(m[3]);
  const int hour = m[4].matched ? std::stoi(m[4]) : 0, minute = m[5].matched ? std::stoi(m[5]) : 0;
  const int second = m[6].matched ? std::stoi(m[6]) : 0;
  long micros = 0;
  if (m[7].matched) {
    std::string f = m[7].str().substr(0, 6);
    while (f.size() < 6) f += '0';
    micros = std::stol(f);
  }
  if (!valid_date(year, month, day) || hour > 23 || minute > 59 || second > 59)
    return Err<std::string>{error};

  long offset = 0;
  if (m[8].matched) {
    const std::string z = m[8];
    if (z != "Z" && z != "z" && z != "UTC") {
      std::string digits;
      for (char c : z)
        if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
      const long hh = std::stol(digits.substr(0, 2)),
                 mm = digits.size() > 2 ? std::stol(digits.substr(2)) : 0;
      if (hh > 23 || mm > 59) return Err<std::string>{error};
      offset = (hh * 3600 + mm * 60) * (z[0] == '-' ? -1 : 1);
    }
  } else {
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    tm.tm_isdst = -1;
    if (std::mktime(&tm) == static_cast<std::time_t>(-1)) return Err<std::string>{error};
    offset = tm.tm_gmtoff;
  }
  const long long local_seconds =
      days_from_civil(year, month, day) * 86400LL + hour * 3600 + minute * 60 + second;
  ScheduledTime out;
  out.utc =
      dcs::SysMicros{std::chrono::microseconds{(local_seconds - offset) * 1000000LL + micros}};
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", year, month, day, hour, minute,
                second);
  out.iso = buf;
  if (micros) {
    std::snprintf(buf, sizeof buf, ".%06ld", micros);
    out.iso += buf;
  }
  out.iso += offset_text(offset);
  return std::optional<ScheduledTime>{out};
}

std::string local_timestamp(int precision) {
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  std::tm tm{};
  std::time_t secs = tv.tv_sec;
  localtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  std::string out = buf;
  if (precision > 0) {
    std::snprintf(buf, sizeof buf, ".%06ld", static_cast<long>(tv.tv_usec));
    out += std::string(buf).substr(0, static_cast<size_t>(precision));
  }
  return out;
}

std::string next_hour_example() {
  std::time_t t = std::time(nullptr) + 3600;
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M", &tm);
  return buf;
}

Result<bool, std::string> check_postgres_version(const std::string& text) {
  std::vector<long> parts;
  std::stringstream ss(text);
  std::string item;
  bool ok = !text.empty() && text.back() != '.';
  while (ok && std::getline(ss, item, '.')) {
    if (item.empty() || item.size() > 9) {
      ok = false;
      break;
    }
    for (char c : item)
      if (!std::isdigit(static_cast<unsigned char>(c))) ok = false;
    if (ok) parts.push_back(std::stol(item));
  }
  if (!ok)
    return Err<std::string>{"Invalid PostgreSQL major version format: X.Y or X.Y.Z is accepted: " +
                            text};
  if (parts.size() < 2 || (parts.size() == 2 && parts[0] < 10) || parts.size() > 3)
    return Err<std::string>{"Invalid PostgreSQL format: X.Y or X.Y.Z is accepted: " + text};
  return true;
}

std::string format_pg_version(long long version) {
  if (version < 100000)
    return std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
           std::to_string(version % 100);
  return std::to_string(version / 10000) + "." + std::to_string(version % 100);
}

}  // namespace custos::ctl
