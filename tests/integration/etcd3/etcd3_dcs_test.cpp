// Etcd3Dcs against a real etcd: locking, expiry, CAS, watch latency, garbage values, ...
#include <signal.h>

#include <barrier>
#include <sstream>
#include <thread>

#include "dcs/parse_hook.h"
#include "etcd3_test_util.h"
#include "net/http_client.h"

namespace custos::test {
namespace {

using dcs::LeaderRefresh;
using dcs::WatchOutcome;
using nlohmann::json;

// One etcd for the whole binary run of this suite; every test uses its own scope.
class Etcd3Dcs_ : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new EtcdServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  DcsParams params(const std::string& name, const std::string& scope) {
    DcsParams p;
    p.hosts = {server_->host_port()};
    p.scope = scope;
    p.name = name;
    return p;
  }
  // Raw value of a key relative to the dcs' client path, nullopt when absent.
  static std::optional<std::string> raw(Etcd3Dcs& d, const std::string& rel) {
    auto r = d.client().range(d.settings().client_path() + rel, std::nullopt, false, d.client().deadline_from_now());
    if (!r) throw std::runtime_error(r.error().message);
    if (r->kvs.empty()) return std::nullopt;
    return r->kvs[0].value;
  }
  static std::optional<dcs::etcd3::KeyValue> raw_kv(Etcd3Dcs& d, const std::string& rel) {
    auto r = d.client().range(d.settings().client_path() + rel, std::nullopt, false, d.client().deadline_from_now());
    if (!r) throw std::runtime_error(r.error().message);
    if (r->kvs.empty()) return std::nullopt;
    return r->kvs[0];
  }
  static EtcdServer* server_;
};
EtcdServer* Etcd3Dcs_::server_ = nullptr;

// True once `pred` holds, polled every 5 ms for at most `timeout`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5000ms) {
  auto t0 = Clock::now();
  while (!pred()) {
    if (Clock::now() - t0 > timeout) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// True once `d`'s own view (get_cluster(), from its watch cache) shows the leader key at
// `version` (nullopt: no leader).
bool cache_shows_leader(Etcd3Dcs& d, std::optional<dcs::Version> version) {
  return eventually([&] {
    auto c = d.get_cluster();
    if (!c) return false;
    std::optional<dcs::Version> v;
    if (c->leader()) v = c->leader()->version;
    return v == version;
  });
}

// d.watch(version, timeout) with `during` run by another thread once the watch has started
// (200 ms after the call, since a watch in progress cannot be observed from outside).
template <class F>
WatchOutcome watch_while(Etcd3Dcs& d, std::optional<dcs::Version> version, std::chrono::milliseconds timeout,
                         F during) {
  std::thread t([&] {
    std::this_thread::sleep_for(200ms);
    during();
  });
  WatchOutcome out = d.watch(version, timeout);
  t.join();
  return out;
}

TEST_F(Etcd3Dcs_, TwoClientsRaceForTheLockExactlyOneWins) {
  for (int round = 0; round < 6; ++round) {
    const std::string scope = unique_scope("race");
    auto a = make_dcs(params("a", scope));
    auto b = make_dcs(params("b", scope));
    ASSERT_TRUE(a->refresh_lease());
    ASSERT_TRUE(b->refresh_lease());
    std::barrier sync(2);
    std::optional<dcs::DcsStatus> ra, rb;
    std::thread ta([&] { sync.arrive_and_wait(); ra = a->attempt_to_acquire_leader(); });
    std::thread tb([&] { sync.arrive_and_wait(); rb = b->attempt_to_acquire_leader(); });
    ta.join();
    tb.join();
    ASSERT_NE(ra->ok(), rb->ok()) << "round " << round;
    auto& loser = ra->ok() ? *rb : *ra;
    EXPECT_TRUE(loser.error().is(DcsErrorKind::kLockOwnedByOther)) << loser.error().describe();
    const std::string winner = ra->ok() ? "a" : "b";
    EXPECT_EQ(leader_name(*a), winner);
    auto kv = raw_kv(*a, "leader");
    ASSERT_TRUE(kv);
    EXPECT_EQ(kv->lease, ra->ok() ? *a->lease_id() : *b->lease_id());
    // A second attempt by the winner (e.g. a retried request) is not "lost".
    EXPECT_TRUE((ra->ok() ? a : b)->attempt_to_acquire_leader());
    ASSERT_TRUE(a->delete_cluster());
  }
}

TEST_F(Etcd3Dcs_, LockOfADestroyedHolderExpiresWithinTtl) {
  const std::string scope = unique_scope("expire");
  auto pa = params("a", scope);
  pa.ttl = 3;
  auto a = make_dcs(pa);
  auto b = make_dcs(params("b", scope));
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  ASSERT_TRUE(a->get_cluster());
  ASSERT_TRUE(a->update_leader(LeaderRefresh{}));  // last keepalive
  auto last_refresh = Clock::now();
  a.reset();  // dies without releasing anything
  EXPECT_EQ(leader_name(*b), "a");
  double gone_after = -1;
  while (ms_since(last_refresh) < 10000) {
    if (leader_name(*b).empty()) {
      gone_after = ms_since(last_refresh);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  std::printf("[ measure  ] lock gone %.0f ms after the holder's last refresh (ttl 3 s)\n", gone_after);
  ASSERT_GE(gone_after, 0) << "lock never expired";
  EXPECT_LE(gone_after, 3000 + 1000);
  EXPECT_GE(gone_after, 1500);  // not before the TTL (etcd's minimum lease TTL is ~2 s)
  EXPECT_TRUE(b->attempt_to_acquire_leader());
}

TEST_F(Etcd3Dcs_, LockOfAKilledHolderProcessExpiresWithinTtl) {
  const std::string scope = unique_scope("kill");
  SpawnOptions o;
  o.argv = {"/proc/self/exe", "--hold-lock", server_->host_port(), scope, "holder", "3"};
  // /proc/self/exe of the child is resolved by exec in the child: it is this test binary.
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  self[n] = '\0';
  o.argv[0] = self;
  ChildProcess holder(o);
  auto b = make_dcs(params("b", scope));
  auto start = Clock::now();
  while (leader_name(*b) != "holder" && ms_since(start) < 15000) std::this_thread::sleep_for(50ms);
  ASSERT_EQ(leader_name(*b), "holder");
  std::this_thread::sleep_for(1200ms);  // the holder keeps refreshing (every 500 ms)
  holder.kill();                        // SIGKILL: no chance to release
  auto killed = Clock::now();
  double gone_after = -1;
  while (ms_since(killed) < 10000) {
    if (leader_name(*b).empty()) {
      gone_after = ms_since(killed);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  std::printf("[ measure  ] lock gone %.0f ms after SIGKILL of the holder (ttl 3 s)\n", gone_after);
  ASSERT_GE(gone_after, 0);
  EXPECT_LE(gone_after, 3000 + 1000);
}

TEST_F(Etcd3Dcs_, StaleCasIsRefused) {
  const std::string scope = unique_scope("cas");
  auto a = make_dcs(params("a", scope));
  struct Op {
    const char* key;
    std::function<dcs::DcsResult<dcs::Version>(const std::string&, std::optional<dcs::Version>)> set;
  };
  std::vector<Op> ops = {
      {"config", [&](auto& v, auto ver) { return a->set_config_value(v, ver); }},
      {"failover", [&](auto& v, auto ver) { return a->set_failover_value(v, ver); }},
      {"sync", [&](auto& v, auto ver) { return a->set_sync_state_value(v, ver); }},
  };
  for (auto& op : ops) {
    auto v1 = op.set("{\"v\":1}", std::nullopt);
    ASSERT_TRUE(v1) << op.key;
    auto kv = raw_kv(*a, op.key);
    ASSERT_TRUE(kv);
    EXPECT_EQ(kv->mod_revision, v1.value()) << "returned version is the key's mod_revision";
    auto v2 = op.set("{\"v\":2}", v1.value());
    ASSERT_TRUE(v2) << op.key;
    EXPECT_GT(v2.value(), v1.value());
    auto stale = op.set("{\"v\":3}", v1.value());
    ASSERT_FALSE(stale) << op.key;
    EXPECT_TRUE(stale.error().is(DcsErrorKind::kCasConflict)) << stale.error().describe();
    EXPECT_EQ(raw(*a, op.key), "{\"v\":2}");
    // The returned version allows a second CAS in the same cycle.
    EXPECT_TRUE(op.set("{\"v\":4}", v2.value()));
  }
  auto sync_kv = raw_kv(*a, "sync");
  auto bad = a->delete_sync_state(sync_kv->mod_revision - 1);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().is(DcsErrorKind::kCasConflict));
  EXPECT_TRUE(raw(*a, "sync"));
  EXPECT_TRUE(a->delete_sync_state(sync_kv->mod_revision));
  EXPECT_FALSE(raw(*a, "sync"));
}

// "At once" against the watch's 5 s timeout: 1 s bounds (latencies printed as [ measure ]).
TEST_F(Etcd3Dcs_, WatcherWakesAtOnceOnLeaderDeletion) {
  const std::string scope = unique_scope("watch");
  auto a = make_dcs(params("a", scope));
  auto b = make_dcs(params("b", scope));
  ASSERT_TRUE(b->wait_watch_ready(5000ms));
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  std::vector<double> latencies;
  for (int round = 0; round < 5; ++round) {
    if (round > 0) {
      ASSERT_TRUE(a->attempt_to_acquire_leader());
    }
    auto c = b->get_cluster_fresh();  // a's write, read at once from etcd (not b's watch cache)
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->leader());
    // b's watch cache has it too (else watch() would return at once: the versions differ).
    ASSERT_TRUE(cache_shows_leader(*b, c->leader()->version));
    std::atomic<bool> watching{false};
    Clock::time_point woke;
    WatchOutcome outcome{};
    std::thread t([&] {
      watching = true;
      outcome = b->watch(c->leader()->version, 10000ms);
      woke = Clock::now();
    });
    while (!watching) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(100ms);
    auto before = Clock::now();
    ASSERT_TRUE(a->delete_leader(std::nullopt));
    auto after = Clock::now();
    t.join();
    EXPECT_EQ(outcome, WatchOutcome::kChanged);
    double from_reply = std::chrono::duration<double, std::milli>(woke - after).count();
    double from_request = std::chrono::duration<double, std::milli>(woke - before).count();
    latencies.push_back(from_request);
    std::printf("[ measure  ] watch woke %.1f ms after delete_leader returned (%.1f ms after it was sent)\n",
                from_reply, from_request);
    EXPECT_LE(from_request, 1000.0);
  }
  // wakeup() ends a watch at once.
  auto t0 = Clock::now();
  std::thread w([&] {
    std::this_thread::sleep_for(50ms);
    b->wakeup();
  });
  EXPECT_EQ(b->watch(std::nullopt, 5000ms), WatchOutcome::kWokenUp);
  w.join();
  EXPECT_LE(ms_since(t0), 50 + 1000);
  // A config change during the wait wakes the watcher too (one before the call does not:
  // watch() compares only the leader key with the caller's view).
  ASSERT_TRUE(a->set_config_value("{\"ttl\":5}", std::nullopt));
  EXPECT_EQ(watch_while(*b, std::nullopt, 2000ms, [&] { ASSERT_TRUE(a->set_config_value("{\"ttl\":6}", std::nullopt)); }),
            WatchOutcome::kChanged);
  // Timeout when nothing happens.
  t0 = Clock::now();
  EXPECT_EQ(b->watch(std::nullopt, 300ms), WatchOutcome::kTimeout);
  EXPECT_GE(ms_since(t0), 290);
}

// watch() compares the caller's leader version with b's watch cache: a change the caller has
// not seen ends it at once, however often it is asked and whatever was reported before; a
// change it has seen does not.
TEST_F(Etcd3Dcs_, WatchHonoursTheCallersLeaderVersion) {
  const std::string scope = unique_scope("watchversion");
  auto pa = params("a", scope);
  pa.ttl = 30;  // a's lock must not expire during the test: that would be a change
  auto a = make_dcs(pa);
  auto b = make_dcs(params("b", scope));
  ASSERT_TRUE(b->wait_watch_ready(5000ms));
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  auto first = raw_kv(*a, "leader");
  ASSERT_TRUE(first);
  ASSERT_TRUE(cache_shows_leader(*b, first->mod_revision));
  auto view = b->get_cluster();  // the HA cycle's read
  ASSERT_TRUE(view && view->leader());
  const dcs::Version seen = view->leader()->version;
  ASSERT_EQ(seen, first->mod_revision);

  // (a) Another client writes the leader key after our read: stale version -> kChanged at once,
  // also when asked again (the first answer must not use the change up).
  ASSERT_TRUE(a->delete_leader(std::nullopt));
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  auto second = raw_kv(*a, "leader");
  ASSERT_TRUE(second);
  ASSERT_NE(second->mod_revision, seen);
  ASSERT_TRUE(cache_shows_leader(*b, second->mod_revision));
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    auto t0 = Clock::now();
    EXPECT_EQ(b->watch(seen, 10000ms), WatchOutcome::kChanged);
    EXPECT_LT(ms_since(t0), 2000);
  }
  // A wake-up that came together with the change is reported first; the change still is next.
  b->wakeup();
  EXPECT_EQ(b->watch(seen, 10000ms), WatchOutcome::kWokenUp);
  auto t0 = Clock::now();
  EXPECT_EQ(b->watch(seen, 10000ms), WatchOutcome::kChanged);
  EXPECT_LT(ms_since(t0), 2000);

  // (e) nullopt ("no leader seen") while there is one -> kChanged at once.
  t0 = Clock::now();
  EXPECT_EQ(b->watch(std::nullopt, 10000ms), WatchOutcome::kChanged);
  EXPECT_LT(ms_since(t0), 2000);

  // (b) The current version and nothing changing -> kTimeout after the timeout (+ the 500 ms a
  // non-leader gets): the changes already seen do not end it.
  t0 = Clock::now();
  EXPECT_EQ(b->watch(second->mod_revision, 1000ms), WatchOutcome::kTimeout);
  EXPECT_GE(ms_since(t0), 1000 + 500 - 10);
  EXPECT_LT(ms_since(t0), 1000 + 500 + 1000);

  // (c) The leader key changes during the wait -> kChanged, soon after the change.
  Clock::time_point changed;
  t0 = Clock::now();
  EXPECT_EQ(watch_while(*b, second->mod_revision, 10000ms,
                        [&] {
                          changed = Clock::now();
                          ASSERT_TRUE(a->delete_leader(std::nullopt));
                        }),
            WatchOutcome::kChanged);
  EXPECT_LT(ms_since(changed), 1000);
  EXPECT_GE(ms_since(t0), 200 - 10) << "returned before the change";

  // No leader, and the caller saw none: a new leader during the wait ends it.
  ASSERT_TRUE(cache_shows_leader(*b, std::nullopt));
  EXPECT_EQ(watch_while(*b, std::nullopt, 10000ms, [&] { ASSERT_TRUE(a->attempt_to_acquire_leader()); }),
            WatchOutcome::kChanged);
}

// (d) wakeup() is sticky: one that arrives while nobody watches makes the next watch() return
// kWokenUp at once, and only that one (several wakeups are reported once).
TEST_F(Etcd3Dcs_, WakeupBeforeWatchIsNotLost) {
  const std::string scope = unique_scope("wakeup");
  auto pa = params("a", scope);
  pa.ttl = 30;  // a's lock must not expire during the test: that would be a change
  auto a = make_dcs(pa);
  auto b = make_dcs(params("b", scope));
  ASSERT_TRUE(b->wait_watch_ready(5000ms));
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  auto kv = raw_kv(*a, "leader");
  ASSERT_TRUE(kv);
  ASSERT_TRUE(cache_shows_leader(*b, kv->mod_revision));
  b->wakeup();
  b->wakeup();
  auto t0 = Clock::now();
  EXPECT_EQ(b->watch(kv->mod_revision, 10000ms), WatchOutcome::kWokenUp);
  EXPECT_LT(ms_since(t0), 2000);
  t0 = Clock::now();
  EXPECT_EQ(b->watch(kv->mod_revision, 300ms), WatchOutcome::kTimeout);
  EXPECT_GE(ms_since(t0), 300 - 10);
  // A wakeup() during the wait ends it too.
  EXPECT_EQ(watch_while(*b, kv->mod_revision, 10000ms, [&] { b->wakeup(); }), WatchOutcome::kWokenUp);
}

// The lock holder is told when another member's key appears (it then creates that member's slot
// at once), not when one is merely refreshed, and never for its own key.
TEST_F(Etcd3Dcs_, AMemberThatJoinsCallsTheWakeListener) {
  const std::string scope = unique_scope("joins");
  auto a = make_dcs(params("a", scope));
  std::atomic<int> joins{0};
  a->set_wake_listener([&] { ++joins; });
  ASSERT_TRUE(a->wait_watch_ready(5000ms));
  ASSERT_TRUE(a->touch_member(json{{"state", "running"}}));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(joins.load(), 0) << "our own member key is not a join";
  auto b = make_dcs(params("b", scope));
  ASSERT_TRUE(b->touch_member(json{{"state", "running"}}));
  for (int i = 0; i < 50 && joins.load() == 0; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(joins.load(), 1);
  ASSERT_TRUE(b->touch_member(json{{"state", "running"}, {"xlog_location", 5}}));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(joins.load(), 1) << "a refresh of an existing member key is not a join";
  a->set_wake_listener(nullptr);
}

// The other keys the HA loop reacts to: status/optime while another member holds the lock
// (not while we do), and the TTL change that makes the next watch return at once.
TEST_F(Etcd3Dcs_, WatchWakesForStatusOfAnotherLeaderAndAfterATtlChange) {
  const std::string scope = unique_scope("watchstatus");
  auto pa = params("a", scope);
  pa.ttl = 30;  // a's lock must not expire during the test: that would be a change
  auto a = make_dcs(pa);
  auto b = make_dcs(params("b", scope));
  ASSERT_TRUE(a->wait_watch_ready(5000ms));
  ASSERT_TRUE(b->wait_watch_ready(5000ms));
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  auto kv = raw_kv(*a, "leader");
  ASSERT_TRUE(kv);
  ASSERT_TRUE(cache_shows_leader(*b, kv->mod_revision));
  ASSERT_TRUE(cache_shows_leader(*a, kv->mod_revision));
  int64_t lsn = 100;
  EXPECT_EQ(watch_while(*b, kv->mod_revision, 10000ms, [&] { ASSERT_TRUE(a->write_status(json{{"optime", ++lsn}})); }),
            WatchOutcome::kChanged);
  // The lock holder is not woken by status (its own or anybody's).
  auto t0 = Clock::now();
  EXPECT_EQ(watch_while(*a, kv->mod_revision, 700ms,
                        [&] {
                          auto& cl = b->client();
                          ASSERT_TRUE(cl.put(b->settings().client_path() + "status", json{{"optime", ++lsn}}.dump(), {},
                                             cl.deadline_from_now()));
                        }),
            WatchOutcome::kTimeout);
  EXPECT_GE(ms_since(t0), 700 - 10);

  auto timing = b->timing();
  timing.ttl += 1;
  b->set_timing(timing);
  t0 = Clock::now();
  EXPECT_EQ(b->watch(kv->mod_revision, 10000ms), WatchOutcome::kChanged);
  EXPECT_LT(ms_since(t0), 2000);
}

// Without a watch cache (ctl mode: no watcher) watch() is a timed wait that wakeup() ends.
TEST_F(Etcd3Dcs_, WatchWithoutACacheIsATimedWait) {
  const std::string scope = unique_scope("watchctl");
  auto a = make_dcs(params("a", scope));
  auto p = params("ctl", scope);
  auto config = patroni_config(p);
  config["patronictl"] = true;
  auto made = Etcd3Dcs::from_config(config);
  ASSERT_TRUE(made) << made.error();
  auto& ctl = *made.value();
  ASSERT_FALSE(ctl.wait_watch_ready(200ms));
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  // Nothing to compare the (stale) version with: it waits.
  auto t0 = Clock::now();
  EXPECT_EQ(ctl.watch(std::nullopt, 300ms), WatchOutcome::kTimeout);
  EXPECT_GE(ms_since(t0), 300 - 10);
  EXPECT_EQ(watch_while(ctl, std::nullopt, 10000ms, [&] { ctl.wakeup(); }), WatchOutcome::kWokenUp);
}

// A key whose parsing throws fails the read with kMalformedReply naming the key (never a view
// without it: no `leader` would look like a free lock), and stats() counts it. The throw is
// injected (dcs/parse_hook.h): no value makes a parser throw.
void throw_on_leader(std::string_view key) {
  if (key == "leader") throw std::runtime_error("injected");
}

TEST_F(Etcd3Dcs_, AKeyThatCannotBeParsedFailsTheReadAndIsCounted) {
  const std::string scope = unique_scope("parsefail");
  auto a = make_dcs(params("a", scope));
  auto b = make_dcs(params("b", scope));
  ASSERT_TRUE(b->wait_watch_ready(5000ms));
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  auto kv = raw_kv(*a, "leader");
  ASSERT_TRUE(kv);
  ASSERT_TRUE(cache_shows_leader(*b, kv->mod_revision));
  EXPECT_EQ(b->stats().malformed_replies, 0u);

  ASSERT_TRUE(b->get_cluster());  // parsed from the watch cache
  dcs::testing::set_parse_hook(&throw_on_leader);
  auto fresh = b->get_cluster_fresh();  // from etcd
  // The watch cache unchanged, its last parse is reused (the hook never runs) ...
  auto unchanged = b->get_cluster();
  ASSERT_TRUE(unchanged) << unchanged.error().describe();
  // ... and once a key changes, the cache is parsed again.
  ASSERT_TRUE(a->touch_member(json{{"state", "running"}}));
  auto cached = b->get_cluster();
  for (int i = 0; i < 250 && cached; ++i) {
    std::this_thread::sleep_for(20ms);
    cached = b->get_cluster();
  }
  dcs::testing::set_parse_hook(nullptr);
  for (const auto* r : {&fresh, &cached}) {
    ASSERT_FALSE(*r);
    EXPECT_TRUE(r->error().is(DcsErrorKind::kMalformedReply)) << r->error().describe();
    EXPECT_NE(r->error().message.find(b->settings().client_path() + "leader"), std::string::npos)
        << r->error().describe();
    EXPECT_NE(r->error().message.find("injected"), std::string::npos) << r->error().describe();
  }
  EXPECT_EQ(b->stats().malformed_replies, 2u);
  EXPECT_EQ(a->stats().malformed_replies, 0u);

  auto again = b->get_cluster();
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_EQ(again->leader_name(), std::string("a"));
  EXPECT_EQ(b->stats().malformed_replies, 2u);
}

// etcd refuses a request larger than it accepts (gRPC ResourceExhausted / InvalidArgument):
// a kMalformedReply from the client, counted when a call returns it, not when the backend
// logs and drops it (the status written along with a lock refresh).
TEST_F(Etcd3Dcs_, MalformedRepliesReturnedByCallsAreCounted) {
  const std::string scope = unique_scope("malformed");
  auto a = make_dcs(params("a", scope));
  const std::string huge(3u << 20, 'x');
  auto r = a->set_config_value(huge, std::nullopt);
  ASSERT_FALSE(r);
  ASSERT_TRUE(r.error().is(DcsErrorKind::kMalformedReply)) << r.error().describe();
  EXPECT_EQ(a->stats().malformed_replies, 1u);
  EXPECT_FALSE(a->set_history_value(huge));
  EXPECT_EQ(a->stats().malformed_replies, 2u);
  EXPECT_TRUE(a->set_config_value("{}", std::nullopt));  // successes and other errors do not count
  EXPECT_FALSE(a->set_config_value("{}", 1));            // kCasConflict
  EXPECT_EQ(a->stats().malformed_replies, 2u);

  ASSERT_TRUE(a->attempt_to_acquire_leader());
  ASSERT_TRUE(a->get_cluster());
  LeaderRefresh refresh;
  refresh.last_lsn = 1;
  for (int i = 0; i < 120000; ++i) refresh.slots["slot_with_a_long_enough_name_" + std::to_string(i)] = i;
  EXPECT_TRUE(a->update_leader(refresh));  // the lock is refreshed; the oversized status is dropped
  EXPECT_EQ(a->stats().malformed_replies, 2u);
  json status = {{"optime", 1}, {"slots", refresh.slots}};
  EXPECT_FALSE(a->write_status(status));
  EXPECT_EQ(a->stats().malformed_replies, 3u);
}

TEST_F(Etcd3Dcs_, UpdateLeaderAfterAnotherClientTookTheKeyIsLockOwnedByOther) {
  const std::string scope = unique_scope("took");
  auto a = make_dcs(params("a", scope));
  auto b = make_dcs(params("b", scope));
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  ASSERT_TRUE(a->get_cluster());
  ASSERT_TRUE(a->update_leader(LeaderRefresh{}));
  EXPECT_EQ(raw(*a, "leader"), "a");
  // Refresh with our lease on the key: nothing rewritten.
  auto before = raw_kv(*a, "leader");
  ASSERT_TRUE(a->update_leader(LeaderRefresh{}));
  EXPECT_EQ(raw_kv(*a, "leader")->mod_revision, before->mod_revision);

  ASSERT_TRUE(b->take_leader());
  EXPECT_EQ(raw(*a, "leader"), "b");
  EXPECT_EQ(raw_kv(*a, "leader")->lease, *b->lease_id());
  // a's view comes from its watch cache, which learns of b's write asynchronously (as
  // Patroni's does): until it has, a refresh is a lease keepalive and rightly succeeds.
  ASSERT_TRUE(eventually([&] {
    auto c = a->get_cluster();
    return c && c->leader_name() == std::optional<std::string>("b");
  }));
  auto r = a->update_leader(LeaderRefresh{});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(DcsErrorKind::kLockOwnedByOther)) << r.error().describe();
  EXPECT_EQ(raw(*a, "leader"), "b");

  // A lock re-bound to a new lease (e.g. after a TTL change) is refreshed with the VALUE txn.
  ASSERT_TRUE(b->get_cluster());
  auto t = b->timing();
  t.ttl = 7;
  b->set_timing(t);
  ASSERT_TRUE(b->update_leader(LeaderRefresh{42, {}, json{{"b", "http://b/patroni"}}, {}}));
  auto kv = raw_kv(*b, "leader");
  EXPECT_EQ(kv->value, "b");
  EXPECT_EQ(kv->lease, *b->lease_id());
  EXPECT_EQ(json::parse(*raw(*b, "status")), json({{"optime", 42}}));
  EXPECT_EQ(json::parse(*raw(*b, "failsafe")), json({{"b", "http://b/patroni"}}));
  // Unchanged status/failsafe are not written again.
  auto status_rev = raw_kv(*b, "status")->mod_revision;
  ASSERT_TRUE(b->update_leader(LeaderRefresh{42, {}, json{{"b", "http://b/patroni"}}, {}}));
  EXPECT_EQ(raw_kv(*b, "status")->mod_revision, status_rev);
  ASSERT_TRUE(b->update_leader(LeaderRefresh{43, {{"slot1", 40}}, std::nullopt, {}}));
  EXPECT_EQ(json::parse(*raw(*b, "status")), json({{"optime", 43}, {"slots", {{"slot1", 40}}}}));
  // Patroni 4 member_slots_ttl: the retained member slots.
  ASSERT_TRUE(b->update_leader(LeaderRefresh{44, {{"slot1", 40}}, std::nullopt, {"a", "b"}}));
  EXPECT_EQ(json::parse(*raw(*b, "status")),
            json({{"optime", 44}, {"slots", {{"slot1", 40}}}, {"retain_slots", {"a", "b"}}}));
  ASSERT_TRUE(b->get_cluster());
  EXPECT_EQ(b->get_cluster()->status().retain_slots, (std::vector<std::string>{"a", "b"}));
}

TEST_F(Etcd3Dcs_, UpdateLeaderReacquiresAMissingKey) {
  const std::string scope = unique_scope("reacq");
  auto a = make_dcs(params("a", scope));
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  ASSERT_TRUE(a->client().delete_range(a->settings().client_path() + "leader", std::nullopt,
                                       a->client().deadline_from_now()));
  ASSERT_TRUE(a->get_cluster_fresh());  // the view must show the key gone (read past the cache)
  EXPECT_TRUE(a->update_leader(LeaderRefresh{}));  // failure branch: CREATE == 0 -> put
  EXPECT_EQ(raw(*a, "leader"), "a");
}

// A graceful demote releases the key in the background while the HA loop, which read the key
// before, refreshes the lock: the refresh must not re-create the released key (it did, and the
// demoted node kept the lock for ever, demoting itself again and again).
TEST_F(Etcd3Dcs_, UpdateLeaderAfterOurOwnDeleteDoesNotRecreateTheKey) {
  const std::string scope = unique_scope("relsd");
  auto a = make_dcs(params("a", scope));
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  ASSERT_TRUE(a->get_cluster());
  ASSERT_TRUE(a->delete_leader(std::nullopt));
  auto r = a->update_leader(LeaderRefresh{});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(DcsErrorKind::kLockOwnedByOther));
  EXPECT_FALSE(raw(*a, "leader"));
  // A read in between (the REST API reads too) that finds the key absent changes nothing.
  ASSERT_TRUE(a->get_cluster());
  EXPECT_FALSE(a->update_leader(LeaderRefresh{}));
  EXPECT_FALSE(raw(*a, "leader"));
  // Taking the key again (the normal acquire path) makes refreshes work again.
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  EXPECT_TRUE(a->update_leader(LeaderRefresh{}));
  EXPECT_EQ(raw(*a, "leader"), "a");
}

TEST_F(Etcd3Dcs_, DeleteLeaderOnlyDeletesOurOwnKey) {
  const std::string scope = unique_scope("del");
  auto a = make_dcs(params("a", scope));
  auto b = make_dcs(params("b", scope));
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  auto r = b->delete_leader(std::nullopt);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(DcsErrorKind::kLockOwnedByOther));
  EXPECT_EQ(raw(*a, "leader"), "a");
  EXPECT_TRUE(a->delete_leader(12345));
  EXPECT_FALSE(raw(*a, "leader"));
  EXPECT_EQ(json::parse(*raw(*a, "status")), json({{"optime", 12345}}));
  EXPECT_TRUE(a->delete_leader(std::nullopt));  // nothing to delete: fine
}

TEST_F(Etcd3Dcs_, InitializeRaceCancelAndDeleteCluster) {
  const std::string scope = unique_scope("init");
  auto a = make_dcs(params("a", scope));
  auto b = make_dcs(params("b", scope));
  ASSERT_TRUE(a->initialize(true, ""));
  auto second = b->initialize(true, "");
  ASSERT_FALSE(second);
  EXPECT_TRUE(second.error().is(DcsErrorKind::kCasConflict));
  ASSERT_TRUE(a->initialize(false, "7000000000000000001"));
  auto c = b->get_cluster_fresh();  // another client's write: read past b's watch cache
  ASSERT_TRUE(c);
  EXPECT_EQ(c->initialize(), "7000000000000000001");
  ASSERT_TRUE(a->cancel_initialization());
  EXPECT_FALSE(b->get_cluster_fresh()->initialize());
  EXPECT_TRUE(b->initialize(true, ""));

  // delete_cluster removes every key of this cluster, and nothing else.
  auto other = make_dcs(params("x", unique_scope("other")));
  ASSERT_TRUE(other->set_config_value("{}", std::nullopt));
  ASSERT_TRUE(a->touch_member(json{{"state", "running"}}));
  ASSERT_TRUE(a->set_history_value("[]"));
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  ASSERT_TRUE(b->delete_cluster());
  auto after = a->get_cluster_fresh();
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->is_empty());
  EXPECT_TRUE(raw(*other, "config"));
}

