// End-to-end test of permanent logical slots (issue 14 points 1-3, spec/ha.md §10) on three
// real custos agents with PostgreSQL 15, TLS everywhere and synchronous_mode (so that every
// acknowledged commit survives a kill -9 of the primary):
//   - `slots: {cdc: {type: logical, database: postgres, plugin: test_decoding}}` makes the slot on
//     the primary; the replicas copy it (its state file from the primary, then a restart), run
//     with hot_standby_feedback on, and move their copy forward to the position the leader
//     publishes in /status;
//   - a logical consumer (Debian's pg_recvlogical with test_decoding, as the replication role
//     with its client certificate) reads the slot while a writer commits rows without pause,
//     through a switchover and through a kill -9 failover; after each change of primary the
//     consumer connects to the new one and resumes from that node's copy of the slot;
//   - in the end every row whose commit was acknowledged was received, each consumer run saw
//     the rows in commit order, and rows after the last confirmed position may repeat (never
//     missing);
//   - an unknown logical slot is dropped, one matched by ignore_slots is kept.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cluster_fixture.h"

namespace custos::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class LogicalSlotsE2E : public ClusterFixture {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.scope = "e2e-cdc";
    o.tls = true;
    o.synchronous_mode = true;
    o.wal_level = "logical";
    o.dcs_yaml =
        "    slots:\n"
        "      cdc:\n        type: logical\n        database: postgres\n        plugin: test_decoding\n"
        "    ignore_slots:\n"
        "      - name: keep_me\n        type: logical\n";
    make_cluster(o);
  }

  // The slot's confirmed_flush_lsn on node i as text ("" when it has no such slot).
  std::string slot_lsn(int i, const std::string& slot) {
    return c().sql_value(i, "SELECT COALESCE(confirmed_flush_lsn::text, 'none') FROM pg_catalog.pg_replication_slots "
                            "WHERE slot_name = '" + slot + "'")
        .value_or("");
  }

  // The synchronous standby /sync names for leader `leader` (waits up to 60 s); -1 if none.
  int sync_standby_of(int leader) {
    int found = -1;
    eventually(
        [&] {
          auto sync = json::parse(c().get_key("sync").value_or("{}"), nullptr, false);
          if (!sync.is_object() || sync.value("leader", "") != c().name(leader) || !sync.contains("sync_standby") ||
              !sync["sync_standby"].is_string())
            return false;
          found = c().index_of(sync["sync_standby"].get<std::string>());
          return found >= 0;
        },
        60s);
    return found;
  }

  // pg_recvlogical on node i's slot `cdc`, writing to `file`; exits when its connection ends.
  std::unique_ptr<test::ChildProcess> start_consumer(int i, const std::string& file) {
    test::SpawnOptions so;
    so.argv = {std::string(kPgBinDir) + "/pg_recvlogical", "-d", c().replication_conninfo(i), "--slot=cdc",
               "--start", "--no-loop", "-f", file, "-F", "1", "-s", "1"};
    so.env["PGPASSWORD"] = TestCluster::replication_password();
    so.output_file = file + ".log";
    return std::make_unique<test::ChildProcess>(so);
  }
};

// The ids of `INSERT` lines of test_decoding output for table cdc_rows, in the order received.
std::vector<int64_t> received_ids(const std::string& file) {
  static const std::regex insert(R"(table public\.cdc_rows: INSERT: id\[bigint\]:(\d+))");
  std::vector<int64_t> out;
  std::istringstream in(read_file(file));
  std::string line;
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_search(line, m, insert)) out.push_back(std::stoll(m[1].str()));
  return out;
}

