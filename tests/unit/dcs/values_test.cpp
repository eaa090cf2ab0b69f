// Unit tests of the small DCS values: slot names, connection strings, Failover, SyncState,
// TimelineHistory, ClusterStatus, ClusterConfig and the defensive JSON helpers.
#include <gtest/gtest.h>

#include "dcs/cluster_config.h"
#include "dcs/cluster_status.h"
#include "dcs/connection_string.h"
#include "dcs/failover.h"
#include "dcs/json_util.h"
#include "dcs/slot_names.h"
#include "dcs/sync_state.h"
#include "dcs/timeline_history.h"

namespace custos::dcs {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------- slot_name_from_member_name

TEST(SlotName, LowercaseAndDashDot) {
  EXPECT_EQ(slot_name_from_member_name("Node-1.example"), "node_1_example");
  EXPECT_EQ(slot_name_from_member_name("postgresql0"), "postgresql0");
  EXPECT_EQ(slot_name_from_member_name("a_b"), "a_b");
}

TEST(SlotName, OtherCharsAreDecimalCodePoints) {
  EXPECT_EQ(slot_name_from_member_name("a@b"), "au0064b");
  EXPECT_EQ(slot_name_from_member_name(" "), "u0032");
  EXPECT_EQ(slot_name_from_member_name("a/b"), "au0047b");
  // UTF-8 is decoded: one code point, not its bytes. U+00E9 = 233.
  EXPECT_EQ(slot_name_from_member_name("caf\xC3\xA9"), "cafu0233");
  // Uppercase non-ASCII is lowercased first, like Python: U+00C9 -> U+00E9.
  EXPECT_EQ(slot_name_from_member_name("\xC3\x89"), "u0233");
  // Code points above 9999 keep all their digits. U+1F600 = 128512.
  EXPECT_EQ(slot_name_from_member_name("\xF0\x9F\x98\x80"), "u128512");
  // Python: "\u0130".lower() == "i\u0307" (775).
  EXPECT_EQ(slot_name_from_member_name("\xC4\xB0"), "iu0775");
  // KELVIN SIGN lowercases to ASCII k.
  EXPECT_EQ(slot_name_from_member_name("\xE2\x84\xAA"), "k");
}

TEST(SlotName, InvalidUtf8BytesUseLatin1Fallback) {
  EXPECT_EQ(slot_name_from_member_name("a\xFFz"), "au0255z");
  EXPECT_EQ(slot_name_from_member_name(std::string("a\0b", 3)), "au0000b");
}

TEST(SlotName, TruncatedTo63) {
  std::string longname(100, 'x');
  EXPECT_EQ(slot_name_from_member_name(longname), std::string(63, 'x'));
  // Truncation happens after the replacement.
  std::string at(20, '@');
  std::string expected;
  for (int i = 0; i < 13; ++i) expected += "u0064";
  expected = expected.substr(0, 63);
  EXPECT_EQ(slot_name_from_member_name(at), expected);
  EXPECT_EQ(slot_name_from_member_name(""), "");
}

TEST(SlotName, ValidPermanentSlotNames) {
  EXPECT_TRUE(is_valid_slot_name("abc_1"));
  EXPECT_TRUE(is_valid_slot_name(std::string(63, 'a')));
  EXPECT_FALSE(is_valid_slot_name(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_slot_name(""));
  EXPECT_FALSE(is_valid_slot_name("Abc"));
  EXPECT_FALSE(is_valid_slot_name("a-b"));
  EXPECT_FALSE(is_valid_slot_name("abc\n"));
}

// ---------------------------------------------------------------- connection strings

TEST(ConnectionString, LegacyValueSplitsApiUrl) {
  auto [conn, api] = parse_connection_string(
      "postgres://user:pass@host:5432/postgres?application_name=http://host:8008/patroni");
  EXPECT_EQ(conn, "postgres://user:pass@host:5432/postgres");
  ASSERT_TRUE(api);
  EXPECT_EQ(*api, "http://host:8008/patroni");
}

TEST(ConnectionString, NoQueryNoApiUrl) {
  auto [conn, api] = parse_connection_string("postgres://h:5433/db");
  EXPECT_EQ(conn, "postgres://h:5433/db");
  EXPECT_FALSE(api);
}

TEST(ConnectionString, QueryDecodingAndFirstMatch) {
  auto [conn, api] = parse_connection_string(
      "postgres://h/db?x=1&application_name=&application_name=http%3A%2F%2Fa+b&application_name=z#frag");
  EXPECT_EQ(conn, "postgres://h/db#frag");
  ASSERT_TRUE(api);
  EXPECT_EQ(*api, "http://a b");
  auto [conn2, api2] = parse_connection_string("postgres://h/db?application_name");
  EXPECT_EQ(conn2, "postgres://h/db");
  EXPECT_FALSE(api2);
}

TEST(ConnectionString, ConnKwargsFromUrl) {
  EXPECT_EQ(conn_kwargs_from_url("postgres://u:p@HOST.example:5433/mydb"),
            (json{{"host", "host.example"}, {"port", 5433}, {"dbname", "mydb"}}));
  EXPECT_EQ(conn_kwargs_from_url("postgres://h/postgres"),
            (json{{"host", "h"}, {"port", 5432}, {"dbname", "postgres"}}));
  EXPECT_EQ(conn_kwargs_from_url("postgres://[::1]:6000/x"),
            (json{{"host", "::1"}, {"port", 6000}, {"dbname", "x"}}));
  EXPECT_EQ(conn_kwargs_from_url("postgres://h:0/x")["port"], 5432);
  EXPECT_EQ(conn_kwargs_from_url("postgres://h:99999/x"), json::object());
  EXPECT_EQ(conn_kwargs_from_url("postgres://h:abc/x"), json::object());
  EXPECT_EQ(conn_kwargs_from_url("postgres://[::1/x"), json::object());
}

TEST(ConnectionString, MergeAuthRenamesUsername) {
  json kw{{"host", "h"}, {"port", 5432}, {"dbname", "d"}};
  json auth{{"username", "u"}, {"password", "p"}, {"sslmode", nullptr}};
  EXPECT_EQ(merge_auth(kw, auth),
            (json{{"host", "h"}, {"port", 5432}, {"dbname", "d"}, {"user", "u"}, {"password", "p"}}));
  EXPECT_EQ(merge_auth(kw, json::array({1})), kw);
  EXPECT_EQ(merge_auth(kw, json{{"username", nullptr}}), kw);
}

TEST(ConnectionString, BuildConnUrl) {
  EXPECT_EQ(build_conn_url("postgresql", "h", "5432"), "postgresql://h:5432");
  EXPECT_EQ(build_conn_url("postgresql", "::1", "5432"), "postgresql://[::1]:5432");
  EXPECT_EQ(build_conn_url("postgresql", "[::1]", ""), "postgresql://[::1]");
}

// ---------------------------------------------------------------- Failover

TEST(Failover, JsonForms) {
  auto f = Failover::from_node(7, R"({"leader": "cluster_leader", "member": "cluster_candidate"})");
  EXPECT_EQ(f.version, 7);
  EXPECT_EQ(f.leader, "cluster_leader");
  EXPECT_EQ(f.candidate, "cluster_candidate");
  EXPECT_FALSE(f.scheduled_at);
  EXPECT_FALSE(f.scheduled_at_invalid);
  EXPECT_FALSE(f.is_empty());
  auto only = Failover::from_node(1, R"({"member": "c"})");
  EXPECT_FALSE(only.leader);
  EXPECT_EQ(only.candidate, "c");
}

TEST(Failover, LegacyText) {
  auto f = Failover::from_node(1, "abc:def");
  EXPECT_EQ(f.leader, "abc");
  EXPECT_EQ(f.candidate, "def");
  auto g = Failover::from_node(1, " abc : def : ghi ");
  EXPECT_EQ(g.leader, "abc");
  EXPECT_EQ(g.candidate, "def");
  auto h = Failover::from_node(1, "abc");
  EXPECT_EQ(h.leader, "abc");
  EXPECT_FALSE(h.candidate);
  auto i = Failover::from_node(1, ":def");
  EXPECT_FALSE(i.leader);
  EXPECT_EQ(i.candidate, "def");
}

TEST(Failover, NoFailover) {
  for (const char* v : {"", "{}", "null", "[]", "1", "\"x\"", R"({"leader": 5, "member": ""})"}) {
    auto f = Failover::from_node(3, v);
    EXPECT_TRUE(f.is_empty()) << v;
    EXPECT_EQ(f.version, 3);
  }
  // Too deeply nested JSON is refused, not taken as legacy text.
  EXPECT_TRUE(Failover::from_node(1, std::string(1000, '[')).is_empty());
}

TEST(Failover, ScheduledAt) {
  using namespace std::chrono;
  auto f = Failover::from_node(
      1, R"({"leader": "a", "member": "b", "scheduled_at": "2016-01-14T10:09:57.1394Z"})");
  ASSERT_TRUE(f.scheduled_at);
  EXPECT_FALSE(f.scheduled_at_invalid);
  SysMicros expected = sys_days{2016y / January / 14} + 10h + 9min + 57s + 139400us;
  EXPECT_EQ(*f.scheduled_at, expected);

  auto g = Failover::from_node(1, R"({"leader": "a", "scheduled_at": "2016-01-14T12:09:57+02:00"})");
  ASSERT_TRUE(g.scheduled_at);
  EXPECT_EQ(*g.scheduled_at, SysMicros(sys_days{2016y / January / 14} + 10h + 9min + 57s));

  EXPECT_EQ(parse_iso8601("2016-01-14 10:09:57.123456789-0130"),
            SysMicros(sys_days{2016y / January / 14} + 11h + 39min + 57s + 123456us));
  EXPECT_EQ(parse_iso8601("2024-02-29T00:00+05"),
            SysMicros(sys_days{2024y / February / 28} + 19h));
}

TEST(Failover, BadScheduledAtIsInvalidNotImmediate) {
  for (const char* v :
       {R"({"leader": "a", "scheduled_at": "tomorrow"})",
        R"({"leader": "a", "scheduled_at": "2016-01-14T10:09:57"})",  // no time zone
        R"({"leader": "a", "scheduled_at": "2023-02-29T10:00:00Z"})",
        R"({"leader": "a", "scheduled_at": "2016-13-14T10:09:57Z"})",
        R"({"leader": "a", "scheduled_at": "2016-01-14T25:09:57Z"})",
        R"({"leader": "a", "scheduled_at": "2016-01-14T10:09:57+99:00"})",
        R"({"leader": "a", "scheduled_at": 12345})",
        R"({"leader": "a", "scheduled_at": ["x"]})"}) {
    auto f = Failover::from_node(1, v);
    EXPECT_FALSE(f.scheduled_at) << v;
    EXPECT_TRUE(f.scheduled_at_invalid) << v;
    EXPECT_EQ(f.leader, "a");
  }
  // Falsy scheduled_at: simply no schedule.
  for (const char* v : {R"({"leader": "a", "scheduled_at": ""})",
                        R"({"leader": "a", "scheduled_at": null})"}) {
    auto f = Failover::from_node(1, v);
    EXPECT_FALSE(f.scheduled_at);
    EXPECT_FALSE(f.scheduled_at_invalid);
  }
}

// ---------------------------------------------------------------- SyncState

TEST(SyncState, EmptyForms) {
  for (const char* v : {"", "{", "{}", "[]", "null", "1", R"({"leader": ""})", R"({"leader": 5})",
                        R"({"sync_standby": "a"})"}) {
    auto s = SyncState::from_node(4, v);
    EXPECT_TRUE(s.is_empty()) << v;
    EXPECT_FALSE(s.leader) << v;
    EXPECT_EQ(s.version, 4);
    EXPECT_TRUE(s.members().empty());
    EXPECT_FALSE(s.matches("a"));
    EXPECT_FALSE(s.matches("a", true));
  }
  EXPECT_FALSE(SyncState::empty().version);
  EXPECT_FALSE(SyncState::empty().matches("foo"));
}

TEST(SyncState, LeaderOnly) {
  auto s = SyncState::from_node(1, R"({"leader":"x"})");
  EXPECT_FALSE(s.is_empty());
  EXPECT_EQ(s.leader, "x");
  EXPECT_FALSE(s.sync_standby);
  EXPECT_TRUE(s.members().empty());
}

TEST(SyncState, MembersSplitTrim) {
  auto s = SyncState::from_node(1, R"({"leader":"x","sync_standby":" a, b ,,c ,"})");
  EXPECT_EQ(s.members(), (std::vector<std::string>{"a", "b", "c"}));
  auto t = SyncState::from_node(1, R"({"leader":"x","sync_standby":["a"]})");
  EXPECT_FALSE(t.sync_standby);
  EXPECT_TRUE(t.members().empty());
  auto u = SyncState::from_node(1, R"({"leader":"x","sync_standby":null})");
  EXPECT_TRUE(u.members().empty());
}

// Patroni 4's quorum field: read as int() reads it when truthy; what int() refuses empties the key.
TEST(SyncState, QuorumFieldAsPatroni4ReadsIt) {
  EXPECT_EQ(SyncState::from_node(1, R"({"leader":"x","sync_standby":"a,b","quorum":1})").quorum, 1);
  EXPECT_EQ(SyncState::from_node(1, R"({"leader":"x","sync_standby":"a,b","quorum":" 2 "})").quorum, 2);
  EXPECT_EQ(SyncState::from_node(1, R"({"leader":"x","quorum":1.9})").quorum, 1);
  EXPECT_EQ(SyncState::from_node(1, R"({"leader":"x","quorum":true})").quorum, 1);
  for (const char* absent : {R"({"leader":"x"})", R"({"leader":"x","quorum":0})", R"({"leader":"x","quorum":null})",
                             R"({"leader":"x","quorum":""})", R"({"leader":"x","quorum":false})"}) {
    auto s = SyncState::from_node(1, absent);
    EXPECT_EQ(s.quorum, 0) << absent;
    EXPECT_EQ(s.leader, "x") << absent;
  }
  for (const char* bad : {R"({"leader":"x","sync_standby":"a","quorum":"two"})", R"({"leader":"x","quorum":[1]})",
                          R"({"leader":"x","quorum":{"n":1}})"}) {
    auto s = SyncState::from_node(7, bad);
    EXPECT_TRUE(s.is_empty()) << bad;
    EXPECT_EQ(s.version, 7) << bad;
  }
  // Without a leader the quorum is not read at all.
  EXPECT_EQ(SyncState::from_node(1, R"({"quorum":"two"})").quorum, 0);
}

TEST(SyncState, MatchesCaseInsensitive) {
  SyncState s(1, "foo", "bar,zoo");
  EXPECT_FALSE(s.matches("foo"));
  EXPECT_TRUE(s.matches("fOo", true));
  EXPECT_TRUE(s.matches("Bar"));
  EXPECT_TRUE(s.matches("zoO"));
  EXPECT_FALSE(s.matches("baz"));
  EXPECT_FALSE(s.matches(std::nullopt));
  EXPECT_FALSE(s.matches(""));
  EXPECT_TRUE(s.leader_matches("FOO"));
  EXPECT_FALSE(s.leader_matches("bar"));
  EXPECT_FALSE(s.leader_matches(std::nullopt));
  EXPECT_FALSE(SyncState::empty(1).leader_matches("foo"));
  SyncState u(1, "L", "\xC3\x89t\xC3\xA9");  // "Été"
  EXPECT_TRUE(u.matches("\xC3\xA9t\xC3\xA9"));
}

// ---------------------------------------------------------------- TimelineHistory

TEST(TimelineHistory, Timeline) {
  EXPECT_EQ(TimelineHistory::from_node(1, "[]").timeline(), 1);
  EXPECT_EQ(TimelineHistory::from_node(1, "[ ]").timeline(), 0);
  EXPECT_EQ(TimelineHistory::from_node(1, R"([["a"]])").timeline(), 0);
  EXPECT_EQ(TimelineHistory::from_node(1, R"([["3","2","1"]])").timeline(), 4);
  EXPECT_EQ(TimelineHistory::from_node(1, R"([[1,100,"no recovery target"],[2,200,"x"]])").timeline(), 3);
  EXPECT_EQ(TimelineHistory::from_node(1, "not json").timeline(), 0);
  EXPECT_EQ(TimelineHistory::from_node(1, "{}").timeline(), 0);
  EXPECT_EQ(TimelineHistory::from_node(1, "2").timeline(), 0);
  EXPECT_EQ(TimelineHistory::from_node(1, "[[]]").timeline(), 0);
  EXPECT_EQ(TimelineHistory::from_node(1, "[{}]").timeline(), 0);
  EXPECT_EQ(TimelineHistory::from_node(1, "[5]").timeline(), 0);
  EXPECT_EQ(TimelineHistory::from_node(1, R"(["57"])").timeline(), 6);  // Python: "57"[0] == "5"
  EXPECT_EQ(TimelineHistory::from_node(1, "[[2.9]]").timeline(), 3);
  EXPECT_EQ(TimelineHistory::from_node(1, "[[true]]").timeline(), 2);
  EXPECT_EQ(TimelineHistory::from_node(1, R"([[" 7 "]])").timeline(), 8);
  EXPECT_EQ(TimelineHistory::from_node(1, "[[2147483647]]").timeline(), 0);
  EXPECT_EQ(TimelineHistory::from_node(1, "[[1e300]]").timeline(), 0);
  EXPECT_EQ(TimelineHistory::from_node(1, "[[null]]").timeline(), 0);
}

TEST(TimelineHistory, UnparsableHasNoLines) {
  auto h = TimelineHistory::from_node(5, "{");
  EXPECT_EQ(h.version, 5);
  EXPECT_EQ(h.value, "{");
  EXPECT_TRUE(h.lines().empty());
  EXPECT_TRUE(h.parsed_lines().empty());
}

TEST(TimelineHistory, ParsedLines) {
  auto h = TimelineHistory::from_node(
      1, R"([[1,25165984,"no recovery target specified","2024-01-01T00:00:00+00:00","n1"],
             [2,"50331648","x"], ["bad"], [3, 1], [4, 5, 6]])");
  auto lines = h.parsed_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].timeline, 1);
  EXPECT_EQ(lines[0].lsn, 25165984);
  EXPECT_EQ(lines[0].new_leader, "n1");
  EXPECT_EQ(lines[1].lsn, 50331648);
  EXPECT_FALSE(lines[1].timestamp);
}

