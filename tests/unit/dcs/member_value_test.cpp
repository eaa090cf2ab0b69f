#include "dcs/member_value.h"

#include <gtest/gtest.h>

#include "dcs/member.h"

using custos::dcs::Member;
using custos::dcs::member_value_json;
using custos::dcs::MemberValue;
using custos::dcs::published_tags;
using nlohmann::json;

TEST(MemberValue, PrimaryHasPatroniFields) {
  MemberValue m;
  m.conn_url = "postgres://10.0.0.1:5432/postgres";
  m.api_url = "http://10.0.0.1:8008/patroni";
  m.state = "running";
  m.role = "master";
  m.version = "3.3.0";
  m.xlog_location = 67108864;
  m.timeline = 2;
  json j = member_value_json(m);
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

TEST(MemberValue, ReplicaOptionalFields) {
  MemberValue m;
  m.role = "replica";
  m.state = "running";
  m.replication_state = "streaming";
  m.pending_restart = true;
  m.paused = true;
  m.checkpoint_after_promote_pending = true;
  m.proxy_url = "postgres://proxy:5000/postgres";
  json j = member_value_json(m);
  EXPECT_EQ(j["replication_state"], "streaming");
  EXPECT_EQ(j["pending_restart"], true);
  EXPECT_EQ(j["pause"], true);
  EXPECT_EQ(j["checkpoint_after_promote"], false);
  EXPECT_EQ(j["proxy_url"], "postgres://proxy:5000/postgres");
  EXPECT_FALSE(j.contains("xlog_location"));
  EXPECT_FALSE(j.contains("timeline"));
}

TEST(MemberValue, CompactDump) {
  MemberValue m;
  m.role = "replica";
  EXPECT_EQ(member_value_json(m).dump().find(", "), std::string::npos);
}

TEST(MemberValue, PublishedTagsDropFalsyBooleans) {
  json t = published_tags(json{{"nofailover", false}, {"clonefrom", true}, {"noloadbalance", false},
                               {"nosync", ""}, {"nostream", 0}, {"replicatefrom", "a"}, {"custom", 5},
                               {"other", false}});
  EXPECT_EQ(t, (json{{"clonefrom", true}, {"replicatefrom", "a"}, {"custom", 5}, {"other", false}}));
  EXPECT_TRUE(published_tags(json::object()).empty());
  EXPECT_TRUE(published_tags(json("garbage")).empty());
}

// Patroni's _filter_tags: nofailover stays (even false) next to failover_priority, nosync next
// to sync_priority; nothing is added that was not configured.
TEST(MemberValue, PublishedTagsKeepFalsyNofailoverWithPriority) {
  EXPECT_EQ(published_tags(json{{"failover_priority", 2}, {"nofailover", false}}),
            (json{{"failover_priority", 2}, {"nofailover", false}}));
  EXPECT_EQ(published_tags(json{{"failover_priority", 2}}), (json{{"failover_priority", 2}}));
  EXPECT_EQ(published_tags(json{{"sync_priority", 0}, {"nosync", false}}),
            (json{{"sync_priority", 0}, {"nosync", false}}));
  EXPECT_EQ(published_tags(json{{"nosync", false}, {"failover_priority", 1}}), (json{{"failover_priority", 1}}));
}

// The raw configured value is published, not a normalised boolean: Patroni writes a quoted
// "false" as the string "false", and every reader (Patroni or custos) takes it as true.
TEST(MemberValue, PublishedTagsKeepRawValues) {
  json t = published_tags(json{{"nofailover", "false"}, {"clonefrom", 1}, {"nostream", "no"}, {"nosync", "off"}});
  EXPECT_EQ(t, (json{{"nofailover", "false"}, {"clonefrom", 1}, {"nostream", "no"}, {"nosync", "off"}}));

  MemberValue m;
  m.role = "replica";
  m.tags = json{{"nofailover", "false"}, {"nostream", "false"}};
  json j = member_value_json(m);
  EXPECT_EQ(j["tags"]["nofailover"], "false");
  Member read("n1", 1, std::nullopt, j);
  EXPECT_TRUE(read.nofailover());              // truthiness: a non-empty string
  EXPECT_EQ(read.failover_priority(), 0);
  EXPECT_FALSE(read.nostream());               // parse_bool: "false" is false
}