TEST_F(Etcd3Dcs_, TouchMemberWritesWithLeaseAndSkipsUnchanged) {
  const std::string scope = unique_scope("member");
  auto a = make_dcs(params("a", scope));
  json data = {{"conn_url", "postgres://127.0.0.1:5432/postgres"}, {"api_url", "http://127.0.0.1:8008/patroni"},
               {"state", "running"}, {"role", "replica"}, {"version", "3.3.1"}};
  ASSERT_TRUE(a->touch_member(data));
  auto kv = raw_kv(*a, "members/a");
  ASSERT_TRUE(kv);
  EXPECT_EQ(kv->value, data.dump());
  EXPECT_EQ(kv->lease, *a->lease_id());
  auto c = a->get_cluster();
  ASSERT_TRUE(c);
  ASSERT_EQ(c->members().size(), 1u);
  EXPECT_EQ(c->members()[0].name(), "a");
  EXPECT_EQ(c->members()[0].session, a->lease_id());
  ASSERT_TRUE(a->touch_member(data));
  EXPECT_EQ(raw_kv(*a, "members/a")->mod_revision, kv->mod_revision) << "unchanged data is not rewritten";
  data["state"] = "stopped";
  ASSERT_TRUE(a->touch_member(data));
  EXPECT_GT(raw_kv(*a, "members/a")->mod_revision, kv->mod_revision);

  // Our lease revoked behind our back: a new one is granted and the key re-bound.
  auto old_lease = *a->lease_id();
  ASSERT_TRUE(a->client().lease_revoke(old_lease, a->client().deadline_from_now()));
  data["state"] = "running";
  ASSERT_TRUE(a->touch_member(data));
  EXPECT_NE(*a->lease_id(), old_lease);
  EXPECT_EQ(raw_kv(*a, "members/a")->lease, *a->lease_id());
}