// ---------------------------------------------------------------- ClusterStatus

TEST(ClusterStatus, Json) {
  auto s = ClusterStatus::from_node(R"({"optime": 1234, "slots": {"a": 5, "b": "6", "c": "x"}})");
  EXPECT_EQ(s.last_lsn, 1234);
  ASSERT_TRUE(s.slots);
  EXPECT_EQ(*s.slots, (std::map<std::string, int64_t>{{"a", 5}, {"b", 6}}));
}

TEST(ClusterStatus, LegacyInteger) {
  auto s = ClusterStatus::from_node("5678");
  EXPECT_EQ(s.last_lsn, 5678);
  EXPECT_FALSE(s.slots);
}

TEST(ClusterStatus, SlotsAsJsonString) {
  auto s = ClusterStatus::from_node(R"({"optime": 1, "slots": "{\"ls\": 99}"})");
  ASSERT_TRUE(s.slots);
  EXPECT_EQ(s.slots->at("ls"), 99);
  auto t = ClusterStatus::from_node(R"({"optime": 1, "slots": "{bad"})");
  EXPECT_FALSE(t.slots);
  auto u = ClusterStatus::from_node(R"({"optime": 1, "slots": [1]})");
  EXPECT_FALSE(u.slots);
}

TEST(ClusterStatus, BadOptimeIsZero) {
  EXPECT_EQ(ClusterStatus::from_node(R"({"optime": "abc"})").last_lsn, 0);
  EXPECT_EQ(ClusterStatus::from_node(R"({"optime": null})").last_lsn, 0);
  EXPECT_EQ(ClusterStatus::from_node(R"({"optime": [1]})").last_lsn, 0);
  EXPECT_EQ(ClusterStatus::from_node(R"({"optime": 99999999999999999999999})").last_lsn, 0);
  EXPECT_EQ(ClusterStatus::from_node(R"({})").last_lsn, 0);
  EXPECT_EQ(ClusterStatus::from_node(R"({"optime": "42"})").last_lsn, 42);
  EXPECT_EQ(ClusterStatus::from_node(R"({"optime": 42.9})").last_lsn, 42);
  EXPECT_TRUE(ClusterStatus::from_node("garbage").is_empty());
  EXPECT_TRUE(ClusterStatus::from_node("1.5").is_empty());
  EXPECT_TRUE(ClusterStatus::from_node("[1]").is_empty());
  EXPECT_TRUE(ClusterStatus::from_node("").is_empty());
}

// ---------------------------------------------------------------- ClusterConfig

TEST(ClusterConfig, ValidOnlyIfObject) {
  auto c = ClusterConfig::from_node(10, R"({"ttl": 30})", 11);
  EXPECT_TRUE(c.is_valid());
  EXPECT_EQ(c.version, 10);
  EXPECT_EQ(c.modify_version, 11);
  EXPECT_EQ(c.data()["ttl"], 30);
  for (const char* v : {"{", "[]", "null", "5", "\"x\"", ""}) {
    auto bad = ClusterConfig::from_node(10, v, 11);
    EXPECT_FALSE(bad.is_valid()) << v;
    EXPECT_EQ(bad.version, 10);
    EXPECT_EQ(bad.modify_version, 0);
    EXPECT_EQ(bad.data(), json::object());
  }
  EXPECT_EQ(ClusterConfig::from_node(3, "{}").modify_version, 3);
}

TEST(ClusterConfig, PermanentSlotAliases) {
  EXPECT_EQ(ClusterConfig::from_node(1, R"({"permanent_replication_slots": {"a": null},
      "permanent_slots": {"b": null}, "slots": {"c": null}})").permanent_slots(), (json{{"a", nullptr}}));
  EXPECT_EQ(ClusterConfig::from_node(1, R"({"permanent_replication_slots": {},
      "permanent_slots": {"b": null}, "slots": {"c": null}})").permanent_slots(), (json{{"b", nullptr}}));
  EXPECT_EQ(ClusterConfig::from_node(1, R"({"slots": {"c": null}})").permanent_slots(),
            (json{{"c", nullptr}}));
  EXPECT_EQ(ClusterConfig::from_node(1, R"({"slots": [1]})").permanent_slots(), json::object());
  EXPECT_EQ(ClusterConfig::from_node(1, R"({})").permanent_slots(), json::object());
}

TEST(ClusterConfig, OtherProperties) {
  auto c = ClusterConfig::from_node(
      1, R"({"ignore_slots": [{"name": "x"}], "max_timelines_history": "5",
            "postgresql": {"use_slots": false}})");
  EXPECT_EQ(c.ignore_slots_matchers().size(), 1u);
  EXPECT_EQ(c.max_timelines_history(), 5);
  EXPECT_FALSE(c.use_slots());
  auto d = ClusterConfig::from_node(1, R"({"ignore_slots": {}, "max_timelines_history": []})");
  EXPECT_TRUE(d.ignore_slots_matchers().empty());
  EXPECT_EQ(d.max_timelines_history(), 0);
  EXPECT_TRUE(d.use_slots());
  EXPECT_TRUE(ClusterConfig::from_node(1, R"({"postgresql": {"use_slots": "on"}})").use_slots());
  EXPECT_FALSE(ClusterConfig::from_node(1, R"({"postgresql": {"use_slots": "off"}})").use_slots());
  EXPECT_TRUE(ClusterConfig::from_node(1, R"({"postgresql": {}})").use_slots());
}

