// End-to-end tests of archive recovery (issue 13 point 6): a member tagged `nostream: true` is a
// replica that never streams. It has no primary_conninfo, follows the primary only by replaying
// the WAL archive through postgresql.recovery_conf's restore_command, publishes
// `"replication_state": "in archive recovery"` (Patroni's value) in its member key and on GET
// /patroni, and gets no replication slot on the primary (Patroni leaves nostream members out of
// the slots it manages), while a normal replica of the same cluster streams from its slot. Two
// ways in: a new member tagged from its first start (cloned from the primary, as in Patroni's
// own nostream feature test), and a streaming replica restarted with the tag.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_cluster.h"

namespace custos::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Adds `nostream: true` to the tags of node i's configuration (ClusterOptions::tags_yaml would
// tag every node); the agent is not started yet, so it reads the file as changed.
void tag_nostream(TestCluster& c, int i) {
  const std::string path = c.node(i).config_file;
  std::string yaml = read_file(path);
  const auto at = yaml.find("\ntags:\n");
  ASSERT_NE(at, std::string::npos) << yaml;
  yaml.insert(at + 7, "  nostream: true\n");
  std::ofstream out(path);
  out << yaml;
  ASSERT_TRUE(out.good()) << path;
}

// The member key of `name` as JSON (discarded when missing or unparsable).
nlohmann::json member(TestCluster& c, const std::string& name) {
  auto v = c.get_key("members/" + name);
  if (!v) return nlohmann::json();
  return nlohmann::json::parse(*v, nullptr, false);
}

std::string member_replication_state(TestCluster& c, const std::string& name) {
  const nlohmann::json m = member(c, name);
  if (!m.is_object() || !m.contains("replication_state") || !m["replication_state"].is_string()) return "";
  return m["replication_state"].get<std::string>();
}

// Node i's agent log without the DEBUG lines and the HA loop's routine lines: what it did (the
// clone, starts, reconfigurations), for a failure message.
std::string agent_events(TestCluster& c, int i) {
  const std::string log = read_file(c.node(i).log_file);
  std::istringstream in(log);
  std::string line, out;
  int kept = 0;
  while (std::getline(in, line) && kept < 80) {
    if (line.find(" DEBUG: ") != std::string::npos || line.find("Lock owner: ") != std::string::npos ||
        line.find(" no action. ") != std::string::npos)
      continue;
    out += line.substr(0, 300) + "\n";
    ++kept;
  }
  return "----- " + c.name(i) + " agent events -----\n" + out;
}

std::set<std::string> slots_on(TestCluster& c, int i) {
  std::set<std::string> out;
  auto r = c.sql(i, "SELECT slot_name FROM pg_replication_slots");
  for (const auto& row : r.rows)
    if (!row.empty() && row[0]) out.insert(*row[0]);
  return out;
}

// A 3-node cluster whose primary archives to {dir}/archive and whose every node restores from
// there (postgresql.recovery_conf).
ClusterOptions archiving_cluster(const std::string& scope) {
  ClusterOptions o;
  o.nodes = 3;
  o.scope = scope;
  o.archive_command = ClusterOptions::kArchiveToDir;
  o.postgresql_yaml =
      "  recovery_conf:\n"
      "    restore_command: cp {dir}/archive/%f %p\n";
  return o;
}

