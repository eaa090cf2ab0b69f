// postgres/sync_status.h: parsing the one-statement synchronous replication status.
#include "postgres/sync_status.h"

#include <gtest/gtest.h>

namespace custos::postgres {
namespace {

QueryResult result(std::vector<Row> rows) {
  QueryResult r;
  r.rows = std::move(rows);
  return r;
}

Row settings_row(std::optional<std::string> pid = std::nullopt) {
  Row r = {"on", "2 (a,b)", "0/3000060", "150004", pid, std::nullopt, std::nullopt, std::nullopt,
           std::nullopt, std::nullopt, std::nullopt};
  return r;
}

TEST(SyncStatus, NoWalsender) {
  auto s = parse_sync_status(result({settings_row()}));
  ASSERT_TRUE(s) << s.error();
  EXPECT_TRUE(s->senders.empty());
  EXPECT_EQ(s->synchronous_commit, "on");
  EXPECT_EQ(s->synchronous_standby_names, "2 (a,b)");
  EXPECT_EQ(s->flush_lsn, 0x3000060);
  EXPECT_EQ(s->server_version, 150004);
}

TEST(SyncStatus, Walsenders) {
  Row a = {"remote_apply", "", "1/0", "150004", "42", "node2", "streaming", "sync", "1/0", "0/FFFFFFF0",
           std::nullopt};
  Row b = a;
  b[4] = "43";
  b[5] = "node3";
  b[7] = "async";
  auto s = parse_sync_status(result({a, b}));
  ASSERT_TRUE(s) << s.error();
  ASSERT_EQ(s->senders.size(), 2u);
  EXPECT_EQ(s->senders[0].pid, 42);
  EXPECT_EQ(s->senders[0].application_name, "node2");
  EXPECT_EQ(s->senders[0].sync_state, "sync");
  EXPECT_EQ(*s->senders[0].write_lsn, int64_t(1) << 32);
  EXPECT_EQ(*s->senders[0].flush_lsn, 0xFFFFFFF0);
  EXPECT_FALSE(s->senders[0].replay_lsn);
  EXPECT_EQ(s->senders[1].application_name, "node3");
}

TEST(SyncStatus, MalformedInputIsNamed) {
  EXPECT_NE(parse_sync_status(result({})).error().find("no row"), std::string::npos);
  EXPECT_NE(parse_sync_status(result({Row{"on"}})).error().find("11 columns"), std::string::npos);
  Row r = settings_row();
  r[2] = "garbage";
  EXPECT_NE(parse_sync_status(result({r})).error().find("flush LSN"), std::string::npos);
  r = settings_row();
  r[3] = "15x";
  EXPECT_NE(parse_sync_status(result({r})).error().find("server_version_num"), std::string::npos);
  r = settings_row("7");
  r[9] = "nope";
  EXPECT_NE(parse_sync_status(result({r})).error().find("flush_lsn"), std::string::npos);
  r = settings_row("x");
  EXPECT_NE(parse_sync_status(result({r})).error().find("pid"), std::string::npos);
}

}  // namespace
}  // namespace custos::postgres
