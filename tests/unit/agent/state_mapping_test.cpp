#include "agent/state_mapping.h"

#include <gtest/gtest.h>

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
  EXPECT_FALSE(s.watchdog_enabled);
}
