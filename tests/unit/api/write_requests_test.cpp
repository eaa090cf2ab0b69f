// The write endpoints' request parsing (rest-api.md §6): every refusal with its code and
// message, the schedule rules, the restart filters and Patroni's merge of PATCH /config.
#include "api/write_requests.h"

#include <gtest/gtest.h>

using custos::api::Request;
using custos::api::Response;
using nlohmann::json;
namespace api = custos::api;

namespace {

constexpr double kNow = 1'800'000'000;  // 2027-01-15T08:00:00Z

Request post(const std::string& body, bool with_length = true) {
  Request r;
  r.method = "POST";
  r.body = body;
  if (with_length) r.headers.emplace_back("Content-Length", std::to_string(body.size()));
  return r;
}

template <typename T>
Response error_of(const std::variant<T, Response>& v) {
  EXPECT_TRUE(std::holds_alternative<Response>(v));
  return std::holds_alternative<Response>(v) ? std::get<Response>(v) : Response{};
}

}  // namespace

TEST(ReadJsonBody, MissingLengthIs411UnlessOptional) {
  EXPECT_EQ(error_of(api::read_json_body(post("{}", false), false, true)).status, 411);
  auto v = api::read_json_body(post("", false), true, false);
  ASSERT_TRUE(std::holds_alternative<json>(v));
  EXPECT_EQ(std::get<json>(v), json::object());
}

TEST(ReadJsonBody, BadJsonNonObjectAndEmptyAre400) {
  EXPECT_EQ(error_of(api::read_json_body(post("{bad"), false, true)).status, 400);
  EXPECT_EQ(error_of(api::read_json_body(post("[1,2]"), false, true)).status, 400);
  EXPECT_EQ(error_of(api::read_json_body(post("{}"), false, true)).status, 400);
  auto ok = api::read_json_body(post(R"({"a":1})"), false, true);
  ASSERT_TRUE(std::holds_alternative<json>(ok));
  EXPECT_EQ(std::get<json>(ok)["a"], 1);
}

TEST(ParseSchedule, ZoneMandatoryPastAndGarbage) {
  EXPECT_EQ(error_of(api::parse_schedule("2027-01-15T09:00:00", kNow)).status, 400);
  EXPECT_EQ(error_of(api::parse_schedule("2027-01-15T07:00:00+00:00", kNow)).status, 422);
  EXPECT_EQ(error_of(api::parse_schedule("tomorrow", kNow)).status, 422);
  EXPECT_EQ(error_of(api::parse_schedule(json(5), kNow)).status, 422);
  auto ok = api::parse_schedule("2027-01-15T10:00:00+01:00", kNow);
  ASSERT_TRUE(std::holds_alternative<double>(ok));
  EXPECT_DOUBLE_EQ(std::get<double>(ok), kNow + 3600);
}

// Patroni tests the presence of restart_pending, not its value.
TEST(ParseRestart, RestartPendingCountsByPresence) {
  for (const json& v : {json(false), json("false"), json(nullptr), json(0), json(true)}) {
    auto r = api::parse_restart_request(json{{"restart_pending", v}}, false, kNow);
    ASSERT_TRUE(std::holds_alternative<api::RestartRequest>(r)) << v.dump();
    EXPECT_TRUE(std::get<api::RestartRequest>(r).restart_pending) << v.dump();
  }
  auto none = api::parse_restart_request(json::object(), false, kNow);
  ASSERT_TRUE(std::holds_alternative<api::RestartRequest>(none));
  EXPECT_FALSE(std::get<api::RestartRequest>(none).restart_pending);
}

// POST /reinitialize: parse_bool(force) or False.
TEST(ParseReinitialize, ForceReadWithParseBool) {
  EXPECT_TRUE(api::parse_reinitialize_force(json{{"force", true}}));
  EXPECT_TRUE(api::parse_reinitialize_force(json{{"force", "YES"}}));
  EXPECT_TRUE(api::parse_reinitialize_force(json{{"force", 1}}));
  EXPECT_FALSE(api::parse_reinitialize_force(json{{"force", "false"}}));
  EXPECT_FALSE(api::parse_reinitialize_force(json{{"force", "maybe"}}));
  EXPECT_FALSE(api::parse_reinitialize_force(json{{"force", 2}}));
  EXPECT_FALSE(api::parse_reinitialize_force(json{{"force", nullptr}}));
  EXPECT_FALSE(api::parse_reinitialize_force(json::object()));
  EXPECT_FALSE(api::parse_reinitialize_force(json::array({1})));
}