// A node without the lock keeps its lease alive only as often as its member key needs: once the
// lease is older than ttl - loop_wait - retry_timeout (8 - 1 - 3 = 4 s here), not every cycle;
// taking or refreshing the lock always starts from a fresh lease.
TEST_F(Etcd3Dcs_, AReplicaRefreshesItsLeaseOnlyAsOftenAsItsMemberKeyNeeds) {
  const std::string scope = unique_scope("lease-age");
  DcsParams p = params("a", scope);
  p.ttl = 8;
  p.loop_wait = 1;
  p.retry_timeout = 3;
  auto a = make_dcs(p);
  json data = {{"conn_url", "postgres://127.0.0.1:5432/postgres"}, {"api_url", "http://127.0.0.1:8008/patroni"},
               {"state", "running"}, {"role", "replica"}};
  ASSERT_TRUE(a->touch_member(data));
  const auto granted = a->lease_info();
  ASSERT_TRUE(granted);
  // Cycles of a replica (each touches its member key) past loop_wait: no keepalive.
  for (int cycle = 0; cycle < 2; ++cycle) {
    std::this_thread::sleep_for(1200ms);
    data["xlog_location"] = 1000 + cycle;  // a changed value is written, on the same lease
    ASSERT_TRUE(a->touch_member(data));
    EXPECT_EQ(a->lease_info()->refreshed_at, granted->refreshed_at) << "keepalive after " << (cycle + 1) << " cycles";
    EXPECT_EQ(raw_kv(*a, "members/a")->lease, *a->lease_id());
  }
  // Older than 4 s: the next touch refreshes it, and the key has stayed all along.
  std::this_thread::sleep_for(1700ms);
  ASSERT_TRUE(a->touch_member(data));
  const auto refreshed = a->lease_info();
  EXPECT_GT(refreshed->refreshed_at, granted->refreshed_at);
  EXPECT_TRUE(raw_kv(*a, "members/a"));
  // Taking the lock with a lease older than loop_wait refreshes it first.
  std::this_thread::sleep_for(1200ms);
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  EXPECT_GT(a->lease_info()->refreshed_at, refreshed->refreshed_at);
  // The lock holder's refresh is a keepalive every time.
  const auto before = a->lease_info()->refreshed_at;
  ASSERT_TRUE(a->update_leader(LeaderRefresh{}));
  EXPECT_GT(a->lease_info()->refreshed_at, before);
}