TEST_F(LogicalSlotsE2E, AConsumerMissesNoCommittedChangeThroughSwitchoverAndFailover) {
  c().start_all();
  int p = c().wait_for_primary(150s);
  c().wait_for_streaming(p, others(p), 150s);
  ASSERT_TRUE(c().sql(p, "CREATE TABLE cdc_rows (id bigint PRIMARY KEY)").ok);
  // The slot on the primary; the replicas run with hot_standby_feedback for it.
  ASSERT_TRUE(eventually([&] { return !slot_lsn(p, "cdc").empty(); }, 60s)) << c().logs(60);
  for (int r : others(p))
    EXPECT_TRUE(eventually([&] { return c().sql_value(r, "SHOW hot_standby_feedback") == std::optional<std::string>("on"); },
                           60s))
        << c().name(r);
  // Slots nobody manages: dropped, unless ignore_slots matches them.
  ASSERT_TRUE(c().sql(p, "SELECT pg_catalog.pg_create_logical_replication_slot('keep_me', 'test_decoding')").ok);
  ASSERT_TRUE(c().sql(p, "SELECT pg_catalog.pg_create_logical_replication_slot('stray', 'test_decoding')").ok);
  EXPECT_TRUE(eventually([&] { return slot_lsn(p, "stray").empty(); }, 30s)) << "the unknown slot was not dropped";
  EXPECT_FALSE(slot_lsn(p, "keep_me").empty()) << "the slot matched by ignore_slots was dropped";

  // A writer commits rows one by one on whichever node is the primary; only acknowledged
  // commits are recorded.
  std::atomic<bool> writing{true};
  std::mutex acked_mu;
  std::vector<int64_t> acked;
  std::thread writer([&] {
    postgres::ConnectionOptions co;
    co.connect_timeout = 2000ms;
    co.query_timeout = 5000ms;
    co.application_name = "custos-e2e-writer";
    std::unique_ptr<postgres::PgConnection> conn;
    int64_t id = 1;
    for (int attempts = 0; writing && attempts < 200000; ++attempts) {
      if (!conn) {
        auto leader = c().leader_name();
        const int i = leader ? c().index_of(*leader) : -1;
        if (i < 0) {
          std::this_thread::sleep_for(100ms);
          continue;
        }
        conn = std::make_unique<postgres::PgConnection>(c().conninfo(i), co);
      }
      auto r = conn->query("INSERT INTO cdc_rows (id) SELECT $1::bigint WHERE NOT pg_catalog.pg_is_in_recovery()",
                           {std::to_string(id)});
      if (r.ok() && r->command_status == "INSERT 0 1") {
        std::lock_guard lk(acked_mu);
        acked.push_back(id);
        ++id;
      } else {
        // Unknown outcome (connection lost, read-only): the next id, never the same one twice.
        ++id;
        conn.reset();
        std::this_thread::sleep_for(100ms);
      }
    }
  });
  // Joined on every way out of the test (a failed ASSERT included).
  struct JoinWriter {
    std::atomic<bool>& writing;
    std::thread& t;
    ~JoinWriter() {
      writing = false;
      if (t.joinable()) t.join();
    }
  } join_writer{writing, writer};
  auto acked_count = [&] {
    std::lock_guard lk(acked_mu);
    return acked.size();
  };

  // Consumer run 1 on the first primary.
  std::vector<std::string> files;
  files.push_back(c().dir() + "/cdc-1.out");
  auto consumer = start_consumer(p, files.back());
  ASSERT_TRUE(eventually([&] { return acked_count() > 50 && !received_ids(files.back()).empty(); }, 60s))
      << read_file(files.back() + ".log");
  // The replicas copy the slot (its state file from the primary, then a restart) once the
  // consumer has moved it past the oldest WAL they have (they were cloned after it was made).
  for (int r : others(p))
    ASSERT_TRUE(eventually([&] { return !slot_lsn(r, "cdc").empty(); }, 120s))
        << c().name(r) << " has no copy of the slot\n" << c().logs(80);
  for (int r : others(p))
    EXPECT_NE(read_file(c().node(r).log_file).find("Copied logical replication slot 'cdc'"), std::string::npos);
  // Their copies follow the position the leader publishes.
  std::this_thread::sleep_for(2s);
  const std::string confirmed = slot_lsn(p, "cdc");
  for (int r : others(p))
    EXPECT_TRUE(eventually([&] { return c().sql_value(r, "SELECT confirmed_flush_lsn >= '" + confirmed +
                                                         "'::pg_lsn FROM pg_catalog.pg_replication_slots WHERE "
                                                         "slot_name = 'cdc'") == std::optional<std::string>("t"); },
                           60s))
        << c().name(r) << " did not move its copy of the slot forward to " << confirmed << "\n" << c().logs(60);

  // Switchover to the synchronous standby; the consumer's connection ends with the old primary.
  const int target = sync_standby_of(p);
  ASSERT_GE(target, 0) << c().get_key("sync").value_or("(no /sync)");
  auto sw = c().rest(p, "POST", "/switchover", json{{"leader", c().name(p)}, {"candidate", c().name(target)}}.dump());
  ASSERT_EQ(sw.status, 200) << sw.body;
  ASSERT_EQ(c().wait_for_primary(90s), target) << c().describe();
  p = target;
  consumer->wait_for(30s);
  consumer->stop();
  files.push_back(c().dir() + "/cdc-2.out");
  consumer = start_consumer(p, files.back());
  const std::size_t before_kill = acked_count();
  ASSERT_TRUE(eventually([&] { return acked_count() > before_kill + 50 && !received_ids(files.back()).empty(); }, 60s))
      << read_file(files.back() + ".log") << c().logs(60);
  // The slot must be on every node that can take over before the kill.
  for (int r : others(p))
    ASSERT_TRUE(eventually([&] { return !slot_lsn(r, "cdc").empty(); }, 120s)) << c().name(r) << "\n" << c().logs(80);
  std::this_thread::sleep_for(3s);  // the copies are advanced past the first run's position

  // kill -9 of the primary (agent and postmaster) once it has a synchronous standby again (until
  // then no node is sure to have every acknowledged commit, and none may take over): that
  // standby takes over.
  const int sync_after_switchover = sync_standby_of(p);
  ASSERT_GE(sync_after_switchover, 0) << c().get_key("sync").value_or("(no /sync)");
  c().kill_node(p);
  const int np = c().wait_for_primary(120s);
  ASSERT_EQ(np, sync_after_switchover);
  consumer->wait_for(30s);
  consumer->stop();
  std::this_thread::sleep_for(2s);  // a few rows on the new primary
  writing = false;
  if (writer.joinable()) writer.join();
  files.push_back(c().dir() + "/cdc-3.out");
  consumer = start_consumer(np, files.back());
  // Until the consumer has every acknowledged row (it is at the end of the WAL), then stop it.
  std::vector<int64_t> expected;
  {
    std::lock_guard lk(acked_mu);
    expected = acked;
  }
  ASSERT_GT(expected.size(), 100u);
  std::set<int64_t> got;
  const bool complete = eventually(
      [&] {
        got.clear();
        for (const auto& f : files)
          for (int64_t id : received_ids(f)) got.insert(id);
        for (int64_t id : expected)
          if (!got.count(id)) return false;
        return true;
      },
      90s);
  consumer->signal(SIGINT);
  consumer->wait_for(10s);
  consumer->stop();
  std::vector<int64_t> missing;
  for (int64_t id : expected)
    if (!got.count(id)) missing.push_back(id);
  EXPECT_TRUE(complete && missing.empty())
      << missing.size() << " of " << expected.size() << " acknowledged rows never reached the consumer, first "
      << (missing.empty() ? 0 : missing.front()) << "\n"
      << read_file(files.back() + ".log") << c().logs(80);
  // Each run received the rows in commit order (ids are committed in increasing order).
  for (const auto& f : files) {
    const auto ids = received_ids(f);
    for (std::size_t k = 1; k < ids.size(); ++k)
      ASSERT_LT(ids[k - 1], ids[k]) << f << " out of order at " << k;
  }
  std::printf("[ FIGURE   ] %zu acknowledged rows, all received by the logical consumer: %s\n", expected.size(),
              missing.empty() ? "yes" : "no");
}

}  // namespace
}  // namespace custos::e2e