TEST(ParseReinitialize, FromLeaderReadWithParseBool) {
  EXPECT_TRUE(api::parse_reinitialize_from_leader(json{{"force", false}, {"from_leader", true}}));
  EXPECT_TRUE(api::parse_reinitialize_from_leader(json{{"from_leader", "on"}}));
  EXPECT_FALSE(api::parse_reinitialize_from_leader(json{{"from_leader", "false"}}));
  EXPECT_FALSE(api::parse_reinitialize_from_leader(json{{"force", true}}));
  EXPECT_FALSE(api::parse_reinitialize_from_leader(json::array()));
}

TEST(ParseRestart, FiltersAndRefusals) {
  auto ok = api::parse_restart_request(
      json{{"role", "replica"}, {"postgres_version", "15.4"}, {"timeout", "30s"}, {"restart_pending", false}}, false,
      kNow);
  ASSERT_TRUE(std::holds_alternative<api::RestartRequest>(ok));
  const auto& r = std::get<api::RestartRequest>(ok);
  EXPECT_EQ(r.role, "replica");
  EXPECT_EQ(r.postgres_version, 150004);
  EXPECT_EQ(r.timeout, 30);
  EXPECT_TRUE(r.restart_pending);  // presence counts, as in Patroni
  EXPECT_FALSE(r.schedule);

  EXPECT_EQ(error_of(api::parse_restart_request(json{{"role", "leader"}}, false, kNow)).body,
            "PostgreSQL role should be either primary or replica");
  EXPECT_EQ(error_of(api::parse_restart_request(json{{"postgres_version", "9.6"}}, false, kNow)).status, 400);
  EXPECT_EQ(error_of(api::parse_restart_request(json{{"timeout", 0}}, false, kNow)).status, 400);
  EXPECT_EQ(error_of(api::parse_restart_request(json{{"timeout", "soon"}}, false, kNow)).status, 400);
  auto unknown = error_of(api::parse_restart_request(json{{"when", 1}}, false, kNow));
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.body, "Unknown filter for the scheduled restart: when");
  auto paused = error_of(api::parse_restart_request(json{{"schedule", "2027-01-15T09:00:00Z"}}, true, kNow));
  EXPECT_EQ(paused.status, 500);
  EXPECT_EQ(error_of(api::parse_restart_request(json{{"schedule", "2027-01-15T09:00:00"}}, false, kNow)).body,
            "Timezone information is mandatory for the scheduled restart");
  auto sched = api::parse_restart_request(json{{"schedule", "2027-01-15T09:00:00Z"}}, false, kNow);
  ASSERT_TRUE(std::holds_alternative<api::RestartRequest>(sched));
  EXPECT_DOUBLE_EQ(*std::get<api::RestartRequest>(sched).schedule, kNow + 3600);
}

TEST(ParsePostgresVersion, PatroniFormats) {
  EXPECT_EQ(api::parse_postgres_version("9.5.3"), 90503);
  EXPECT_EQ(api::parse_postgres_version("10.1"), 100001);
  EXPECT_EQ(api::parse_postgres_version("16.2"), 160002);
  EXPECT_FALSE(api::parse_postgres_version("10"));
  EXPECT_FALSE(api::parse_postgres_version("9.6"));
  EXPECT_FALSE(api::parse_postgres_version("a.b"));
  EXPECT_FALSE(api::parse_postgres_version("1.2.3.4"));
  EXPECT_FALSE(api::parse_postgres_version(""));
}