TEST_F(Etcd3Dcs_, GarbageWrittenByOthersIsReadWithoutACrash) {
  const std::string scope = unique_scope("garbage");
  auto a = make_dcs(params("a", scope));
  auto& cl = a->client();
  const std::string base = a->settings().client_path();
  const std::string huge(1u << 20, 'x');
  std::vector<std::pair<std::string, std::string>> writes = {
      {"leader", std::string("\xff\xfe\x00garbage", 10)},
      {"members/a/b", "{\"state\":\"running\"}"},
      {"members/", "{}"},
      {"members/x", std::string("\x80\x81{{{", 5)},
      {"members/y", "[1,2,3]"},
      {"members/z", "{\"state\":5,\"role\":[],\"conn_url\":{},\"version\":null,\"tags\":\"no\"}"},
      {"members/huge", "{\"state\":\"" + huge + "\"}"},
      {"config", "[1,2]"},
      {"failover", "123"},
      {"sync", "{\"leader\":5,\"sync_standby\":[1]}"},
      {"history", "{\"not\":\"a list\"}"},
      {"status", "not json"},
      {"optime/leader", "abc"},
      {"failsafe", "[]"},
      {"initialize", std::string("\x00\x01", 2)},
      {"deeply/nested/unknown/key", "?"},
  };
  for (const auto& [k, v] : writes) ASSERT_TRUE(cl.put(base + k, v, {}, cl.deadline_from_now())) << k;
  auto c = a->get_cluster();
  ASSERT_TRUE(c) << c.error().describe();
  for (const auto& m : c->members()) EXPECT_NE(m.name(), "a/b");
  // Other value types of every key.
  std::vector<std::pair<std::string, std::string>> more = {
      {"config", "{\"ttl\":\"x\",\"loop_wait\":[],\"postgresql\":5}"}, {"failover", "{\"member\":[1]}"},
      {"sync", "null"}, {"history", "[[\"a\",\"b\"],[1],null]"}, {"status", "{\"optime\":\"x\",\"slots\":\"[\"}"},
      {"leader", ""}, {"failsafe", "{\"a\":1}"}};
  for (const auto& [k, v] : more) ASSERT_TRUE(cl.put(base + k, v, {}, cl.deadline_from_now())) << k;
  EXPECT_TRUE(a->get_cluster());
  // Deep nesting in every JSON key: copying or dumping such a value recurses once per level,
  // so an unbounded parser would overflow the stack here.
  const std::string deep = "{\"a\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
  for (const char* k : {"status", "failsafe", "config", "failover", "sync", "history", "members/deep"})
    ASSERT_TRUE(cl.put(base + k, deep, {}, cl.deadline_from_now())) << k;
  // The view follows the watch: the last writes may take a moment to arrive.
  std::optional<dcs::Cluster> deep_view;
  EXPECT_TRUE(eventually([&] {
    auto v = a->get_cluster();
    if (!v) return false;
    deep_view = v.value();
    return deep_view->last_lsn() == 0 && !deep_view->failsafe().has_value();
  }));
  ASSERT_TRUE(deep_view);
  EXPECT_EQ(deep_view->last_lsn(), 0);
  EXPECT_FALSE(deep_view->failsafe().has_value());
  // And we can still work in that cluster.
  ASSERT_TRUE(a->touch_member(json{{"state", "running"}}));
  EXPECT_TRUE(a->get_cluster());
}