// ---------------------------------------------------------------- helpers

TEST(JsonUtil, DepthCap) {
  EXPECT_TRUE(parse_json(std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']')));
  EXPECT_FALSE(parse_json(std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']')));
  EXPECT_FALSE(parse_json(std::string(100000, '[')));
  EXPECT_FALSE(parse_json(std::string(100000, '{')));
  // Brackets inside strings do not count.
  EXPECT_TRUE(parse_json("\"" + std::string(1000, '[') + "\""));
  EXPECT_TRUE(json_too_deep(std::string(100, '[')));
  EXPECT_FALSE(json_too_deep("[[1]]"));
}

TEST(JsonUtil, ParseIntLikePatroni) {
  EXPECT_EQ(parse_int(json(5)), 5);
  EXPECT_EQ(parse_int(json(2.5)), 2);  // half to even
  EXPECT_EQ(parse_int(json(3.5)), 4);
  EXPECT_EQ(parse_int(json("  42 ")), 42);
  EXPECT_EQ(parse_int(json("-7")), -7);
  EXPECT_EQ(parse_int(json("0x10")), 16);
  EXPECT_EQ(parse_int(json("010")), 8);
  EXPECT_EQ(parse_int(json("1.5")), 2);
  EXPECT_EQ(parse_int(json("1e3")), 1000);
  EXPECT_FALSE(parse_int(json("12abc")));
  EXPECT_FALSE(parse_int(json("08")));
  EXPECT_FALSE(parse_int(json("0x")));
  EXPECT_FALSE(parse_int(json("")));
  EXPECT_FALSE(parse_int(json(true)));
  EXPECT_FALSE(parse_int(json(nullptr)));
  EXPECT_FALSE(parse_int(json::array()));
  EXPECT_FALSE(parse_int(json("99999999999999999999")));
  EXPECT_FALSE(parse_int(json(1e300)));
  EXPECT_FALSE(parse_int(json(18446744073709551615ull)));
  EXPECT_EQ(parse_int(json("-9223372036854775808")), INT64_MIN);
}

TEST(JsonUtil, PythonInt) {
  EXPECT_EQ(python_int(json("1_000")), 1000);
  EXPECT_FALSE(python_int(json("1__0")));
  EXPECT_FALSE(python_int(json("0x10")));
  EXPECT_EQ(python_int(json(-2.7)), -2);
  EXPECT_EQ(python_int(json(false)), 0);
}

TEST(JsonUtil, SanitizeUtf8) {
  EXPECT_EQ(sanitize_utf8("ok\xC3\xA9"), "ok\xC3\xA9");
  EXPECT_EQ(sanitize_utf8("a\xFF"), "a\xEF\xBF\xBD");
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                   // overlong
}

}  // namespace
}  // namespace custos::dcs
