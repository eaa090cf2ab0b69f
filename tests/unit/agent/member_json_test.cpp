#include "agent/member_json.h"

#include <gtest/gtest.h>

using custos::agent::build_member_json;
using custos::agent::MemberInfo;
using custos::agent::published_tags;
using nlohmann::json;

TEST(MemberJson, PrimaryHasPatroniFields) {
  MemberInfo m;
  m.conn_url = "postgres://10.0.0.1:5432/postgres";
  m.api_url = "http://10.0.0.1:8008/patroni";
  m.state = "running";
  m.role = "master";
  m.version = "3.3.0";
  m.xlog_location = 67108864;
  m.timeline = 2;
  json j = build_member_json(m);
  EXPECT_EQ(j["conn_url"], "postgres://10.0.0.1:5432/postgres");
  EXPECT_EQ(j["api_url"], "http://10.0.0.1:8008/patroni");
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["role"], "master");
  EXPECT_EQ(j["version"], "3.3.0");
  EXPECT_EQ(j["xlog_location"], 67108864);
  EXPECT_EQ(j["timeline"], 2);
  EXPECT_FALSE(j.contains("replication_state"));
  EXPECT_FALSE(j.contains("tags"));
  EXPECT_FALSE(j.contains("pending_restart"));
  EXPECT_FALSE(j.contains("pause"));
  EXPECT_FALSE(j.contains("checkpoint_after_promote"));
  EXPECT_FALSE(j.contains("proxy_url"));
}

TEST(MemberJson, ReplicaOptionalFields) {
  MemberInfo m;
  m.role = "replica";
  m.state = "running";
  m.replication_state = "streaming";
  m.pending_restart = true;
  m.paused = true;
  m.checkpoint_after_promote_pending = true;
  m.proxy_url = "postgres://proxy:5000/postgres";
  json j = build_member_json(m);
  EXPECT_EQ(j["replication_state"], "streaming");
  EXPECT_EQ(j["pending_restart"], true);
  EXPECT_EQ(j["pause"], true);
  EXPECT_EQ(j["checkpoint_after_promote"], false);
  EXPECT_EQ(j["proxy_url"], "postgres://proxy:5000/postgres");
  EXPECT_FALSE(j.contains("xlog_location"));
  EXPECT_FALSE(j.contains("timeline"));
}

TEST(MemberJson, CompactDump) {
  MemberInfo m;
  m.role = "replica";
  EXPECT_EQ(build_member_json(m).dump().find(", "), std::string::npos);
}

TEST(MemberJson, PublishedTagsDropFalseBooleans) {
  json t = published_tags(json{{"nofailover", false}, {"clonefrom", true}, {"noloadbalance", false},
                               {"replicatefrom", "a"}, {"custom", 5}});
  EXPECT_EQ(t, (json{{"clonefrom", true}, {"replicatefrom", "a"}, {"custom", 5}}));
  EXPECT_EQ(published_tags(json{{"failover_priority", 2}}), (json{{"failover_priority", 2}, {"nofailover", false}}));
  EXPECT_TRUE(published_tags(json::object()).empty());
  EXPECT_TRUE(published_tags(json("garbage")).empty());
}