TEST_F(Etcd3Dcs_, ThreeEndpointsTwoDead) {
  const std::string scope = unique_scope("endpoints");
  int dead1 = free_port(), dead2 = free_port();
  for (int round = 0; round < 4; ++round) {  // the starting endpoint is random
    auto p = params("a" + std::to_string(round), scope);
    p.hosts = {"127.0.0.1:" + std::to_string(dead1), server_->host_port(), "127.0.0.1:" + std::to_string(dead2)};
    auto a = make_dcs(p);
    auto t0 = Clock::now();
    ASSERT_TRUE(a->touch_member(json{{"state", "running"}}));
    ASSERT_TRUE(a->get_cluster());
    ASSERT_TRUE(a->set_config_value("{}", std::nullopt));
    EXPECT_LE(ms_since(t0), 2000);
    EXPECT_EQ(a->client().current_endpoint(), server_->client_url());
  }
}

// A Citus coordinator reads every group in one go (its watch covers only its own group, so the
// read must not come from the watch cache); a worker reads the coordinator's group.
TEST_F(Etcd3Dcs_, ACitusCoordinatorSeesTheWorkersAndAWorkerSeesTheCoordinator) {
  auto cp = params("c1", "citus-layout");
  cp.citus_group = 0;
  auto wp = params("w1", "citus-layout");
  wp.citus_group = 1;
  auto coordinator = make_dcs(cp);
  auto worker = make_dcs(wp);
  ASSERT_TRUE(coordinator->touch_member(json{{"state", "running"}, {"role", "primary"}}));
  ASSERT_TRUE(coordinator->attempt_to_acquire_leader());
  ASSERT_TRUE(coordinator->get_cluster());  // the watch cache is filled from here on
  ASSERT_TRUE(worker->touch_member(json{{"state", "running"}, {"role", "primary"}, {"conn_url", "postgres://w1:5432/c"}}));
  ASSERT_TRUE(worker->attempt_to_acquire_leader());
  EXPECT_TRUE(eventually(
      [&] {
        auto c = coordinator->get_cluster();
        if (!c || !c->workers().count(1)) return false;
        const auto& group1 = c->workers().at(1);
        return group1.leader() && group1.leader()->name() == "w1" && group1.leader()->conn_url();
      },
      std::chrono::seconds(3)));
  auto seen = worker->get_mpp_coordinator();
  ASSERT_TRUE(seen) << seen.error().describe();
  ASSERT_TRUE(seen->leader());
  EXPECT_EQ(seen->leader()->name(), "c1");
  EXPECT_TRUE(worker->get_cluster()->workers().empty());
}

