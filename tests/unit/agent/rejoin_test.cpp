// rejoin_new_leader: the one-pass rejoin of a former primary after a graceful demote, against the
// in-memory DCS and the fake PostgreSQL: it follows the new leader, rewinds only after the
// leader's post-promote checkpoint, waits for its slot, and starts without an upstream when no
// leader shows up in time.
#include "agent/rejoin.h"

#include <gtest/gtest.h>

#include "fake_postgres_node.h"
#include "in_memory_dcs.h"
#include "sim_clock.h"

namespace custos::test {
namespace {

using nlohmann::json;

struct Rejoin {
  Rejoin() {
    pg.make_primary();
    pg.stop(postgres::StopMode::Fast, std::chrono::seconds(1));
    request.my_name = "node1";
    request.can_rewind = true;
    request.wait = std::chrono::seconds(10);
    request.ready_wait = std::chrono::seconds(1);
  }
  // node2 holds the lock; `member` is its member key.
  void leader(const json& member) {
    store.put("members/node2", member.dump());
    store.put("leader", "node2");
  }
  agent::RejoinOutcome run() { return agent::rejoin_new_leader(request, pg, dcs, clock, CancelToken()); }

  SimClock clock;
  InMemoryStore store{clock};
  InMemoryDcs dcs{store, "node1"};
  FakePostgresNode pg;
  agent::RejoinRequest request;
};

const json kPromoted = {{"conn_url", "postgres://10.0.0.2:5432/postgres"},
                        {"api_url", "http://10.0.0.2:8008/patroni"},
                        {"role", "master"},
                        {"state", "running"},
                        {"version", "3.3.1"}};

TEST(Rejoin, FollowsTheNewLeaderWhenNoRewindIsNeeded) {
  Rejoin r;
  r.leader(kPromoted);
  r.pg.set_diverge_verdict(postgres::DivergeVerdict::not_needed);
  auto out = r.run();
  EXPECT_EQ(out.error, "");
  EXPECT_TRUE(out.started);
  EXPECT_EQ(out.leader, std::optional<std::string>("node2"));
  EXPECT_EQ(out.rewind, std::optional<ha::RewindState>(ha::RewindState::not_needed));
  EXPECT_FALSE(r.pg.called("rewind"));
  ASSERT_TRUE(r.pg.server().upstream);
  EXPECT_EQ(r.pg.server().upstream->host, "10.0.0.2");
  EXPECT_TRUE(r.pg.server().in_recovery);
}

TEST(Rejoin, RewindsOnlyAfterTheLeadersCheckpoint) {
  Rejoin r;
  json pending = kPromoted;
  pending["checkpoint_after_promote"] = false;
  r.leader(pending);
  r.pg.set_diverge_verdict(postgres::DivergeVerdict::need_rewind);
  r.request.wait = std::chrono::seconds(2);
  auto out = r.run();
  // The checkpoint never came within the wait: no rewind, the loop does it later.
  EXPECT_FALSE(r.pg.called("rewind"));
  EXPECT_FALSE(out.started);
  EXPECT_EQ(out.rewind, std::optional<ha::RewindState>(ha::RewindState::need));
  Rejoin s;
  s.leader(kPromoted);
  s.pg.set_diverge_verdict(postgres::DivergeVerdict::need_rewind);
  out = s.run();
  EXPECT_TRUE(s.pg.called("rewind(node2)"));
  EXPECT_TRUE(out.started);
  EXPECT_EQ(out.rewind, std::optional<ha::RewindState>(ha::RewindState::success));
}

TEST(Rejoin, WaitsForTheSlotBeforeStarting) {
  Rejoin r;
  r.leader(kPromoted);
  r.request.slot = "node1";
  r.pg.set_diverge_verdict(postgres::DivergeVerdict::not_needed);
  auto out = r.run();
  EXPECT_TRUE(out.started);
  const auto calls = r.pg.calls();
  auto slot = std::find(calls.begin(), calls.end(), "upstream_has_slot(node2)");
  auto start = std::find(calls.begin(), calls.end(), "start(replica)");
  ASSERT_NE(slot, calls.end());
  ASSERT_NE(start, calls.end());
  EXPECT_LT(slot - calls.begin(), start - calls.begin());
}

TEST(Rejoin, WithoutANewLeaderStartsWithoutAnUpstream) {
  Rejoin r;
  r.request.wait = std::chrono::seconds(3);
  const MonoTime before = r.clock.now();
  auto out = r.run();
  EXPECT_TRUE(out.started);
  EXPECT_FALSE(out.leader);
  EXPECT_FALSE(out.rewind);  // not settled: the loop checks later
  EXPECT_FALSE(r.pg.server().upstream);
  EXPECT_GE(r.clock.now() - before, std::chrono::seconds(3));
}

TEST(Rejoin, ACancelledRejoinStartsNothing) {
  Rejoin r;
  r.leader(kPromoted);
  CancelToken cancel;
  cancel.cancel();
  auto out = agent::rejoin_new_leader(r.request, r.pg, r.dcs, r.clock, cancel);
  EXPECT_FALSE(out.started);
  EXPECT_FALSE(r.pg.server().running);
}

}  // namespace
}  // namespace custos::test