namespace custos::e2e {
namespace {

// Patroni 4 member_slots_ttl (TLS everywhere): every node keeps a physical slot for every other
// member, the leader publishes them in /status with retain_slots, and the slot of a member that
// stopped outlives its member key by member_slots_ttl before every node drops it. Without the
// setting (Patroni 3.3) the slot would go with the member key.
class MemberSlotsTtlE2E : public ClusterFixture {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.scope = "e2e-retain";
    o.tls = true;
    o.dcs_yaml = "    member_slots_ttl: 15s\n";
    make_cluster(o);
  }

  std::set<std::string> slots_on(int i) {
    auto r = c().sql(i, "SELECT slot_name FROM pg_catalog.pg_replication_slots WHERE slot_type = 'physical'");
    std::set<std::string> out;
    if (r.ok)
      for (const auto& row : r.rows)
        if (!row.empty() && row[0]) out.insert(*row[0]);
    return out;
  }
  std::set<std::string> retained() {
    auto st = json::parse(c().get_key("status").value_or("{}"), nullptr, false);
    std::set<std::string> out;
    if (st.is_object() && st.contains("retain_slots") && st["retain_slots"].is_array())
      for (const auto& n : st["retain_slots"])
        if (n.is_string()) out.insert(n.get<std::string>());
    return out;
  }
};

TEST_F(MemberSlotsTtlE2E, ADepartedMembersSlotIsKeptForTheTtlOnEveryNode) {
  c().start_all();
  const int p = c().wait_for_primary(150s);
  c().wait_for_streaming(p, others(p), 150s);
  const std::vector<int> rs = others(p);
  const int gone = rs[1], stays = rs[0];
  const std::string gone_slot = c().name(gone);
  // Every node holds slots for the two others; /status retains all three names.
  ASSERT_TRUE(eventually([&] {
    for (int i = 0; i < c().size(); ++i)
      for (int j = 0; j < c().size(); ++j)
        if (i != j && !slots_on(i).count(c().name(j))) return false;
    return retained() == std::set<std::string>{c().name(0), c().name(1), c().name(2)};
  }, 60s)) << "slots: primary " << testing::PrintToString(slots_on(p)) << ", replica "
           << testing::PrintToString(slots_on(stays)) << "; /status " << c().get_key("status").value_or("");

  // The member stops (SIGTERM): its key goes after ttl; its slot stays, then goes.
  c().sigterm_agent(gone);
  ASSERT_TRUE(c().wait_agent_exit(gone, 60s).has_value());
  const auto stopped = Clock::now();
  ASSERT_TRUE(eventually([&] { return !c().get_key("members/" + c().name(gone)).has_value(); }, 60s))
      << "the member key of " << c().name(gone) << " did not expire";
  report("member key of the stopped member expired", seconds_since(stopped));
  EXPECT_TRUE(slots_on(p).count(gone_slot)) << "dropped with the member key on the primary";
  EXPECT_TRUE(slots_on(stays).count(gone_slot)) << "dropped with the member key on the replica";
  EXPECT_TRUE(retained().count(gone_slot)) << c().get_key("status").value_or("");
  ASSERT_TRUE(eventually([&] { return !slots_on(p).count(gone_slot) && !slots_on(stays).count(gone_slot) &&
                                      !retained().count(gone_slot); }, 90s))
      << "the slot of " << c().name(gone) << " outlived member_slots_ttl: primary "
      << testing::PrintToString(slots_on(p)) << ", replica " << testing::PrintToString(slots_on(stays));
  report("slot of the stopped member dropped everywhere", seconds_since(stopped));
}

}  // namespace
}  // namespace custos::e2e
