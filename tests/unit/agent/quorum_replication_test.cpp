// SyncReplication in quorum mode (synchronous_mode: quorum) against a simulated primary: the
// fake PostgreSQL answers pg_stat_replication, synchronous_standby_names and its flush position
// from a small model whose synchronous_standby_names changes when the agent applies a value
// (at once, or only after a delayed reload). After every write the pair (/sync, the value in
// force) must keep the quorum rule, and /sync must never let a standby win that misses
// acknowledged commits.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "agent/sync_replication.h"
#include "fake_postgres_node.h"
#include "ha/quorum_state.h"
#include "in_memory_dcs.h"
#include "postgres/lsn.h"
#include "postgres/sync_status.h"
#include "sim_clock.h"

namespace custos::agent {
namespace {

using nlohmann::json;

struct Standby {
  int64_t flush = 0;
  bool streaming = true;
  bool follows_primary = true;  // catches up with the primary's flush position at each query
};

// The simulated primary "p" and its standbys.
class SimulatedPrimary {
 public:
  explicit SimulatedPrimary(test::FakePostgresNode& pg) {
    pg.on_query([this](const std::string& sql) { return answer(sql); });
  }

  std::string in_force;                 // synchronous_standby_names PostgreSQL runs
  std::optional<std::string> pending;   // applied but not reloaded yet (delayed reload)
  bool delay_reloads = false;
  int64_t flush = 0x5000000;
  std::map<std::string, Standby> standbys;

  void apply(const std::optional<std::string>& value) {
    if (delay_reloads) pending = value.value_or("");
    else in_force = value.value_or("");
  }
  void finish_reload() {
    if (pending) in_force = *pending;
    pending.reset();
  }

 private:
  std::optional<Result<postgres::QueryResult, std::string>> answer(const std::string& sql) {
    postgres::QueryResult r;
    if (sql == postgres::kSyncStatusQuery) {
      for (auto& [name, s] : standbys)
        if (s.follows_primary) s.flush = flush;
      const auto parsed = ha::read_quorum_state("", 0, {}, in_force);
      bool any = false;
      for (const auto& [name, s] : standbys) {
        if (!s.streaming) continue;
        any = true;
        const std::string st = parsed.sync.count(name) ? "quorum" : "async";
        const std::string lsn = postgres::format_lsn(s.flush);
        r.rows.push_back({"on", in_force, postgres::format_lsn(flush), "150000", "1" + std::to_string(name.size()),
                          name, "streaming", st, lsn, lsn, lsn});
      }
      if (!any)
        r.rows.push_back({"on", in_force, postgres::format_lsn(flush), "150000", std::nullopt, std::nullopt,
                          std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt});
      return r;
    }
    if (sql == postgres::kSynchronousStandbyNamesQuery) {
      r.rows.push_back({in_force});
      return r;
    }
    if (sql == postgres::kFlushLsnQuery) {
      r.rows.push_back({postgres::format_lsn(flush)});
      return r;
    }
    if (sql == postgres::kTinyWalWriteQuery) {
      flush += 100;
      return r;
    }
    return std::nullopt;
  }
};

struct Fixture {
  test::SimClock clock;
  test::InMemoryStore store{clock};
  test::InMemoryDcs dcs{store, "p"};
  test::FakePostgresNode pg;
  SimulatedPrimary primary{pg};
  SyncReplication sync;
  ha::HaSettings settings;
  double now = 1000;
  // Every (/sync, value in force) seen after a write.
  std::vector<std::pair<json, std::string>> seen;

