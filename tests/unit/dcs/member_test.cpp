// Unit tests of Member (members/<name> values) and Leader.
#include <gtest/gtest.h>

#include "dcs/leader.h"
#include "dcs/member.h"

namespace custos::dcs {
namespace {

using nlohmann::json;

Member M(const std::string& value, const std::string& name = "n") {
  return Member::from_node(1, name, std::string("lease"), value);
}

TEST(Member, FromJson) {
  auto m = M(R"({"conn_url":"postgres://h:5432/postgres","api_url":"http://h:8008/patroni",
                 "state":"running","role":"replica","version":"3.3.1","xlog_location":123,
                 "timeline":4,"tags":{"nofailover":true,"clonefrom":true},
                 "replication_state":"streaming","pending_restart":true,"pause":true,
                 "proxy_url":"postgres://p:5000/postgres"})",
             "node1");
  EXPECT_EQ(m.name(), "node1");
  EXPECT_EQ(m.version, 1);
  EXPECT_EQ(m.session, "lease");
  EXPECT_EQ(m.conn_url(), "postgres://h:5432/postgres");
  EXPECT_EQ(m.api_url(), "http://h:8008/patroni");
  EXPECT_EQ(m.proxy_url(), "postgres://p:5000/postgres");
  EXPECT_EQ(m.state(), "running");
  EXPECT_TRUE(m.is_running());
  EXPECT_EQ(m.role(), "replica");
  EXPECT_FALSE(m.is_primary());
  EXPECT_EQ(m.patroni_version(), (PatroniVersion{3, 3, 1}));
  EXPECT_EQ(m.lsn(), 123);
  EXPECT_EQ(m.timeline(), 4);
  EXPECT_TRUE(m.nofailover());
  EXPECT_EQ(m.failover_priority(), 0);
  EXPECT_TRUE(m.clonefrom());
  EXPECT_EQ(m.replication_state(), "streaming");
  EXPECT_TRUE(m.pending_restart());
  EXPECT_TRUE(m.is_paused());
}

TEST(Member, UnparsableOrNonObjectGivesEmptyData) {
  for (const char* v : {"{", "[]", "null", "1", "\"s\"", "", "garbage"}) {
    auto m = M(v);
    EXPECT_EQ(m.data(), json::object()) << v;
    EXPECT_EQ(m.state(), "unknown");
    EXPECT_FALSE(m.is_running());
    EXPECT_EQ(m.role(), "");
    EXPECT_FALSE(m.conn_url());
    EXPECT_FALSE(m.api_url());
    EXPECT_EQ(m.tags(), json::object());
    EXPECT_FALSE(m.patroni_version());
    EXPECT_FALSE(m.lsn());
    EXPECT_EQ(m.conn_kwargs(), json::object());
  }
}

TEST(Member, LegacyPostgresValue) {
  auto m = M("postgres://u:p@host:5433/postgres?application_name=http://host:8008/patroni");
  EXPECT_EQ(m.conn_url(), "postgres://u:p@host:5433/postgres");
  EXPECT_EQ(m.api_url(), "http://host:8008/patroni");
  EXPECT_EQ(m.data()["api_url"], "http://host:8008/patroni");
  auto n = M("postgresql://host/db");
  EXPECT_EQ(n.conn_url(), "postgresql://host/db");
  EXPECT_FALSE(n.api_url());
  EXPECT_TRUE(n.data()["api_url"].is_null());
  // Invalid UTF-8 in a legacy value never reaches the JSON data unsanitised.
  auto o = M("postgres://h\xFF/db?application_name=%FF");
  EXPECT_NO_THROW((void)o.data().dump());
}

