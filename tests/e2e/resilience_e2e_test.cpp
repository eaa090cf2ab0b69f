// Resilience end to end (issue 12) on real etcd and PostgreSQL: failsafe mode through an etcd
// outage, the demotion without it, the watchdog through Patroni's `testing` driver, and the
// lease fence stopping PostgreSQL while the agent's HA loop is frozen. Writers on every node
// (WriteRecorder) count dual-primary time and lost commits where it matters.
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cluster_fixture.h"
#include "write_recorder.h"

namespace custos::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Stops one thread of another process (ptrace: only the seized thread stops; the others go
// on), from a helper process so that the test's own waitpid calls never see ptrace stops. The
// thread runs again when the Freezer is destroyed (or its helper dies).
class ThreadFreezer {
 public:
  explicit ThreadFreezer(pid_t tid) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    int ready[2];
    if (::pipe(ready) != 0) throw std::runtime_error("pipe");
    helper_ = ::fork();
    if (helper_ == 0) {
      ::close(fds[1]);
      ::close(ready[0]);
      char ok = 0;
      if (::ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) == 0 && ::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) == 0) {
        int st = 0;
        if (::waitpid(tid, &st, __WALL) == tid) ok = 1;
      }
      (void)!::write(ready[1], &ok, 1);
      char c;
      while (::read(fds[0], &c, 1) > 0) {
      }
      ::ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
      ::_exit(0);
    }
    ::close(fds[0]);
    ::close(ready[1]);
    release_fd_ = fds[1];
    char ok = 0;
    if (::read(ready[0], &ok, 1) != 1 || ok != 1) {
      ::close(ready[0]);
      release();
      throw std::runtime_error("could not freeze thread " + std::to_string(tid));
    }
    ::close(ready[0]);
  }
  ~ThreadFreezer() { release(); }
  void release() {
    if (release_fd_ >= 0) ::close(release_fd_);
    release_fd_ = -1;
    if (helper_ > 0) {
      int st = 0;
      ::waitpid(helper_, &st, 0);
      helper_ = -1;
    }
  }

 private:
  pid_t helper_ = -1;
  int release_fd_ = -1;
};

class Resilience : public ClusterFixture {
 protected:
  int bring_up() {
    c().start_all();
    int p = c().wait_for_primary(150s);
    c().wait_for_streaming(p, others(p), 150s);
    test::WriteRecorder::create_table(c().conninfo(p));
    return p;
  }

  std::vector<test::WriteRecorder::Target> targets() {
    std::vector<test::WriteRecorder::Target> t;
    for (int i = 0; i < c().size(); ++i) t.push_back({c().name(i), c().conninfo(i)});
    return t;
  }

  json patroni(int i) {
    std::string body;
    if (c().rest_status(i, "/patroni", &body) != 200) return json();
    return json::parse(body, nullptr, false);
  }

  bool failsafe_active(int i) {
    json j = patroni(i);
    return j.is_object() && j.value("failsafe_mode_is_active", false);
  }
};

// failsafe_mode: with etcd down for longer than the ttl the primary keeps taking writes because
// both replicas confirm it; nobody else becomes primary; afterwards the cluster is whole again.
TEST_F(Resilience, FailsafeKeepsThePrimaryWritableThroughAnEtcdOutage) {
  ClusterOptions o;
  o.failsafe_mode = true;
  make_cluster(o);
  const int p = bring_up();
  // The leader's refresh after every member joined writes /failsafe with all three.
  ASSERT_TRUE(eventually(
      [&] {
        auto v = c().get_key("failsafe");
        return v && json::parse(*v, nullptr, false).size() == 3;
      },
      30s))
      << c().get_key("failsafe").value_or("(none)");
  test::WriteRecorder w(targets());
  w.start();
  std::this_thread::sleep_for(2s);
  const auto outage = Clock::now();
  c().etcd().stop();
  ASSERT_TRUE(eventually([&] { return failsafe_active(p); }, 20s)) << c().describe();
  for (int i : others(p)) EXPECT_TRUE(eventually([&] { return failsafe_active(i); }, 10s)) << c().name(i);
  // Twice the ttl without a DCS: still the one primary, still answering /primary.
  while (seconds_since(outage) < 2.0 * c().options().ttl) {
    ASSERT_EQ(c().rest_status(p, "/primary"), 200) << c().describe();
    for (int i : others(p)) ASSERT_NE(c().is_primary_sql(i), std::optional<bool>(true)) << c().describe();
    std::this_thread::sleep_for(1s);
  }
  c().etcd().start();
  ASSERT_TRUE(eventually([&] { return c().leader_name() == c().name(p); }, 60s)) << c().describe();
  EXPECT_TRUE(eventually([&] { return !failsafe_active(p); }, 30s));
  w.stop();
  const auto rep = w.analyze(test::WriteRecorder::read_rows(c().conninfo(p)));
  std::printf("[  FIGURE  ] failsafe etcd outage: %s\n", rep.to_string().c_str());
  EXPECT_EQ(rep.dual_primary_ms, 0);
  EXPECT_EQ(rep.lost, 0);
  EXPECT_LT(rep.max_unavailable_s, 1.0);  // writes never stopped
}