TEST_F(Etcd3Dcs_, SettingsFromPatroniConfig) {
  using dcs::etcd_common::EtcdSettings;
  auto s = EtcdSettings::from_patroni_config(
      json{{"scope", "batman"}, {"namespace", "/ns/"}, {"name", "n1"}, {"citus", {{"group", 2}}},
           {"bootstrap", {{"dcs", {{"ttl", 20}}}}},
           {"etcd3", {{"hosts", "h1:1234, h2 ,[::1]:5"}, {"protocol", "https"}, {"username", "u"}, {"password", "p"}}}});
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->endpoints, (std::vector<std::string>{"https://h1:1234", "https://h2:2379", "https://[::1]:5"}));
  EXPECT_EQ(s->base_path(), "/ns/batman/");
  EXPECT_EQ(s->client_path(), "/ns/batman/2/");
  EXPECT_EQ(s->cluster_prefix(), "/ns/batman/2/");
  EXPECT_EQ(s->timing.ttl, 20);
  auto coord = EtcdSettings::from_patroni_config(
      json{{"scope", "s"}, {"name", "n"}, {"citus", {{"group", 0}}}, {"etcd", {{"host", "localhost"}}}}, "etcd");
  ASSERT_TRUE(coord);
  EXPECT_EQ(coord->endpoints, std::vector<std::string>{"http://localhost:2379"});
  EXPECT_EQ(coord->cluster_prefix(), "/service/s/");
  auto proxy = EtcdSettings::from_patroni_config(json{{"scope", "s"}, {"name", "n"}, {"etcd3", {{"proxy", "http://p:1"}}}});
  ASSERT_TRUE(proxy);
  EXPECT_TRUE(proxy->use_proxies);
  // use_proxies with hosts: the hosts are proxies, no member discovery around them.
  auto proxies = EtcdSettings::from_patroni_config(
      json{{"scope", "s"}, {"name", "n"}, {"etcd3", {{"hosts", {"p1:1", "p2:2"}}, {"use_proxies", true}}}});
  ASSERT_TRUE(proxies);
  EXPECT_TRUE(proxies->use_proxies);
  EXPECT_EQ(proxies->endpoints, (std::vector<std::string>{"http://p1:1", "http://p2:2"}));
  EXPECT_FALSE(EtcdSettings::from_patroni_config(
                   json{{"scope", "s"}, {"name", "n"}, {"etcd3", {{"hosts", "p1:1"}, {"use_proxies", false}}}})
                   ->use_proxies);
  for (const json& bad : {json{{"scope", "s"}, {"name", "n"}, {"etcd3", {{"hosts", 5}}}},
                          json{{"scope", "s"}, {"name", "n"}, {"etcd3", {{"protocol", "ftp"}}}},
                          json{{"scope", "s"}, {"name", "n"}, {"ttl", "abc"}, {"etcd3", json::object()}},
                          json{{"scope", "s"}, {"name", "n"}, {"etcd3", {{"hosts", {"h:99999"}}}}},
                          json{{"name", "n"}, {"etcd3", json::object()}},
                          json{{"scope", "s"}, {"name", "a/b"}, {"etcd3", json::object()}},
                          json{{"scope", "s"}, {"name", "n"}, {"etcd3", {{"username", "u"}}}},
                          json{{"scope", "s"}, {"name", "n"}}}) {
    auto r = EtcdSettings::from_patroni_config(bad);
    EXPECT_FALSE(r) << bad.dump();
    if (!r) {
      EXPECT_NE(r.error().find("etcd3 configuration"), std::string::npos);
    }
  }
}