TEST(Member, ConnUrlFromConnKwargs) {
  auto m = M(R"({"conn_kwargs":{"host":"h1","port":5433,"dbname":"x"}})");
  EXPECT_EQ(m.conn_url(), "postgresql://h1:5433");
  EXPECT_EQ(M(R"({"conn_kwargs":{"host":"h1"}})").conn_url(), "postgresql://h1:5432");
  EXPECT_EQ(M(R"({"conn_kwargs":{"host":"::1","port":"6"}})").conn_url(), "postgresql://[::1]:6");
  EXPECT_EQ(M(R"({"conn_kwargs":{"host":"h1","port":null}})").conn_url(), "postgresql://h1");
  EXPECT_FALSE(M(R"({"conn_kwargs":{}})").conn_url());
  EXPECT_FALSE(M(R"({"conn_kwargs":[1]})").conn_url());
  EXPECT_EQ(M(R"({"conn_url":"","conn_kwargs":{"host":"h"}})").conn_url(), "postgresql://h:5432");
  EXPECT_FALSE(M(R"({"conn_url":5})").conn_url());
}

TEST(Member, ConnKwargs) {
  auto m = M(R"({"conn_url":"postgres://Host:5433/db1"})");
  EXPECT_EQ(m.conn_kwargs(), (json{{"host", "host"}, {"port", 5433}, {"dbname", "db1"}}));
  EXPECT_EQ(m.conn_kwargs(json{{"username", "u"}, {"password", nullptr}}),
            (json{{"host", "host"}, {"port", 5433}, {"dbname", "db1"}, {"user", "u"}}));
  auto k = M(R"({"conn_kwargs":{"host":"h","port":1,"sslmode":"require"}})");
  EXPECT_EQ(k.conn_kwargs(), (json{{"host", "h"}, {"port", 1}, {"dbname", nullptr}, {"sslmode", "require"}}));
}

TEST(Member, Tags) {
  EXPECT_FALSE(M(R"({"tags":{"nofailover":false}})").nofailover());
  EXPECT_EQ(M(R"({"tags":{}})").failover_priority(), 1);
  EXPECT_TRUE(M(R"({"tags":{"failover_priority":0}})").nofailover());
  EXPECT_FALSE(M(R"({"tags":{"failover_priority":2}})").nofailover());
  EXPECT_EQ(M(R"({"tags":{"failover_priority":"3"}})").failover_priority(), 3);
  EXPECT_FALSE(M(R"({"tags":{"nofailover":false,"failover_priority":0}})").nofailover());
  EXPECT_TRUE(M(R"({"tags":{"nofailover":"yes"}})").nofailover());  // Python truthiness
  EXPECT_EQ(M(R"({"tags":{"replicatefrom":"a"}})").replicatefrom(), "a");
  EXPECT_FALSE(M(R"({"tags":{"replicatefrom":1}})").replicatefrom());
  EXPECT_TRUE(M(R"({"tags":{"nosync":true,"nostream":1,"noloadbalance":"x"}})").nosync());
  EXPECT_TRUE(M(R"({"tags":{"nosync":true,"nostream":1,"noloadbalance":"x"}})").nostream());
  EXPECT_TRUE(M(R"({"tags":{"nosync":true,"nostream":1,"noloadbalance":"x"}})").noloadbalance());
  EXPECT_EQ(M(R"({"tags":[1]})").tags(), json::object());
  // clonefrom needs a conn_url.
  EXPECT_TRUE(M(R"({"tags":{"clonefrom":true}})").clonefrom_tag());
  EXPECT_FALSE(M(R"({"tags":{"clonefrom":true}})").clonefrom());
}

// nostream is the one tag Patroni reads with parse_bool; the others are Python-truthy.
TEST(Member, NostreamIsParseBoolTheOthersTruthiness) {
  EXPECT_FALSE(M(R"({"tags":{"nostream":"false"}})").nostream());
  EXPECT_FALSE(M(R"({"tags":{"nostream":"junk"}})").nostream());
  EXPECT_FALSE(M(R"({"tags":{"nostream":2}})").nostream());
  EXPECT_TRUE(M(R"({"tags":{"nostream":"ON"}})").nostream());
  EXPECT_TRUE(M(R"({"tags":{"nosync":"false"}})").nosync());
  EXPECT_TRUE(M(R"({"tags":{"noloadbalance":"false"}})").noloadbalance());
  EXPECT_TRUE(M(R"({"tags":{"nofailover":"false","failover_priority":5}})").nofailover());
  EXPECT_EQ(M(R"({"tags":{"nofailover":"false","failover_priority":5}})").failover_priority(), 0);
  EXPECT_FALSE(M(R"({"tags":{"nofailover":null,"failover_priority":5}})").nofailover());
}

TEST(Member, RoleSpellings) {
  EXPECT_TRUE(is_primary_role("master"));
  EXPECT_TRUE(is_primary_role("primary"));
  EXPECT_FALSE(is_primary_role("standby_leader"));
  EXPECT_FALSE(is_primary_role("Master"));
  EXPECT_TRUE(M(R"({"role":"primary"})").is_primary());
  EXPECT_TRUE(M(R"({"role":"master"})").is_primary());
  EXPECT_FALSE(M(R"({"role":7})").is_primary());
}

TEST(Member, PatroniVersion) {
  EXPECT_EQ(parse_patroni_version("1.2.3"), (PatroniVersion{1, 2, 3}));
  EXPECT_EQ(parse_patroni_version("4"), (PatroniVersion{4}));
  EXPECT_EQ(parse_patroni_version(" 3 . 0 .2"), (PatroniVersion{3, 0, 2}));
  EXPECT_FALSE(parse_patroni_version("z"));
  EXPECT_FALSE(parse_patroni_version("3.3.1rc1"));
  EXPECT_FALSE(parse_patroni_version("3..1"));
  EXPECT_FALSE(parse_patroni_version(""));
  EXPECT_FALSE(parse_patroni_version("99999999999999999999.1"));
  EXPECT_FALSE(M(R"({"version":3})").patroni_version());
  EXPECT_FALSE(M(R"({"version":""})").patroni_version());
  EXPECT_TRUE(PatroniVersion({1, 5, 7}) > PatroniVersion({1, 5, 6}));
  EXPECT_TRUE(PatroniVersion({1, 5, 6, 0}) > PatroniVersion({1, 5, 6}));
  EXPECT_EQ(to_string(PatroniVersion{3, 3, 1}), "3.3.1");
}

TEST(Member, LsnAndTimelineParsing) {
  EXPECT_EQ(M(R"({"xlog_location":"77"})").lsn(), 77);
  EXPECT_FALSE(M(R"({"xlog_location":"x"})").lsn());
  EXPECT_FALSE(M(R"({"xlog_location":null})").lsn());
  EXPECT_FALSE(M(R"({"timeline":{}})").timeline());
}

TEST(Leader, CheckpointAfterPromote) {
  auto leader = [](const std::string& data) {
    return Leader(1, std::string("s"), Member::from_node(1, "l", std::nullopt, data));
  };
  EXPECT_EQ(leader(R"({"version":"3.3.1","role":"master"})").checkpoint_after_promote(), true);
  EXPECT_EQ(leader(R"({"version":"3.3.1","role":"primary"})").checkpoint_after_promote(), true);
  EXPECT_EQ(leader(R"({"version":"3.3.1","role":"master","checkpoint_after_promote":false})")
                .checkpoint_after_promote(),
            false);
  EXPECT_EQ(leader(R"({"version":"3.3.1","role":"replica"})").checkpoint_after_promote(), false);
  EXPECT_EQ(leader(R"({"version":"3.3.1"})").checkpoint_after_promote(), false);
  EXPECT_EQ(leader(R"({"version":"1.5.7","role":"master"})").checkpoint_after_promote(), true);
  EXPECT_FALSE(leader(R"({"version":"1.5.6","role":"master"})").checkpoint_after_promote());
  EXPECT_FALSE(leader(R"({"version":"z","role":"master"})").checkpoint_after_promote());
  EXPECT_FALSE(leader(R"({"role":"master"})").checkpoint_after_promote());
}

TEST(Leader, Accessors) {
  Leader l(42, std::string("lease1"),
           Member::from_node(5, "n1", std::nullopt, R"({"conn_url":"postgres://h/db","timeline":3})"));
  EXPECT_EQ(l.version, 42);
  EXPECT_EQ(l.session, "lease1");
  EXPECT_EQ(l.name(), "n1");
  EXPECT_EQ(l.conn_url(), "postgres://h/db");
  EXPECT_EQ(l.timeline(), 3);
  EXPECT_EQ(l.conn_kwargs()["dbname"], "db");
  EXPECT_EQ(l.data()["timeline"], 3);
}

}  // namespace
}  // namespace custos::dcs