std::optional<int64_t> lsn_of(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  auto slash = text->find('/');
  if (slash == std::string::npos) return std::nullopt;
  return (std::stoll(text->substr(0, slash), nullptr, 16) << 32) + std::stoll(text->substr(slash + 1), nullptr, 16);
}

// A permanent physical slot (ha.md §10) exists on every node; the leader publishes its position
// in /status and the replicas move their copy forward to it; while etcd is down they keep doing
// so from the positions the failsafe primary sends with POST /failsafe, so that pg_wal does not
// grow for a slot nobody on the replica uses.
TEST_F(Resilience, PermanentSlotsFollowThePrimaryAlsoThroughAnEtcdOutage) {
  ClusterOptions o;
  o.failsafe_mode = true;
  make_cluster(o);
  const int p = bring_up();
  auto r = c().rest(p, "PATCH", "/config", json{{"slots", {{"backup", {{"type", "physical"}}}}}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string restart_lsn = "SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = 'backup'";
  for (int i = 0; i < c().size(); ++i)
    ASSERT_TRUE(eventually([&] { return c().sql_value(i, restart_lsn).has_value(); }, 30s)) << c().name(i);
  // The consumer of the slot on the primary moves on.
  auto advance_on_primary = [&] {
    EXPECT_TRUE(c().sql(p, "CREATE TABLE IF NOT EXISTS filler AS SELECT g FROM generate_series(1, 1) g").ok);
    EXPECT_TRUE(c().sql(p, "INSERT INTO filler SELECT g FROM generate_series(1, 20000) g").ok);
    EXPECT_TRUE(c().sql(p, "SELECT pg_switch_wal()").ok);
    auto moved = c().sql_value(p, "SELECT end_lsn::text FROM pg_replication_slot_advance('backup', pg_current_wal_lsn())");
    return lsn_of(moved).value_or(0);
  };
  const int64_t first = advance_on_primary();
  ASSERT_GT(first, 0);
  EXPECT_TRUE(eventually(
      [&] {
        auto st = json::parse(c().get_key("status").value_or(""), nullptr, false);
        return st.is_object() && st.contains("slots") && st["slots"].value("backup", int64_t{0}) >= first;
      },
      30s))
      << c().get_key("status").value_or("(none)");
  for (int i : others(p))
    EXPECT_TRUE(eventually([&] { return lsn_of(c().sql_value(i, restart_lsn)).value_or(0) >= first; }, 30s))
        << c().name(i) << " " << c().sql_value(i, restart_lsn).value_or("?");
  // etcd goes away; the primary goes on (failsafe) and so do the slots.
  c().etcd().stop();
  ASSERT_TRUE(eventually([&] { return failsafe_active(others(p).front()); }, 20s)) << c().describe();
  const int64_t second = advance_on_primary();
  ASSERT_GT(second, first);
  for (int i : others(p))
    EXPECT_TRUE(eventually([&] { return lsn_of(c().sql_value(i, restart_lsn)).value_or(0) >= second; }, 30s))
        << c().name(i) << " " << c().sql_value(i, restart_lsn).value_or("?");
  c().etcd().start();
  c().wait_for_primary(60s);
}

// Without failsafe_mode the primary stops taking writes when it cannot reach etcd (before its
// lease could expire), and is the primary again once etcd is back.
TEST_F(Resilience, WithoutFailsafeAnEtcdOutageDemotesThePrimary) {
  make_cluster({});
  const int p = bring_up();
  const auto outage = Clock::now();
  c().etcd().stop();
  ASSERT_TRUE(eventually([&] { return c().is_primary_sql(p) != std::optional<bool>(true); }, 30s)) << c().describe();
  report("etcd outage: primary read-only after", seconds_since(outage));
  EXPECT_LT(seconds_since(outage), c().options().ttl);
  EXPECT_FALSE(failsafe_active(p));
  c().etcd().start();
  c().wait_for_primary(90s);
}

// The watchdog through Patroni's testing driver: armed with ttl - safety_margin on the primary
// only, kept alive, disarmed (magic close) on the old primary in a switchover and on a clean
// stop, and its timeout follows a new ttl.
TEST_F(Resilience, TheWatchdogIsArmedOnlyOnThePrimaryAndFollowsItsLease) {
  ClusterOptions o;
  o.watchdog_mode = "required";
  make_cluster(o);
  const int p = bring_up();
  const std::string armed = "Ctimeout=" + std::to_string(c().options().ttl - 5) + "\n";
  ASSERT_TRUE(eventually([&] { return read_file(c().node(p).watchdog_file).rfind(armed + "11", 0) == 0; }, 20s))
      << read_file(c().node(p).watchdog_file);
  for (int i : others(p)) EXPECT_EQ(read_file(c().node(i).watchdog_file), "") << c().name(i);
  json st = patroni(p);
  EXPECT_FALSE(st.value("watchdog_failed", false));
  // Pause disarms it (the operator runs PostgreSQL); resume arms it again.
  auto r = c().rest(p, "PATCH", "/config", json{{"pause", true}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(eventually([&] { return read_file(c().node(p).watchdog_file).back() == 'V'; }, 20s))
      << read_file(c().node(p).watchdog_file);
  r = c().rest(p, "PATCH", "/config", json{{"pause", false}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(eventually(
      [&] {
        const std::string w = read_file(c().node(p).watchdog_file);
        return w.size() > 2 && w.rfind("V" + armed) != std::string::npos && w.back() == '1';
      },
      20s))
      << read_file(c().node(p).watchdog_file);
  // Switchover: the old primary disarms once PostgreSQL is down, the new one arms.
  const int q = others(p).front();
  r = c().rest(p, "POST", "/switchover", json{{"leader", c().name(p)}, {"candidate", c().name(q)}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(c().wait_for_primary(60s), q);
  EXPECT_TRUE(eventually([&] { return read_file(c().node(p).watchdog_file).back() == 'V'; }, 20s))
      << read_file(c().node(p).watchdog_file);
  ASSERT_TRUE(eventually([&] { return read_file(c().node(q).watchdog_file).rfind(armed + "1", 0) == 0; }, 20s))
      << read_file(c().node(q).watchdog_file);
  // A new ttl reaches the device with the next keepalive.
  r = c().rest(q, "PATCH", "/config", json{{"ttl", 30}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(eventually([&] { return read_file(c().node(q).watchdog_file).find("Ctimeout=25\n") != std::string::npos; },
                         30s))
      << read_file(c().node(q).watchdog_file);
  // A clean stop disarms it after PostgreSQL stopped.
  c().sigterm_agent(q);
  ASSERT_TRUE(c().wait_agent_exit(q, 60s));
  EXPECT_EQ(read_file(c().node(q).watchdog_file).back(), 'V');
  EXPECT_FALSE(c().postmaster_pid(q));
}

// The lease fence: the primary's HA loop is frozen right after a refresh (its other threads run
// on). Before its lease can expire, the fence stops PostgreSQL; only then does a replica take
// over: no moment with two nodes taking writes.
TEST_F(Resilience, TheLeaseFenceStopsPostgresWhileTheHaLoopIsFrozen) {
  make_cluster({});
  const int p = bring_up();
  test::WriteRecorder w(targets());
  w.start();
  std::this_thread::sleep_for(2s);
  auto freeze_at = Clock::now();
  std::optional<ThreadFreezer> frozen;
  frozen.emplace(c().agent_pid(p));  // the main thread runs the HA loop
  ASSERT_TRUE(eventually([&] { return !c().postmaster_pid(p).has_value(); }, std::chrono::seconds(c().options().ttl + 5)))
      << c().describe();
  const double fenced_after = seconds_since(freeze_at);
  report("lease fence: PostgreSQL stopped after the loop froze", fenced_after);
  EXPECT_LE(fenced_after, c().options().ttl - 1.0);
  EXPECT_NE(read_file(c().node(p).log_file).find("lease fence"), std::string::npos);
  const int q = c().wait_for_primary(90s);
  EXPECT_NE(q, p);
  std::this_thread::sleep_for(2s);
  frozen.reset();  // the loop runs again: the old primary rejoins as a replica
  c().wait_for_streaming(q, {p}, 120s);
  w.stop();
  const auto rep = w.analyze(test::WriteRecorder::read_rows(c().conninfo(q)));
  std::printf("[  FIGURE  ] lease fence with a frozen loop: %s\n", rep.to_string().c_str());
  EXPECT_EQ(rep.dual_primary_ms, 0);
}

}  // namespace
}  // namespace custos::e2e