TEST(ParseSwitchover, ValidationOrder) {
  EXPECT_EQ(error_of(api::parse_switchover_request(json{{"leader", "a"}}, true, false, kNow)).body,
            "Failover could be performed only to a specific candidate");
  EXPECT_EQ(error_of(api::parse_switchover_request(json{{"candidate", "b"}}, false, false, kNow)).body,
            "Switchover could be performed only from a specific leader");
  EXPECT_EQ(error_of(api::parse_switchover_request(
                         json{{"candidate", "b"}, {"scheduled_at", "2027-01-15T09:00:00Z"}}, true, false, kNow))
                .status,
            400);
  EXPECT_EQ(error_of(api::parse_switchover_request(
                         json{{"leader", "a"}, {"scheduled_at", "2027-01-15T09:00:00Z"}}, false, true, kNow))
                .body,
            "Can't schedule switchover in the paused state");
  EXPECT_EQ(error_of(api::parse_switchover_request(json{{"leader", "a"}}, false, true, kNow)).body,
            "Switchover is possible only to a specific candidate in a paused state");
  EXPECT_EQ(error_of(api::parse_switchover_request(json{{"leader", "a"}, {"candidate", "a"}}, false, false, kNow))
                .status,
            400);
  EXPECT_EQ(error_of(api::parse_switchover_request(
                         json{{"leader", "a"}, {"scheduled_at", "2027-01-15T07:00:00Z"}}, false, false, kNow))
                .status,
            422);

  auto legacy = api::parse_switchover_request(json{{"leader", "a"}, {"member", "b"}}, false, false, kNow);
  ASSERT_TRUE(std::holds_alternative<api::SwitchoverRequest>(legacy));
  EXPECT_EQ(std::get<api::SwitchoverRequest>(legacy).candidate, "b");

  auto fo = api::parse_switchover_request(json{{"leader", "a"}, {"candidate", "b"}}, true, false, kNow);
  ASSERT_TRUE(std::holds_alternative<api::SwitchoverRequest>(fo));
  EXPECT_TRUE(std::get<api::SwitchoverRequest>(fo).switchover);  // failover naming the leader

  auto sched = api::parse_switchover_request(
      json{{"leader", "a"}, {"candidate", "b"}, {"scheduled_at", "2027-01-15T09:00:00+00:00"}}, false, false, kNow);
  ASSERT_TRUE(std::holds_alternative<api::SwitchoverRequest>(sched));
  EXPECT_EQ(api::failover_key_value(std::get<api::SwitchoverRequest>(sched)),
            (json{{"leader", "a"}, {"member", "b"}, {"scheduled_at", "2027-01-15T09:00:00+00:00"}}));
}

TEST(PatchDynamicConfig, NullDeletesObjectsMergeScalarsCompareAsText) {
  json current = {{"ttl", 30}, {"postgresql", {{"parameters", {{"max_connections", 100}, {"work_mem", "4MB"}}}}}};
  auto same = api::patch_dynamic_config(current, json{{"ttl", "30"}});
  EXPECT_FALSE(same.changed);  // str(30) == "30"
  auto p = api::patch_dynamic_config(
      current, json{{"pause", true}, {"postgresql", {{"parameters", {{"work_mem", nullptr}, {"max_connections", 200}}}}}});
  EXPECT_TRUE(p.changed);
  EXPECT_EQ(p.config["pause"], true);
  EXPECT_EQ(p.config["postgresql"]["parameters"], (json{{"max_connections", 200}}));
  auto del = api::patch_dynamic_config(p.config, json{{"pause", nullptr}, {"missing", nullptr}});
  EXPECT_TRUE(del.changed);
  EXPECT_FALSE(del.config.contains("pause"));
}

TEST(WarningHeader, OneHeaderJoiningTheWarningsSafely) {
  auto warnings_of = [](const api::Response& r) {
    std::vector<std::string> out;
    for (const auto& [k, v] : r.headers)
      if (k == "X-Custos-Warning") out.push_back(v);
    return out;
  };
  api::Response none = api::Response::text(200, "x");
  api::add_warning_header(none, {});
  EXPECT_TRUE(warnings_of(none).empty());
  api::Response r = api::Response::text(200, "x");
  api::add_warning_header(r, {"bogus_key: unknown key (ignored)", "ttl: a\r\nInjected: 1"});
  EXPECT_EQ(warnings_of(r), (std::vector<std::string>{"bogus_key: unknown key (ignored); ttl: a  Injected: 1"}));
  api::Response big = api::Response::text(200, "x");
  api::add_warning_header(big, {std::string(10000, 'w')});
  ASSERT_EQ(warnings_of(big).size(), 1u);
  EXPECT_EQ(warnings_of(big)[0].size(), 4096u);
}
