// Garbage never crashes: feeds hostile values (random bytes, invalid UTF-8, deep nesting, huge
// strings, wrong JSON types everywhere) into every key of Cluster::from_nodes /
// from_citus_nodes and then calls every accessor and derived property. Nothing may throw.
#include <gtest/gtest.h>

#include <random>

#include "dcs/cluster.h"
#include "dcs/connection_string.h"
#include "dcs/json_util.h"
#include "dcs/slot_names.h"

namespace custos::dcs {
namespace {

using nlohmann::json;

const std::vector<std::string> kKeys = {"leader",  "members/a", "members/b", "members/c",
                                        "config",  "initialize", "failover", "sync",
                                        "history", "status",    "optime/leader", "failsafe"};

const std::vector<std::string> kVocabulary = {
    "conn_url", "api_url", "state", "role", "version", "tags", "xlog_location", "timeline",
    "conn_kwargs", "host", "port", "dbname", "nofailover", "failover_priority", "clonefrom",
    "replicatefrom", "nosync", "nostream", "noloadbalance", "leader", "member", "scheduled_at",
    "sync_standby", "optime", "slots", "permanent_slots", "permanent_replication_slots",
    "postgresql", "use_slots", "type", "database", "plugin", "lsn", "checkpoint_after_promote",
    "ignore_slots", "max_timelines_history", "pause", "pending_restart", "proxy_url", "a", "b",
    "c", "logical", "physical"};

const std::vector<std::string> kStrings = {
    "", "a", "b", "c", "A", "running", "stopped", "master", "primary", "replica",
    "standby_leader", "logical", "physical", "postgres://h:5432/postgres",
    "postgres://[::1:5432/x", "postgres://h:99999/x", "postgres://h:-1/x", "http://h:8008/patroni",
    "3.3.1", "1.5.6", "z", "1..2", "99999999999999999999.1", "2016-01-14T10:09:57.1394Z",
    "2016-02-30T10:09:57Z", "0x", "0x7fffffffffffffff", "1e400", "nan", "inf", "-0", "010",
    "a,b,,c", " A , B ", "\xC3\xA9", "\xC4\xB0", "\xF0\x9F\x98\x80", "[[[", "{\"a\":", "a:b:c",
    "123456789012345678901234567890", "9223372036854775808", "-9223372036854775809"};

class Garbage {
 public:
  explicit Garbage(uint32_t seed) : rng_(seed) {}

  size_t below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  json random_json(int depth) {
    switch (below(depth > 4 ? 8 : 11)) {
      case 0: return nullptr;
      case 1: return below(2) == 0;
      case 2: {
        static const int64_t ints[] = {0, 1, -1, 2, 5432, 110000, INT64_MAX, INT64_MIN,
                                       2147483647, -2147483648LL};
        return ints[below(std::size(ints))];
      }
      case 3: return static_cast<uint64_t>(UINT64_MAX - below(3));
      case 4: {
        static const double floats[] = {0.0, 0.5, 2.5, -1.5, 1e300, -1e300, 3.9999};
        return floats[below(std::size(floats))];
      }
      case 5:
      case 6: return kStrings[below(kStrings.size())];
      case 7: return random_text(below(20));
      case 8:
      case 9: {
        json o = json::object();
        size_t n = below(6);
        for (size_t i = 0; i < n; ++i) {
          o[kVocabulary[below(kVocabulary.size())]] = random_json(depth + 1);
        }
        return o;
      }
      default: {
        json a = json::array();
        size_t n = below(5);
        for (size_t i = 0; i < n; ++i) a.push_back(random_json(depth + 1));
        return a;
      }
    }
  }

  // Valid UTF-8 text (so that it can go into a json string).
  std::string random_text(size_t len) {
    std::string s;
    for (size_t i = 0; i < len; ++i) {
      switch (below(4)) {
        case 0: s += static_cast<char>('a' + below(26)); break;
        case 1: s += ",:-._@/ \"\\{}[]"[below(14)]; break;
        case 2: s += "\xC3\xA9"; break;
        default: s += static_cast<char>('0' + below(10)); break;
      }
    }
    return s;
  }

  std::string random_bytes(size_t len) {
    std::string s;
    for (size_t i = 0; i < len; ++i) s += static_cast<char>(below(256));
    return s;
  }

  std::string mutate(std::string s) {
    size_t n = 1 + below(4);
    for (size_t i = 0; i < n && !s.empty(); ++i) {
      size_t pos = below(s.size());
      switch (below(3)) {
        case 0: s[pos] = static_cast<char>(below(256)); break;
        case 1: s.erase(pos, 1); break;
        default: s.insert(pos, 1, "{}[]\",:\xFF"[below(8)]); break;
      }
    }
    return s;
  }