  Fixture() {
    settings.synchronous_mode = true;
    settings.quorum_commit = true;
    settings.loop_wait = 1;
    store.put("leader", "p");
    store.put("members/p", R"({"role":"master","state":"running","api_url":"http://p/patroni","conn_url":"postgres://p/"})");
    for (const char* n : {"a", "b"}) add_member(n);
  }
  void add_member(const std::string& n) {
    store.put("members/" + n, R"({"role":"replica","state":"running","api_url":"http://)" + n +
                                  R"(/patroni","conn_url":"postgres://)" + n + "/\"}");
    primary.standbys[n] = Standby{};
  }
  json sync_key() {
    auto v = store.get("sync");
    return v ? json::parse(*v) : json::object();
  }
  ha::QuorumState state() {
    json s = sync_key();
    std::vector<std::string> voters;
    if (s.contains("sync_standby") && s["sync_standby"].is_string())
      for (const auto& n : split(s["sync_standby"].get<std::string>())) voters.push_back(n);
    return ha::read_quorum_state(s.value("leader", ""), s.value("quorum", 0), voters, primary.in_force);
  }
  static std::vector<std::string> split(const std::string& v) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : v) {
      if (c == ',') {
        out.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
  }
  void cycle() {
    auto cluster = dcs.get_cluster();
    ASSERT_TRUE(cluster);
    sync.manage(dcs, *cluster, settings, "p", pg, [this](const std::optional<std::string>& v) { primary.apply(v); },
                now);
    now += 2;  // past loop_wait: no longer settling
    const auto st = state();
    EXPECT_FALSE(ha::quorum_violation(st)) << sync_key().dump() << " with '" << primary.in_force << "'";
  }
};

TEST(QuorumReplication, ConvergesToAnyOneOfBothAndAdoptsWhatRuns) {
  Fixture f;
  f.primary.in_force = "";
  for (int i = 0; i < 6; ++i) f.cycle();
  EXPECT_EQ(f.primary.in_force, "ANY 1 (a,b)");
  EXPECT_EQ(f.sync_key(), json::parse(R"({"leader":"p","quorum":1,"sync_standby":"a,b"})"));
  // A restarted agent adopts the running value and applies it (later rewrites keep it).
  SyncReplication fresh;
  std::optional<std::string> applied;
  auto cluster = f.dcs.get_cluster();
  fresh.manage(f.dcs, *cluster, f.settings, "p", f.pg, [&](const std::optional<std::string>& v) { applied = v; },
               f.now);
  EXPECT_EQ(applied, std::optional<std::string>("ANY 1 (a,b)"));
}

// The reviewer's case: b lags (it never catches up), c drops out. While the new value waits for
// a late reload, and after it came in force silently, b must never become the only voter with
// quorum 0 (it would win alone without the commits only c acknowledged).
TEST(QuorumReplication, ALateReloadNeverConfirmsALaggingStandby) {
  Fixture f;
  f.add_member("c");
  f.primary.standbys.erase("a");
  f.store.erase("members/a");
  for (int i = 0; i < 6; ++i) f.cycle();
  ASSERT_EQ(f.sync_key().value("sync_standby", ""), "b,c");
  // b stops catching up; commits go on, acknowledged by c (ANY 1); then c goes away.
  f.primary.standbys["b"].follows_primary = false;
  f.primary.flush += 5000;
  f.primary.standbys["c"].flush = f.primary.flush;
  f.primary.standbys["c"].follows_primary = false;
  f.primary.standbys["c"].streaming = false;
  f.primary.delay_reloads = true;
  for (int i = 0; i < 4; ++i) {
    f.cycle();
    f.primary.finish_reload();  // the reload lands after the agent gave up waiting
  }
  for (int i = 0; i < 4; ++i) f.cycle();
  const json s = f.sync_key();
  EXPECT_FALSE(s.value("sync_standby", "") == "b" && s.value("quorum", -1) == 0)
      << "a lagging standby became the only voter with quorum 0: " << s.dump();
  // Once b catches up it is confirmed and the state settles.
  f.primary.delay_reloads = false;
  f.primary.standbys["b"].follows_primary = true;
  for (int i = 0; i < 4; ++i) f.cycle();
  EXPECT_EQ(f.sync_key(), json::parse(R"({"leader":"p","quorum":0,"sync_standby":"b"})"));
  EXPECT_EQ(f.primary.in_force, "ANY 1 (b)");
}

}  // namespace
}  // namespace custos::agent
