// StatusPublisher: status/failsafe written only when the store does not hold the same value,
// optime/leader only while some member is older than Patroni 2.1.0.
#include <gtest/gtest.h>

#include "dcs/status_publisher.h"

namespace custos::dcs {
namespace {

using nlohmann::json;

struct Recorder {
  std::vector<std::pair<std::string, std::string>> writes;
  bool fail = false;
  StatusPublisher::Put put() {
    return [this](const std::string& k, const std::string& v) -> DcsStatus {
      if (fail) return dcs_error(DcsErrorKind::kUnreachable, "down");
      writes.emplace_back(k, v);
      return Unit{};
    };
  }
};

Cluster cluster_with_member_version(const std::string& version) {
  return Cluster::from_nodes({RawNode{"members/a", R"({"version":")" + version + R"("})", 1, 1, std::nullopt}});
}

TEST(StatusPublisher, WritesOnlyWhatChangedSinceTheLastReadOrWrite) {
  StatusPublisher p;
  Recorder r;
  const RawNodes stored = {RawNode{"status", R"({"optime":5})", 1, 1, std::nullopt},
                           RawNode{"failsafe", R"({"a":"http://a"})", 2, 2, std::nullopt}};
  p.observe(stored, "", cluster_with_member_version("3.3.0"));
  ASSERT_TRUE(p.write_status(json{{"optime", 5}}, r.put()));
  ASSERT_TRUE(p.write_failsafe(json{{"a", "http://a"}}, r.put()));
  EXPECT_TRUE(r.writes.empty());
  ASSERT_TRUE(p.write_status(json{{"optime", 6}}, r.put()));
  ASSERT_TRUE(p.write_status(json{{"optime", 6}}, r.put()));
  ASSERT_EQ(r.writes.size(), 1u);
  EXPECT_EQ(r.writes[0], (std::pair<std::string, std::string>{"status", R"({"optime":6})"}));
  // A failed write is tried again next time.
  r.fail = true;
  EXPECT_FALSE(p.write_failsafe(json{{"b", "http://b"}}, r.put()));
  r.fail = false;
  ASSERT_TRUE(p.write_failsafe(json{{"b", "http://b"}}, r.put()));
  EXPECT_EQ(r.writes.back().first, "failsafe");
  // After forget() nothing is known to be stored.
  p.forget();
  ASSERT_TRUE(p.write_status(json{{"optime", 6}}, r.put()));
  EXPECT_EQ(r.writes.back().first, "status");
}

TEST(StatusPublisher, LegacyOptimeForMembersOlderThan210AndOwnGroupOnly) {
  StatusPublisher p;
  Recorder r;
  // A Citus coordinator reads every group; only its own group's status counts.
  p.observe({RawNode{"1/status", R"({"optime":9})", 1, 1, std::nullopt}}, "0/", cluster_with_member_version("2.0.2"));
  ASSERT_TRUE(p.write_status(json{{"optime", 9}}, r.put()));
  ASSERT_EQ(r.writes.size(), 2u);
  EXPECT_EQ(r.writes[0].first, "status");
  EXPECT_EQ(r.writes[1], (std::pair<std::string, std::string>{"optime/leader", "9"}));
  ASSERT_TRUE(p.write_status(json{{"optime", 9}}, r.put()));
  EXPECT_EQ(r.writes.size(), 2u);
  p.observe({}, "", cluster_with_member_version("3.0.2"));
  ASSERT_TRUE(p.write_status(json{{"optime", 10}}, r.put()));
  EXPECT_EQ(r.writes.back().first, "status");  // no optime/leader any more
}

}  // namespace
}  // namespace custos::dcs