// ---- a server of its own: restarts ----------------------------------------------------------

TEST(Etcd3DcsRestart, ClientRecoversAfterEtcdRestart) {
  EtcdServer server;
  const std::string scope = unique_scope("restart");
  DcsParams p;
  p.hosts = {server.host_port()};
  p.scope = scope;
  p.name = "a";
  p.ttl = 10;
  p.retry_timeout = 2;
  auto a = make_dcs(p);
  p.name = "b";
  auto b = make_dcs(p);
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  ASSERT_TRUE(a->get_cluster());
  ASSERT_TRUE(a->touch_member(json{{"state", "running"}}));
  ASSERT_TRUE(b->wait_watch_ready(5000ms));

  server.stop();
  auto t0 = Clock::now();
  auto r = a->update_leader(LeaderRefresh{});
  double took = ms_since(t0);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(DcsErrorKind::kUnreachable)) << r.error().describe();
  EXPECT_LE(took, 2000 + 1000) << "bounded by retry_timeout";
  std::printf("[ measure  ] update_leader with etcd down failed after %.0f ms (retry_timeout 2 s)\n", took);
  auto c = a->get_cluster();
  ASSERT_FALSE(c);
  EXPECT_TRUE(c.error().is(DcsErrorKind::kUnreachable));
  auto acq = b->attempt_to_acquire_leader();
  ASSERT_FALSE(acq);
  EXPECT_TRUE(acq.error().is(DcsErrorKind::kUnreachable)) << acq.error().describe();
  auto del = a->delete_leader(std::nullopt);
  ASSERT_FALSE(del);
  EXPECT_TRUE(del.error().is(DcsErrorKind::kUnreachable));
  EXPECT_FALSE(b->wait_watch_ready(10ms));

  server.start();
  ASSERT_TRUE(a->get_cluster());
  ASSERT_TRUE(a->update_leader(LeaderRefresh{}));
  EXPECT_EQ(leader_name(*b), "a");
  // The watch stream resumes and wakes b when the leader goes away.
  ASSERT_TRUE(b->wait_watch_ready(10000ms));
  auto view = b->get_cluster();
  ASSERT_TRUE(view && view->leader());
  Clock::time_point woke;
  WatchOutcome outcome = WatchOutcome::kTimeout;
  std::thread t([&] {
    outcome = b->watch(view->leader()->version, 5000ms);
    woke = Clock::now();
  });
  std::this_thread::sleep_for(100ms);
  auto before = Clock::now();
  ASSERT_TRUE(a->delete_leader(std::nullopt));
  t.join();
  double latency = std::chrono::duration<double, std::milli>(woke - before).count();
  std::printf("[ measure  ] after the restart the watch woke %.1f ms after delete_leader\n", latency);
  EXPECT_EQ(outcome, WatchOutcome::kChanged);
  EXPECT_GE(latency, 0.0) << "watch() returned before the leader key changed";
  EXPECT_LE(latency, 100.0);

  // A lease lost while etcd was away (revoked here) is replaced by a new one.
  auto old_lease = *a->lease_id();
  ASSERT_TRUE(a->client().lease_revoke(old_lease, a->client().deadline_from_now()));
  ASSERT_TRUE(a->attempt_to_acquire_leader());
  EXPECT_NE(*a->lease_id(), old_lease);
}

}  // namespace
}  // namespace custos::test

