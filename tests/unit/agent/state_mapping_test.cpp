#include "agent/state_mapping.h"

#include <gtest/gtest.h>

#include "dcs/member.h"

using namespace custos;
using custos::agent::member_status_from_patroni;
using nlohmann::json;

TEST(StateMapping, ControlStates) {
  using postgres::ClusterState;
  EXPECT_EQ(agent::map_control_state(ClusterState::InProduction), ha::ControlState::in_production);
  EXPECT_EQ(agent::map_control_state(ClusterState::ShutDown), ha::ControlState::shut_down);
  EXPECT_EQ(agent::map_control_state(ClusterState::ShutDownInRecovery), ha::ControlState::shut_down_in_recovery);
  EXPECT_EQ(agent::map_control_state(ClusterState::InArchiveRecovery), ha::ControlState::in_archive_recovery);
  EXPECT_EQ(agent::map_control_state(ClusterState::InCrashRecovery), ha::ControlState::in_crash_recovery);
  EXPECT_EQ(agent::map_control_state(ClusterState::ShuttingDown), ha::ControlState::shutting_down);
  EXPECT_EQ(agent::map_control_state(ClusterState::Unknown), ha::ControlState::unknown);
}

TEST(StateMapping, ServerStatusOfAReplica) {
  postgres::ServerStatus s;
  s.in_recovery = true;
  s.timeline = 3;
  s.receive_lsn = 200;
  s.replay_lsn = 150;
  s.server_version = 150004;
  s.postmaster_start_time = "2024-01-01 00:00:00+00";
  ha::LocalState l;
  agent::apply_server_status(l, s);
  EXPECT_TRUE(l.in_recovery);
  EXPECT_EQ(l.timeline, 3);
  EXPECT_EQ(l.wal_position(), 200);
  EXPECT_EQ(l.server_version, 150004);
  EXPECT_EQ(l.postmaster_start_time, "2024-01-01 00:00:00+00");
}

TEST(StateMapping, ServerStatusOfAPrimary) {
  postgres::ServerStatus s;
  s.in_recovery = false;
  s.timeline = 0;  // unknown
  s.flush_lsn = 1000;
  ha::LocalState l;
  l.timeline = 7;
  agent::apply_server_status(l, s);
  EXPECT_FALSE(l.in_recovery);
  EXPECT_FALSE(l.timeline.has_value());
  EXPECT_EQ(l.wal_position(), 1000);
}

TEST(StateMapping, Tags) {
  auto t = agent::tags_from_config(json{{"nofailover", "yes"}, {"replicatefrom", "b"}, {"nostream", true}});
  EXPECT_TRUE(t.is_nofailover());
  EXPECT_EQ(t.replicatefrom, "b");
  EXPECT_TRUE(t.nostream);
  auto p = agent::tags_from_config(json{{"failover_priority", 0}});
  EXPECT_TRUE(p.is_nofailover());
  EXPECT_FALSE(agent::tags_from_config(json("junk")).is_nofailover());
}

// Patroni's Tags rules: truthiness for nofailover/clonefrom/nosync (a quoted "false" is true),
// parse_bool for nostream, failover_priority through parse_int.
TEST(StateMapping, TagsReadLikePatroni) {
  auto q = agent::tags_from_config(json{{"nofailover", "false"}, {"nosync", "off"}, {"clonefrom", "no"},
                                        {"nostream", "false"}});
  EXPECT_TRUE(q.is_nofailover());
  EXPECT_EQ(q.priority(), 0);
  EXPECT_TRUE(q.nosync);
  EXPECT_TRUE(q.clonefrom);
  EXPECT_FALSE(q.nostream);
  EXPECT_TRUE(agent::tags_from_config(json{{"nostream", "YES"}}).nostream);
  EXPECT_TRUE(agent::tags_from_config(json{{"nostream", 1}}).nostream);
  EXPECT_FALSE(agent::tags_from_config(json{{"nostream", "junk"}}).nostream);
  EXPECT_FALSE(agent::tags_from_config(json{{"nofailover", ""}, {"clonefrom", 0}}).is_nofailover());
  auto n = agent::tags_from_config(json{{"nofailover", nullptr}, {"failover_priority", "0x10"}});
  EXPECT_FALSE(n.is_nofailover());
  EXPECT_EQ(n.priority(), 16);
}

// Our own tags (local YAML) and another member's published tags give the same decisions.
TEST(StateMapping, LocalTagsAgreeWithMemberKeyTags) {
  const std::vector<json> cases = {
      json::object(),
      json{{"nofailover", "false"}},
      json{{"nofailover", false}, {"failover_priority", 0}},
      json{{"nofailover", nullptr}, {"failover_priority", -2}},
      json{{"failover_priority", "3"}},
      json{{"failover_priority", 2.5}},
      json{{"failover_priority", "x"}},
      json{{"nofailover", 1}, {"failover_priority", 5}},
      json{{"nosync", "false"}, {"clonefrom", "x"}, {"nostream", "false"}},
      json{{"nosync", 0}, {"clonefrom", ""}, {"nostream", "on"}},
      json{{"nostream", json::array()}, {"nosync", json::array({1})}},
  };
  for (const json& tags : cases) {
    const ha::Tags local = agent::tags_from_config(tags);
    const dcs::Member other("m", 1, std::nullopt, json{{"tags", tags}});
    EXPECT_EQ(local.is_nofailover(), other.nofailover()) << tags.dump();
    EXPECT_EQ(local.priority(), other.failover_priority()) << tags.dump();
    EXPECT_EQ(local.nosync, other.nosync()) << tags.dump();
    EXPECT_EQ(local.nostream, other.nostream()) << tags.dump();
    EXPECT_EQ(local.clonefrom, other.clonefrom_tag()) << tags.dump();
  }
}

