// --scheduled parsing (with and without a time zone), timestamps, --pg-version checks and
// server_version rendering.
#include "ctl/schedule.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <regex>

#include "ctl/cluster_view.h"

namespace custos::ctl {
namespace {

class CtlSchedule : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = std::getenv("TZ");
    saved_ = tz ? std::optional<std::string>(tz) : std::nullopt;
    ::setenv("TZ", "Europe/Paris", 1);
    ::tzset();
  }
  void TearDown() override {
    if (saved_)
      ::setenv("TZ", saved_->c_str(), 1);
    else
      ::unsetenv("TZ");
    ::tzset();
  }
  std::optional<std::string> saved_;
};

std::string iso(const std::string& text) {
  auto r = parse_scheduled(text);
  EXPECT_TRUE(r) << text;
  if (!r || !*r) return "";
  return (*r)->iso;
}

std::string utc(const std::string& text) {
  auto r = parse_scheduled(text);
  if (!r || !*r) return "";
  return isoformat_utc((*r)->utc);
}

TEST_F(CtlSchedule, NowAndAbsentMeanImmediately) {
  auto a = parse_scheduled(std::nullopt);
  ASSERT_TRUE(a);
  EXPECT_FALSE(*a);
  auto n = parse_scheduled(std::string("now"));
  ASSERT_TRUE(n);
  EXPECT_FALSE(*n);
}

TEST_F(CtlSchedule, WithTimeZone) {
  EXPECT_EQ(iso("2030-01-02T03:04:05+02:00"), "2030-01-02T03:04:05+02:00");
  EXPECT_EQ(utc("2030-01-02T03:04:05+02:00"), "2030-01-02T01:04:05+00:00");
  EXPECT_EQ(iso("2030-01-02T03:04Z"), "2030-01-02T03:04:00+00:00");
  EXPECT_EQ(iso("2030-01-02 03:04:05.5-0130"), "2030-01-02T03:04:05.500000-01:30");
  EXPECT_EQ(utc("2030-01-02 03:04:05-05"), "2030-01-02T08:04:05+00:00");
}

TEST_F(CtlSchedule, NaiveTimesAreLocal) {
  EXPECT_EQ(iso("2030-01-02T03:04"), "2030-01-02T03:04:00+01:00");     // CET
  EXPECT_EQ(iso("2030-07-02T03:04:05"), "2030-07-02T03:04:05+02:00");  // CEST
  EXPECT_EQ(utc("2030-07-02T03:04:05"), "2030-07-02T01:04:05+00:00");
  EXPECT_EQ(iso("2030-07-02"), "2030-07-02T00:00:00+02:00");
}

TEST_F(CtlSchedule, Garbage) {
  for (const char* bad : {"tomorrow", "2030-13-01T00:00", "2030-02-30", "2030-01-01T25:00",
                          "2030-01-01T10:00+25:00", "10:00", "2030-01-01T10:00 PST"}) {
    auto r = parse_scheduled(std::string(bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), std::string("Unable to parse scheduled timestamp (") + bad +
                             "). It should be in an unambiguous format (e.g. ISO 8601)");
  }
}

TEST_F(CtlSchedule, Timestamps) {
  EXPECT_TRUE(
      std::regex_match(local_timestamp(0), std::regex(R"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})")));
  EXPECT_TRUE(std::regex_match(local_timestamp(),
                               std::regex(R"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{5})")));
  EXPECT_TRUE(
      std::regex_match(next_hour_example(), std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})")));
}

TEST(CtlPgVersion, Checks) {
  EXPECT_TRUE(check_postgres_version("16.2"));
  EXPECT_TRUE(check_postgres_version("9.6.24"));
  EXPECT_TRUE(check_postgres_version("10.0.1"));
  auto short9 = check_postgres_version("9.6");
  ASSERT_FALSE(short9);
  EXPECT_EQ(short9.error(), "Invalid PostgreSQL format: X.Y or X.Y.Z is accepted: 9.6");
  EXPECT_FALSE(check_postgres_version("16"));
  EXPECT_FALSE(check_postgres_version("1.2.3.4"));
  auto bad = check_postgres_version("16.x");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "Invalid PostgreSQL major version format: X.Y or X.Y.Z is accepted: 16.x");
  EXPECT_FALSE(check_postgres_version("16."));
  EXPECT_FALSE(check_postgres_version(""));
}

TEST(CtlPgVersion, Format) {
  EXPECT_EQ(format_pg_version(160002), "16.2");
  EXPECT_EQ(format_pg_version(100000), "10.0");
  EXPECT_EQ(format_pg_version(90624), "9.6.24");
}

}  // namespace
}  // namespace custos::ctl