namespace custos::test {
namespace {

// etcd's count of Range calls answered so far (its Prometheus /metrics on the client port).
int64_t etcd_range_calls(const std::string& host_port) {
  net::HttpClient http;
  auto r = http.request({"GET", "http://" + host_port + "/metrics", {}, "", ""}, 5000ms);
  if (!r || r->status != 200) throw std::runtime_error("cannot read etcd metrics");
  int64_t total = 0;
  std::istringstream in(r->body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("grpc_server_handled_total{", 0) != 0 || line.find("grpc_method=\"Range\"") == std::string::npos)
      continue;
    total += std::stoll(line.substr(line.rfind(' ') + 1));
  }
  return total;
}

TEST(Etcd3WatchCache, ClusterReadsComeFromTheWatchAndFollowOtherWriters) {
  EtcdServer server;
  DcsParams p;
  p.hosts = {server.host_port()};
  p.scope = unique_scope("cache");
  p.name = "reader";
  auto reader = make_dcs(p);
  p.name = "writer";
  auto writer = make_dcs(p);
  ASSERT_TRUE(reader->wait_watch_ready(5000ms));
  ASSERT_TRUE(writer->touch_member(json{{"state", "running"}}));
  ASSERT_TRUE(writer->attempt_to_acquire_leader());
  // Another member's writes show up in the reader's view within a moment, without a read.
  auto until = [&](auto pred) {
    auto t0 = Clock::now();
    while (ms_since(t0) < 2000) {
      auto c = reader->get_cluster();
      if (c && pred(c.value())) return ms_since(t0);
      std::this_thread::sleep_for(5ms);
    }
    return -1.0;
  };
  EXPECT_GE(until([](const dcs::Cluster& c) { return c.leader_name() == std::string("writer"); }), 0);
  const int64_t before = etcd_range_calls(server.host_port());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(reader->get_cluster());
  EXPECT_LE(etcd_range_calls(server.host_port()) - before, 1) << "get_cluster did not use the watch cache";

  ASSERT_TRUE(writer->set_config_value(R"({"ttl":30,"pause":true})", std::nullopt));
  double ms = until([](const dcs::Cluster& c) { return c.config() && c.config()->data().value("pause", false); });
  EXPECT_GE(ms, 0);
  std::printf("[ measure  ] config change seen through the watch cache after %.1f ms\n", ms);
  ASSERT_TRUE(writer->delete_leader(std::nullopt));
  EXPECT_GE(until([](const dcs::Cluster& c) { return !c.leader(); }), 0);

  // Our own write is in our next read at once (no waiting for the stream's echo).
  ASSERT_TRUE(reader->attempt_to_acquire_leader());
  auto c = reader->get_cluster();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->leader_name(), std::string("reader"));
  ASSERT_TRUE(reader->touch_member(json{{"state", "running"}, {"role", "master"}}));
  c = reader->get_cluster();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->get_member("reader", false));
  EXPECT_EQ(c->get_member("reader", false)->data().value("role", ""), "master");

  // A lease that expires (holder gone without a word) removes its keys from the cache too.
  ASSERT_TRUE(reader->delete_leader(std::nullopt));
  ASSERT_TRUE(writer->attempt_to_acquire_leader());
  EXPECT_GE(until([](const dcs::Cluster& c) { return c.leader_name() == std::string("writer"); }), 0);
  writer.reset();
  auto expiry_start = Clock::now();
  bool gone = false;
  while (ms_since(expiry_start) < (p.ttl + 3) * 1000.0 && !gone) {
    auto view = reader->get_cluster();
    gone = view && !view->leader() && !view->get_member("writer", false);
    if (!gone) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(gone) << "the expired lease's keys stayed in the cache";

  // With etcd gone the cache is not offered: the read fails instead of showing a stale view.
  server.stop();
  auto t0 = Clock::now();
  bool failed = false;
  while (ms_since(t0) < 15000 && !failed) {
    failed = !reader->get_cluster();
    if (!failed) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(failed) << "get_cluster kept answering from the cache after etcd stopped";
}

}  // namespace
}  // namespace custos::test