// n1 the primary, n2 tagged nostream and running, n3 streaming: n2 follows through the archive
// only, says so, and has no slot on the primary.
void check_archive_only_member(TestCluster& c) {
  // Writes reach n2 once the primary has archived the segment that holds them.
  ASSERT_TRUE(c.sql(0, "INSERT INTO archived VALUES (1)").ok);
  ASSERT_TRUE(c.sql(0, "SELECT pg_switch_wal()").ok);
  const bool replays = eventually(
      [&] { return c.sql_value(1, "SELECT count(*) FROM archived") == std::optional<std::string>("1"); }, 90s);
  EXPECT_TRUE(replays) << c.describe() << agent_events(c, 1) << c.logs(40);
  if (replays) {
    ASSERT_TRUE(c.sql(0, "INSERT INTO archived VALUES (2)").ok);
    ASSERT_TRUE(c.sql(0, "SELECT pg_switch_wal()").ok);
    EXPECT_TRUE(eventually(
        [&] { return c.sql_value(1, "SELECT count(*) FROM archived") == std::optional<std::string>("2"); }, 90s))
        << c.describe();
    EXPECT_TRUE(eventually(
        [&] { return c.sql_value(2, "SELECT count(*) FROM archived") == std::optional<std::string>("2"); }, 30s));
  }

  // ... and not by streaming: no primary_conninfo (nor slot name), no WAL receiver, no walsender
  // on the primary; the restore_command of recovery_conf is in force.
  EXPECT_EQ(c.sql_value(1, "SHOW primary_conninfo"), std::optional<std::string>(""));
  EXPECT_EQ(c.sql_value(1, "SHOW primary_slot_name"), std::optional<std::string>(""));
  EXPECT_EQ(c.sql_value(1, "SELECT count(*) FROM pg_stat_wal_receiver"), std::optional<std::string>("0"));
  EXPECT_EQ(c.sql_value(1, "SHOW restore_command"), std::optional<std::string>("cp " + c.dir() + "/archive/%f %p"));
  EXPECT_EQ(c.sql_value(0, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'n2'"),
            std::optional<std::string>("0"));
  EXPECT_EQ(c.sql_value(0, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'n3'"),
            std::optional<std::string>("1"));

  // Its member key and GET /patroni say so, as Patroni's do; the streaming replica's say
  // "streaming".
  EXPECT_TRUE(eventually([&] { return member_replication_state(c, "n2") == "in archive recovery"; }, 30s))
      << c.get_key("members/n2").value_or("(no member key)");
  EXPECT_EQ(member(c, "n2").value("role", ""), "replica");
  EXPECT_EQ(member(c, "n2").value("state", ""), "running");
  EXPECT_TRUE(eventually([&] { return member_replication_state(c, "n3") == "streaming"; }, 30s))
      << c.get_key("members/n3").value_or("(no member key)");
  std::string body;
  EXPECT_EQ(c.rest_status(1, "/patroni", &body), 200) << body;
  const nlohmann::json status = nlohmann::json::parse(body, nullptr, false);
  ASSERT_TRUE(status.is_object()) << body;
  EXPECT_EQ(status.value("replication_state", ""), "in archive recovery") << body;
  EXPECT_EQ(status.value("role", ""), "replica") << body;

  // The primary keeps a slot for the streaming replica only: a slot for n2 would never be used
  // and would hold back the primary's WAL for ever.
  EXPECT_TRUE(eventually([&] { return slots_on(c, 0).count("n3") == 1; }, 30s)) << c.describe();
  // A few HA loops more, in which a slot for n2 would be created.
  std::this_thread::sleep_for(std::chrono::seconds(3 * c.options().loop_wait));
  const std::set<std::string> slots = slots_on(c, 0);
  std::string listed;
  for (const auto& s : slots) listed += s + " ";
  EXPECT_EQ(slots.count("n2"), 0U) << "slots on the primary: " << listed;
}

// A new member tagged nostream: cloned from the primary, then started without primary_conninfo.
TEST(ArchiveRecoveryE2E, ANostreamMemberFollowsThePrimaryThroughTheWalArchiveOnly) {
  TestCluster c(archiving_cluster("e2e-archive"));
  tag_nostream(c, 1);  // n2; n3 is a normal replica
  if (HasFatalFailure()) return;
  c.start_agent(0);
  ASSERT_EQ(c.wait_for_primary(150s), 0);
  ASSERT_TRUE(c.sql(0, "CREATE TABLE archived (x int)").ok);
  c.start_agent(1);
  c.start_agent(2);
  c.wait_for_streaming(0, {2}, 150s);
  ASSERT_TRUE(eventually([&] { return c.is_primary_sql(1) == std::optional<bool>(false); }, 150s)) << c.describe();
  check_archive_only_member(c);
  c.check_no_agent_died();
}

// A streaming replica restarted with the nostream tag: it stops streaming, its slot on the
// primary goes, and it carries on from the archive.
TEST(ArchiveRecoveryE2E, AStreamingReplicaRestartedWithNostreamSwitchesToTheArchive) {
  TestCluster c(archiving_cluster("e2e-archive2"));
  c.start_agent(0);
  ASSERT_EQ(c.wait_for_primary(150s), 0);
  ASSERT_TRUE(c.sql(0, "CREATE TABLE archived (x int)").ok);
  c.start_agent(1);
  c.start_agent(2);
  c.wait_for_streaming(0, {1, 2}, 150s);
  EXPECT_TRUE(eventually([&] { return slots_on(c, 0).count("n2") == 1; }, 30s)) << c.describe();
  c.sigterm_agent(1);
  ASSERT_TRUE(c.wait_agent_exit(1, 90s).has_value()) << c.describe();
  tag_nostream(c, 1);
  if (HasFatalFailure()) return;
  c.start_agent(1);
  ASSERT_TRUE(eventually([&] { return c.is_primary_sql(1) == std::optional<bool>(false); }, 150s)) << c.describe();
  check_archive_only_member(c);
  c.check_no_agent_died();
}

}  // namespace
}  // namespace custos::e2e