  std::string random_value() {
    switch (below(10)) {
      case 0: return random_bytes(below(64));
      case 1: return mutate(random_json(0).dump());
      case 2: return kStrings[below(kStrings.size())];
      case 3: return "postgres" + random_bytes(below(40));
      default: return random_json(0).dump();
    }
  }

 private:
  std::mt19937 rng_;
};

// Named hostile values.
std::vector<std::string> named_cases() {
  std::vector<std::string> v = {
      "", " ", "{", "}", "[", "]", "null", "true", "false", "0", "-1", "1.5", "1e999",
      "\"str\"", "[]", "{}", "[[]]", "[{}]", "[null]", "[[null]]", "[[\"a\"]]", "[\"x\"]",
      "99999999999999999999999999", "-99999999999999999999999999", "18446744073709551616",
      "{\"a\":}", "{\"leader\":null}", "{\"leader\":[]}", "{\"leader\":{}}",
      "{\"optime\":\"x\",\"slots\":\"[\"}", "{\"optime\":1e400}", "{\"slots\":{\"a\":[]}}",
      "{\"tags\":[]}", "{\"tags\":\"x\"}", "{\"tags\":{\"replicatefrom\":[]}}",
      "{\"conn_kwargs\":[]}", "{\"conn_kwargs\":{\"host\":[],\"port\":{}}}",
      "{\"conn_url\":[]}", "{\"conn_url\":\"postgres://[\"}", "{\"version\":[1,2]}",
      "{\"scheduled_at\":\"\",\"leader\":\"x\"}", "{\"scheduled_at\":{},\"leader\":\"x\"}",
      "{\"permanent_slots\":[]}", "{\"permanent_slots\":{\"a\":[]}}",
      "{\"permanent_slots\":{\"\":null,\"x\":{\"type\":5}}}",
      "{\"postgresql\":[]}", "{\"postgresql\":{\"use_slots\":[]}}",
      "\xFF\xFE\xFD", "\xC3", "\xED\xA0\x80", "\"\xFF\"", "{\"a\":\"\xC3\"}",
      "postgres", "postgres://", "postgres://\xFF\xFE?application_name=%FF%FE",
      "postgres://u:p@[::1]:99999/db?application_name=x",
      "postgresql://h/db?application_name=a&application_name=b#f",
      std::string("nul\0byte", 8), std::string("{\"a\":\"\\u0000\"}"),
      "\"\\ud800\"", "abc:def", ":", "::::",
  };
  v.push_back(std::string(100000, '['));
  v.push_back(std::string(100000, '{'));
  std::string deep_obj;
  for (int i = 0; i < 5000; ++i) deep_obj += "{\"a\":";
  v.push_back(deep_obj);
  std::string balanced = std::string(200, '[') + std::string(200, ']');
  v.push_back(balanced);
  return v;
}

// Huge values (10 MB) and the keys they go to (parsing 10 MB of JSON takes ~0.1 s, so the
// JSON ones only go where they mean something).
std::vector<std::pair<std::string, std::vector<std::string>>> huge_cases() {
  const std::vector<std::string> all = kKeys;
  return {
      {std::string(10 * 1024 * 1024, 'x'), all},
      {"\"" + std::string(10 * 1024 * 1024, 'y') + "\"", all},
      {"{\"conn_url\":\"" + std::string(10 * 1024 * 1024, 'z') + "\",\"tags\":{\"replicatefrom\":\"" +
           std::string(1024 * 1024, 'a') + "\"},\"api_url\":\"" + std::string(1024 * 1024, 'u') + "\"}",
       {"members/a", "failsafe"}},
      {"postgres://" + std::string(10 * 1024 * 1024, 'h') + "?application_name=" +
           std::string(1024 * 1024, 'p'),
       {"members/a"}},
      {"[[\"" + std::string(10 * 1024 * 1024, '7') + "\"]]", {"history"}},
      {"{\"permanent_slots\":{\"" + std::string(10 * 1024 * 1024, 's') + "\":null}}", {"config"}},
  };
}

void exercise_member(const Member& m) {
  (void)m.name();
  (void)m.data().dump();
  (void)m.conn_url();
  (void)m.api_url();
  (void)m.proxy_url();
  (void)m.state();
  (void)m.role();
  (void)m.is_primary();
  (void)m.is_running();
  (void)m.tags().dump();
  (void)m.nofailover();
  (void)m.failover_priority();
  (void)m.clonefrom_tag();
  (void)m.clonefrom();
  (void)m.noloadbalance();
  (void)m.nosync();
  (void)m.nostream();
  (void)m.replicatefrom();
  (void)m.patroni_version();
  (void)m.lsn();
  (void)m.timeline();
  (void)m.replication_state();
  (void)m.pending_restart();
  (void)m.is_paused();
  (void)m.conn_kwargs().dump();
  (void)m.conn_kwargs(json{{"username", "u"}, {"password", "p"}}).dump();
  (void)slot_name_from_member_name(m.name());
}

void exercise(const Cluster& c, int depth = 0) {
  if (c.leader()) {
    exercise_member(c.leader()->member);
    (void)c.leader()->checkpoint_after_promote();
    (void)c.leader()->conn_kwargs();
  }
  (void)c.leader_name();
  (void)c.is_unlocked();
  (void)c.is_empty();
  std::vector<std::string> names = {"a", "b", "c", "A", "zz", ""};
  for (const auto& m : c.members()) exercise_member(m);
  if (c.config()) {
    (void)c.config()->data().dump();
    (void)c.config()->permanent_slots().dump();
    (void)c.config()->ignore_slots_matchers().dump();
    (void)c.config()->max_timelines_history();
    (void)c.config()->use_slots();
    (void)c.config()->is_valid();
  }
  (void)c.initialize();
  if (c.failover()) {
    (void)c.failover()->is_empty();
    (void)c.failover()->scheduled_at;
  }
  (void)c.sync().members();
  for (const auto& n : names) {
    (void)c.sync().matches(n);
    (void)c.sync().matches(n, true);
    (void)c.sync().leader_matches(n);
  }
  if (c.history()) {
    (void)c.history()->lines().dump();
    (void)c.history()->parsed_lines();
    (void)c.history()->timeline();
  }
  (void)c.status();
  if (c.failsafe()) (void)c.failsafe()->dump();
  (void)c.failsafe_members();
  (void)c.timeline();
  (void)c.last_lsn();
  (void)c.slots();
  (void)c.min_version();
  (void)c.use_slots();
  for (const auto& slot : c.permanent_slots()) (void)slot.second.dump();
  for (const auto& n : names) {
    (void)c.has_member(n);
    (void)c.get_member(n);
    (void)c.get_member(n, false);
    (void)c.get_clone_member(n);
    for (const char* role : {"master", "primary", "replica", "standby_leader", "demoted"}) {
      for (int major : {100000, 160000}) {
        std::vector<std::string> problems;
        for (const auto& slot : c.get_replication_slots(n, role, false, major, false, &problems)) {
          (void)slot.second.dump();
        }
        (void)c.get_replication_slots(n, role, true, major, true);
      }
    }
    (void)c.filter_permanent_slots({{"a", 1}, {"phys", 2}}, false, 160000);
    (void)c.filter_permanent_slots({{"a", 1}}, true, 100000);
    (void)c.has_permanent_slots(n);
    (void)c.has_permanent_slots(n, true, true, 100000);
    (void)c.has_permanent_logical_slots(n, false);
    (void)c.should_enforce_hot_standby_feedback(n, false);
    (void)c.get_my_slot_name_on_primary(n, std::nullopt);
    for (const auto& from : names) (void)c.get_my_slot_name_on_primary(n, from);
  }
  Cluster copy = c;
  EXPECT_TRUE(copy == c);
  if (depth == 0) {
    for (const auto& [group, worker] : c.workers()) exercise(worker, depth + 1);
  }
}

RawNode node(const std::string& key, const std::string& value, Version v) {
  RawNode n;
  n.key = key;
  n.value = value;
  n.version = v;
  n.modify_version = v;
  n.session = std::to_string(v);
  return n;
}

TEST(Garbage, NamedCasesInEveryKey) {
  for (const auto& value : named_cases()) {
    for (const auto& key : kKeys) {
      RawNodes nodes = {node(key, value, 1)};
      EXPECT_NO_THROW({
        Cluster c = Cluster::from_nodes(nodes);
        exercise(c);
      }) << key << " <- " << value.substr(0, 60);
    }
    // All keys at once, with a leader that exists.
    RawNodes all;
    for (const auto& key : kKeys) all.push_back(node(key, value, 2));
    all.push_back(node("leader", "a", 3));
    EXPECT_NO_THROW(exercise(Cluster::from_nodes(all))) << value.substr(0, 60);
    // And as Citus groups.
    RawNodes citus;
    for (const auto& key : kKeys) {
      citus.push_back(node("0/" + key, value, 2));
      citus.push_back(node("1/" + key, value, 2));
      citus.push_back(node(value.substr(0, 20) + "/" + key, value, 2));
    }
    EXPECT_NO_THROW(exercise(Cluster::from_citus_nodes(citus, 0))) << value.substr(0, 60);
    EXPECT_NO_THROW(exercise(Cluster::from_citus_nodes(citus, 1))) << value.substr(0, 60);
  }
}

TEST(Garbage, HugeValuesInEveryKey) {
  for (const auto& [value, keys] : huge_cases()) {
    for (const auto& key : keys) {
      RawNodes nodes = {node(key, value, 1), node("members/b", R"({"tags":{"replicatefrom":"a"}})", 1)};
      if (key != "leader") nodes.push_back(node("leader", "a", 1));
      EXPECT_NO_THROW({
        Cluster c = Cluster::from_nodes(nodes);
        exercise(c);
      }) << key << " <- " << value.substr(0, 60);
    }
    RawNodes citus = {node("0/leader", value, 1), node("1/members/a", value, 1)};
    EXPECT_NO_THROW(exercise(Cluster::from_citus_nodes(citus, 0)));
  }
}

TEST(Garbage, HostileKeys) {
  Garbage g(7);
  for (int i = 0; i < 300; ++i) {
    RawNodes nodes;
    for (int k = 0; k < 6; ++k) {
      std::string key = g.below(2) ? kKeys[g.below(kKeys.size())] + g.random_bytes(g.below(4))
                                   : g.random_bytes(g.below(16));
      if (g.below(3) == 0) key = "members/" + g.random_bytes(g.below(8));
      nodes.push_back(node(key, g.random_value(), static_cast<Version>(g.below(100)) - 50));
    }
    nodes.push_back(node("leader", g.random_bytes(g.below(6)), 1));
    EXPECT_NO_THROW(exercise(Cluster::from_nodes(nodes)));
    EXPECT_NO_THROW(exercise(Cluster::from_citus_nodes(nodes, static_cast<int>(g.below(3)))));
  }
}

TEST(Garbage, RandomValuesFixedSeed) {
  Garbage g(20240601);
  for (int i = 0; i < 1500; ++i) {
    RawNodes nodes;
    for (const auto& key : kKeys) {
      if (g.below(5) == 0) continue;
      std::string value = key == "leader" ? std::string(1, "abcd"[g.below(4)]) : g.random_value();
      nodes.push_back(node(key, value, static_cast<Version>(g.below(1000))));
    }
    if (g.below(2)) {
      // Well-formed members with random tags, so that slot logic gets real work.
      for (const char* name : {"a", "b", "c"}) {
        json data = {{"conn_url", "postgres://h/postgres"}, {"state", "running"},
                     {"role", g.below(2) ? "master" : "replica"}, {"tags", g.random_json(1)}};
        if (g.below(2)) data["tags"] = json{{"replicatefrom", std::string(1, "abcd"[g.below(4)])},
                                           {"nofailover", g.random_json(3)},
                                           {"clonefrom", g.random_json(3)}};
        data["xlog_location"] = g.random_json(3);
        nodes.push_back(node(std::string("members/") + name, data.dump(), 5));
      }
      json config = {{"slots", g.random_json(1)}, {"postgresql", g.random_json(1)}};
      if (g.below(2)) {
        config["slots"] = json{{"a", nullptr}, {"logi", {{"type", "logical"}, {"database", "d"}, {"plugin", "p"}}},
                               {"phys", g.random_json(2)}};
      }
      nodes.push_back(node("config", config.dump(), 6));
    }
    RawNodes citus;
    for (const auto& n : nodes) {
      RawNode c = n;
      c.key = std::to_string(g.below(3)) + "/" + n.key;
      citus.push_back(c);
    }
    EXPECT_NO_THROW(exercise(Cluster::from_nodes(nodes)));
    EXPECT_NO_THROW(exercise(Cluster::from_citus_nodes(citus, 0)));
    EXPECT_NO_THROW(exercise(Cluster::from_citus_nodes(citus, 2)));
  }
}

TEST(Garbage, HelpersNeverThrow) {
  Garbage g(99);
  for (int i = 0; i < 3000; ++i) {
    std::string s = g.below(2) ? g.random_bytes(g.below(40)) : g.random_value();
    EXPECT_NO_THROW({
      (void)slot_name_from_member_name(s);
      (void)is_valid_slot_name(s);
      auto split = parse_connection_string(s);
      (void)json(split.first).dump();
      if (split.second) (void)json(*split.second).dump();
      (void)conn_kwargs_from_url(s).dump();
      (void)parse_url(s);
      (void)parse_int_string(s);
      (void)parse_json(s);
      (void)parse_iso8601(s);
      (void)parse_patroni_version(s);
      (void)json(sanitize_utf8(s)).dump();
      (void)python_lower_utf8(s);
      (void)Failover::from_node(1, s);
      (void)SyncState::from_node(1, s);
      (void)TimelineHistory::from_node(1, s).timeline();
      (void)ClusterStatus::from_node(s);
      (void)ClusterConfig::from_node(1, s, 1);
      (void)Member::from_node(1, s, s, s).data().dump();
    });
  }
}

}  // namespace
}  // namespace custos::dcs