TEST(StateMapping, PatroniAnswerOfAReplica) {
  auto st = member_status_from_patroni(
      "b", R"({"state":"running","role":"replica","xlog":{"received_location":500,"replayed_location":400},
              "timeline":2,"tags":{"failover_priority":3}})");
  EXPECT_TRUE(st.reachable);
  EXPECT_TRUE(st.in_recovery);
  EXPECT_EQ(st.wal_position, 500);
  EXPECT_EQ(st.timeline, 2);
  EXPECT_EQ(st.failover_priority, 3);
  EXPECT_FALSE(st.nofailover);
}

TEST(StateMapping, PatroniAnswerOfAPrimary) {
  auto st = member_status_from_patroni("a", R"({"role":"master","xlog":{"location":900},"watchdog_failed":true})");
  EXPECT_TRUE(st.reachable);
  EXPECT_FALSE(st.in_recovery);
  EXPECT_TRUE(st.watchdog_failed);
  auto p = member_status_from_patroni("a", R"({"role":"primary","wal":{"location":900}})");
  EXPECT_FALSE(p.in_recovery);
}

TEST(StateMapping, PatroniAnswerReadsTagsAndWatchdogLikePatroni) {
  auto st = member_status_from_patroni(
      "b", R"({"role":"replica","xlog":{"received_location":1},"tags":{"nofailover":"false"},"watchdog_failed":"no"})");
  EXPECT_TRUE(st.nofailover);       // a quoted "false" is truthy
  EXPECT_TRUE(st.watchdog_failed);  // `if st.watchdog_failed`: truthiness
}

TEST(StateMapping, GarbageAnswersAreUnreachable) {
  EXPECT_FALSE(member_status_from_patroni("x", "not json").reachable);
  EXPECT_FALSE(member_status_from_patroni("x", "[1,2]").reachable);
  EXPECT_FALSE(member_status_from_patroni("x", R"({"role":"replica"})").reachable);
  EXPECT_FALSE(member_status_from_patroni("x", R"({"xlog":5})").reachable);
}

TEST(StateMapping, HaSettingsFromConfig) {
  config::Config c(json{{"name", "a"}, {"scope", "s"}, {"bootstrap", json::object()},
                        {"postgresql", {{"remove_data_directory_on_rewind_failure", true}, {"authentication", json::object()}}}},
                   json{{"ttl", 20}, {"loop_wait", 2}, {"retry_timeout", 3}, {"pause", true},
                        {"maximum_lag_on_failover", 5}, {"postgresql", {{"use_pg_rewind", true}}}});
  auto s = agent::ha_settings_from_config(c);
  EXPECT_EQ(s.ttl, 20);
  EXPECT_EQ(s.loop_wait, 2);
  EXPECT_EQ(s.retry_timeout, 3);
  EXPECT_TRUE(s.pause);
  EXPECT_EQ(s.maximum_lag_on_failover, 5);
  EXPECT_TRUE(s.use_pg_rewind);
  EXPECT_TRUE(s.remove_data_directory_on_rewind_failure);
  EXPECT_TRUE(s.has_bootstrap_section);
  EXPECT_TRUE(s.watchdog_enabled);  // no watchdog section: Patroni's default mode, automatic
  config::Config off(json{{"scope", "s"}, {"name", "n"}, {"watchdog", {{"mode", false}}}}, json::object());
  EXPECT_FALSE(agent::ha_settings_from_config(off).watchdog_enabled);
}

// use_pg_rewind and remove_data_directory_* by truthiness; the modes by parse_bool.
TEST(StateMapping, HaSettingsReadQuotedBooleansLikePatroni) {
  config::Config c(json{{"name", "a"}, {"scope", "s"},
                        {"postgresql", {{"authentication", json::object()},
                                        {"remove_data_directory_on_rewind_failure", "false"},
                                        {"remove_data_directory_on_diverged_timelines", ""},
                                        {"pgbackrest", {{"command", "x"}, {"no_leader", "false"}}},
                                        {"create_replica_methods", {"pgbackrest"}}}}},
                   json{{"ttl", 30}, {"loop_wait", 10}, {"retry_timeout", 10}, {"pause", "false"},
                        {"synchronous_mode", "on"}, {"check_timeline", "maybe"},
                        {"postgresql", {{"use_pg_rewind", "false"}}}});
  auto s = agent::ha_settings_from_config(c);
  EXPECT_TRUE(s.use_pg_rewind);
  EXPECT_TRUE(s.remove_data_directory_on_rewind_failure);
  EXPECT_FALSE(s.remove_data_directory_on_diverged_timelines);
  EXPECT_TRUE(s.replica_method_without_leader);
  EXPECT_FALSE(s.pause);
  EXPECT_TRUE(s.synchronous_mode);
  EXPECT_FALSE(s.check_timeline);
}
