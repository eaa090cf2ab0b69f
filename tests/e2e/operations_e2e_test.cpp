// End-to-end tests of the operations (spec/rest-api.md §6, ha.md §3.10/§3.16): three real
// custos agents with PostgreSQL 15 and a private etcd (test_cluster.h), driven through the REST
// write endpoints with basic authentication, the way curl or patronictl would.
//  - Switchover and failover answer with the outcome and every node follows the new leader,
//    with no acknowledged row lost; a lagging candidate is refused ("Switchover failed").
//  - Refusals: no auth, bad JSON, unknown candidate, leader mismatch, unknown config key,
//    invalid config value (nothing written), scheduling while paused, reinitialize of the leader.
//  - Dynamic configuration reaches every node (reload), a restart-only parameter shows
//    pending_restart until POST /restart {"restart_pending": true}; pause/resume show in every
//    view; scheduled restart and scheduled switchover can be listed and cancelled;
//    reinitialize re-clones a replica.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include "cluster_fixture.h"

namespace custos::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;


std::string iso_in(int seconds) {
  std::time_t t = std::time(nullptr) + seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return buf;
}

class OperationsE2E : public ClusterFixture {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.scope = "e2e-ops";
    o.rest_user = "admin";
    o.rest_password = "s3cret";
    make_cluster(o);
    c().start_all();
    primary_ = c().wait_for_primary(150s);
    c().wait_for_streaming(primary_, others(primary_), 150s);
    c().sql(primary_, "CREATE TABLE IF NOT EXISTS e2e_rows (id bigint PRIMARY KEY, note text)");
  }

  json config_key() {
    auto v = c().get_key("config");
    auto j = v ? json::parse(*v, nullptr, false) : json();
    return j.is_object() ? j : json::object();
  }

  int primary_ = -1;
};

TEST_F(OperationsE2E, SwitchoverAndFailoverAnswerWithTheOutcomeAndLoseNoRow) {
  int64_t next_id = 1;
  auto write_rows = [&](int at, int n) {
    for (int k = 0; k < n; ++k) {
      auto r = c().sql(at, "INSERT INTO e2e_rows (id, note) VALUES (" + std::to_string(next_id) + ", 'ops')");
      ASSERT_TRUE(r.ok) << r.error;
      ++next_id;
    }
  };
  write_rows(primary_, 50);

  // Switchover to a named candidate.
  const int cand = others(primary_)[0];
  auto t0 = Clock::now();
  auto r = c().rest(primary_, "POST", "/switchover",
                    json{{"leader", c().name(primary_)}, {"candidate", c().name(cand)}}.dump());
  report("POST /switchover answered", std::chrono::duration<double>(Clock::now() - t0).count());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "Successfully switched over to \"" + c().name(cand) + "\"");
  EXPECT_EQ(c().wait_for_primary(60s), cand);
  c().wait_for_streaming(cand, others(cand), 90s);
  report("switchover until every node streams", std::chrono::duration<double>(Clock::now() - t0).count());
  write_rows(cand, 50);
  c().wait_for_rows(primary_, 1, next_id - 1, 60s);

  // Straight back to the old primary, which has just rejoined: it must count as a healthy
  // candidate although its PostgreSQL restarted moments ago.
  r = c().rest(cand, "POST", "/switchover", json{{"leader", c().name(cand)}, {"candidate", c().name(primary_)}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(c().wait_for_primary(60s), primary_);
  c().wait_for_streaming(primary_, others(primary_), 90s);
  write_rows(primary_, 10);

  // Failover (no leader named) to the third node, asked on a replica.
  const int third = 3 - primary_ - cand;
  t0 = Clock::now();
  r = c().rest(cand, "POST", "/failover", json{{"candidate", c().name(third)}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "Successfully failed over to \"" + c().name(third) + "\"");
  EXPECT_EQ(c().wait_for_primary(60s), third);
  c().wait_for_streaming(third, others(third), 90s);
  report("failover until every node streams", std::chrono::duration<double>(Clock::now() - t0).count());
  write_rows(third, 10);
  for (int i = 0; i < 3; ++i) c().wait_for_rows(i, 1, next_id - 1, 60s);

  // A candidate that lags more than maximum_lag_on_failover is refused by the leader: its
  // walreceiver is frozen while the primary writes several MB.
  r = c().rest(third, "PATCH", "/config", json{{"maximum_lag_on_failover", 1048576}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const int lagging = others(third)[0];
  auto walreceiver = c().sql_value(lagging, "SELECT pid FROM pg_catalog.pg_stat_wal_receiver");
  ASSERT_TRUE(walreceiver);
  ASSERT_EQ(::kill(std::stoi(*walreceiver), SIGSTOP), 0);
  c().sql(third, "CREATE TABLE filler AS SELECT g, repeat('x', 1000) AS pad FROM generate_series(1, 8000) g");
  c().sql(third, "CHECKPOINT");
  std::this_thread::sleep_for(std::chrono::seconds(2 * c().options().loop_wait + 1));  // optime published
  r = c().rest(third, "POST", "/switchover",
               json{{"leader", c().name(third)}, {"candidate", c().name(lagging)}}.dump());
  ::kill(std::stoi(*walreceiver), SIGCONT);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.body, "Switchover failed");
  EXPECT_EQ(c().leader_name(), c().name(third));

  // A scheduled switchover is carried out at its time (ha.md §3.10), not before.
  const int target = others(third)[1];
  r = c().rest(third, "POST", "/switchover",
               json{{"leader", c().name(third)}, {"candidate", c().name(target)}, {"scheduled_at", iso_in(6)}}.dump());
  ASSERT_EQ(r.status, 202) << r.body;
  const auto scheduled_at = Clock::now() + 6s;
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(c().leader_name(), c().name(third));  // not yet
  EXPECT_TRUE(eventually([&] { return c().leader_name() == c().name(target); }, 40s));
  EXPECT_GE(Clock::now(), scheduled_at - 1s);
  report("scheduled switchover done after its time",
         std::chrono::duration<double>(Clock::now() - scheduled_at).count());
  EXPECT_EQ(c().wait_for_primary(60s), target);
}

TEST_F(OperationsE2E, RefusalsConfigPauseRestartAndReinitialize) {
  const int p = primary_;
  const int rep = others(p)[0];
  const std::string pname = c().name(p);

  // ---- refusals
  EXPECT_EQ(c().rest(p, "POST", "/switchover", json{{"leader", pname}}.dump(), /*auth=*/false).status, 401);
  EXPECT_EQ(c().rest(p, "PATCH", "/config", json{{"pause", true}}.dump(), false).status, 401);
  EXPECT_EQ(c().rest(p, "POST", "/switchover", "{not json").status, 400);
  auto r = c().rest(p, "POST", "/switchover", json{{"leader", pname}, {"candidate", "nobody"}}.dump());
  EXPECT_EQ(r.status, 412);
  EXPECT_EQ(r.body, "candidate does not exists");
  r = c().rest(p, "POST", "/switchover", json{{"leader", c().name(rep)}, {"candidate", pname}}.dump());
  EXPECT_EQ(r.status, 412);
  EXPECT_EQ(r.body, "leader name does not match");
  const std::string rep_started = patroni(rep).value("postmaster_start_time", "");
  r = c().rest(rep, "POST", "/reinitialize", "");
  EXPECT_EQ(c().rest(p, "POST", "/reinitialize", "").body, "I am the leader, can not reinitialize");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "reinitialize started");
  // Done once a new postmaster runs: the state read right after the request may still be the
  // old one's "running", and a configuration change made before the new postmaster starts is
  // already in its files (no pending_restart for the checks below).
  EXPECT_TRUE(eventually([&] {
    const json st = patroni(rep);
    return st.value("state", "") == "running" && st.value("postmaster_start_time", "") != rep_started;
  }, 120s));
  c().wait_for_streaming(p, others(p), 120s);

  // ---- dynamic configuration: stored as Patroni stores it, adjusted by each node with
  // Patroni's words in its log, custos's own findings in X-Custos-Warning.
  r = c().rest(p, "PATCH", "/config", json{{"bogus_setting", 1}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["bogus_setting"], 1);
  EXPECT_NE(r.header("X-Custos-Warning").find("bogus_setting: unknown key (ignored)"), std::string::npos)
      << r.header("X-Custos-Warning");
  EXPECT_EQ(config_key()["bogus_setting"], 1);
  // The case: ttl 20 with retry_timeout 10 is stored; every node lowers loop_wait and
  // retry_timeout and says so as Patroni does.
  const json timing_before = config_key();
  r = c().rest(p, "PATCH", "/config",
               json{{"ttl", 20}, {"loop_wait", 10}, {"retry_timeout", 10}, {"bogus_setting", nullptr}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(config_key()["ttl"], 20);
  EXPECT_FALSE(config_key().contains("bogus_setting"));
  // Patroni's line layout: "YYYY-MM-DD HH:MM:SS,mmm WARNING: <message>".
  const std::string adjusted =
      " WARNING: Violated the rule \"loop_wait + 2*retry_timeout <= ttl\", where ttl=20. Adjusting loop_wait from 10 to 1 "
      "and retry_timeout from 10 to 9";
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(eventually([&] { return read_file(c().node(i).log_file).find(adjusted) != std::string::npos; }, 30s))
        << c().name(i);
  // A value Python's int() cannot read: stored, refused by every node, which keeps its timing.
  r = c().rest(p, "PUT", "/config", [&] {
    json v = config_key();
    v["loop_wait"] = "often";
    return v.dump();
  }());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.header("X-Custos-Warning").find("loop_wait: not an integer"), std::string::npos);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(eventually(
        [&] {
          return read_file(c().node(i).log_file).find(" ERROR: Exception when setting dynamic_configuration: loop_wait") !=
                 std::string::npos;
        },
        30s))
        << c().name(i);
  r = c().rest(p, "PATCH", "/config",
               json{{"ttl", timing_before["ttl"]}, {"loop_wait", timing_before["loop_wait"]},
                    {"retry_timeout", timing_before["retry_timeout"]}}
                   .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.header("X-Custos-Warning").empty()) << r.header("X-Custos-Warning");
  // Refused as Patroni refuses: bodies that are not a non-empty JSON object.
  EXPECT_EQ(c().rest(p, "PATCH", "/config", "[1]").status, 400);
  EXPECT_EQ(c().rest(p, "PATCH", "/config", "{}").status, 400);
  EXPECT_EQ(c().rest(p, "PUT", "/config", "not json").status, 400);

  // A reloadable parameter reaches every node; a restart-only one shows pending_restart.
  r = c().rest(rep, "PATCH", "/config",
               json{{"postgresql", {{"parameters", {{"work_mem", "7MB"}, {"max_connections", 120}}}}}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["postgresql"]["parameters"]["work_mem"], "7MB");
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(eventually([&] { return c().sql_value(i, "SHOW work_mem") == std::string("7MB"); }, 30s)) << i;
    EXPECT_TRUE(eventually([&] { return patroni(i).value("pending_restart", false); }, 30s)) << i;
  }
  r = c().rest(rep, "POST", "/restart", json{{"restart_pending", true}, {"role", "replica"}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "restarted successfully");
  EXPECT_EQ(c().sql_value(rep, "SHOW max_connections"), std::string("120"));
  EXPECT_TRUE(eventually([&] { return !patroni(rep).value("pending_restart", false); }, 30s));
  r = c().rest(rep, "POST", "/restart", json{{"role", "primary"}}.dump());
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "restart conditions are not satisfied");

  // ---- scheduled restart: listed in the member key, one at a time, cancellable
  r = c().rest(p, "POST", "/restart", json{{"schedule", iso_in(3600)}}.dump());
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(c().rest(p, "POST", "/restart", json{{"schedule", iso_in(7200)}}.dump()).status, 409);
  EXPECT_TRUE(eventually(
      [&] {
        auto m = c().get_key("members/" + pname);
        return m && m->find("scheduled_restart") != std::string::npos;
      },
      10s));
  EXPECT_EQ(c().rest(p, "POST", "/restart", json{{"schedule", "2020-01-01T00:00:00"}}.dump()).status, 400);
  EXPECT_EQ(c().rest(p, "DELETE", "/restart").status, 200);
  EXPECT_EQ(c().rest(p, "DELETE", "/restart").body, "no restarts are scheduled");

  // ---- scheduled switchover: written with scheduled_at, cancellable
  r = c().rest(p, "POST", "/switchover",
               json{{"leader", pname}, {"candidate", c().name(rep)}, {"scheduled_at", iso_in(3600)}}.dump());
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.body, "Switchover scheduled");
  auto fk = c().get_key("failover");
  ASSERT_TRUE(fk);
  EXPECT_NE(fk->find("scheduled_at"), std::string::npos);
  EXPECT_EQ(c().rest(p, "DELETE", "/switchover").body, "scheduled switchover deleted");
  EXPECT_EQ(c().rest(p, "DELETE", "/switchover").status, 404);

  // ---- pause: shown everywhere, refuses what needs automation, resume
  r = c().rest(rep, "PATCH", "/config", json{{"pause", true}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(eventually([&] { return patroni(i).value("pause", false); }, 30s)) << i;
  std::string cluster_body;
  ASSERT_EQ(c().rest_status(p, "/cluster", &cluster_body), 200);
  EXPECT_EQ(json::parse(cluster_body).value("pause", false), true);
  r = c().rest(p, "POST", "/switchover", json{{"leader", pname}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "Switchover is possible only to a specific candidate in a paused state");
  EXPECT_EQ(c().rest(p, "POST", "/restart", json{{"schedule", iso_in(3600)}}.dump()).status, 500);
  r = c().rest(p, "PATCH", "/config", json{{"pause", nullptr}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(eventually([&] { return !patroni(i).contains("pause"); }, 30s)) << i;
  EXPECT_EQ(c().leader_name(), pname);

  // ---- reload
  r = c().rest(rep, "POST", "/reload", "");
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, "reload scheduled");
}

}  // namespace
}  // namespace custos::e2e

namespace custos::e2e {
namespace {

// Callbacks, pre_promote and before_stop (issue 13): scripts that record what they were called
// with, through a bootstrap, a switchover, a restart, a reload, a failover and a stop, each at
// Patroni's moment with Patroni's arguments (<action> <role> <scope>).
class CallbacksE2E : public ClusterFixture {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.scope = "e2e-cb";
    o.callbacks = true;
    make_cluster(o);
  }
  // Lines of `node` in the callbacks log from line `from` on.
  std::vector<std::string> calls(int node, std::size_t from = 0) {
    std::vector<std::string> out;
    std::istringstream in(read_file(c().callbacks_log()));
    std::string line;
    std::size_t i = 0;
    while (std::getline(in, line)) {
      if (i++ < from) continue;
      const std::string prefix = c().name(node) + " ";
      if (line.rfind(prefix, 0) == 0) out.push_back(line.substr(prefix.size()));
    }
    return out;
  }
  std::size_t lines() {
    std::istringstream in(read_file(c().callbacks_log()));
    std::size_t n = 0;
    std::string line;
    while (std::getline(in, line)) ++n;
    return n;
  }
  bool saw(int node, const std::string& call, std::size_t from = 0) {
    return eventually(
        [&] {
          auto v = calls(node, from);
          return std::find(v.begin(), v.end(), call) != v.end();
        },
        30s);
  }
};

TEST_F(CallbacksE2E, EveryCallbackAtItsMoment) {
  c().start_all();
  int p = c().wait_for_primary(150s);
  c().wait_for_streaming(p, others(p), 150s);
  const std::string scope = " e2e-cb";
  EXPECT_TRUE(saw(p, "on_start " + c().primary_role(p) + scope)) << read_file(c().callbacks_log());
  for (int i : others(p)) EXPECT_TRUE(saw(i, "on_start replica" + scope)) << c().name(i);
  // Switchover: the old primary stops (before_stop, on_stop) and follows (on_role_change
  // replica); the candidate runs pre_promote, then on_role_change master.
  const int q = others(p).front();
  std::size_t mark = lines();
  auto r = c().rest(p, "POST", "/switchover", json{{"leader", c().name(p)}, {"candidate", c().name(q)}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(c().wait_for_primary(60s), q);
  EXPECT_TRUE(saw(p, "before_stop", mark));
  EXPECT_TRUE(saw(p, "on_stop " + c().primary_role(p) + scope, mark));
  EXPECT_TRUE(saw(p, "on_role_change replica" + scope, mark)) << read_file(c().callbacks_log());
  EXPECT_TRUE(saw(q, "pre_promote", mark));
  EXPECT_TRUE(saw(q, "on_role_change " + c().primary_role(q) + scope, mark)) << read_file(c().callbacks_log());
  // Restart of a replica: on_restart only.
  c().wait_for_streaming(q, others(q), 60s);
  mark = lines();
  r = c().rest(p, "POST", "/restart", "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(saw(p, "on_restart replica" + scope, mark)) << read_file(c().callbacks_log());
  auto after = calls(p, mark);
  EXPECT_EQ(std::count(after.begin(), after.end(), "on_stop replica" + scope), 0);
  // Reload: on_reload.
  mark = lines();
  r = c().rest(q, "POST", "/reload", "");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_TRUE(saw(q, "on_reload " + c().primary_role(q) + scope, mark)) << read_file(c().callbacks_log());
  // Failover: the primary's machine dies; the new primary gets on_role_change master.
  c().wait_for_streaming(q, others(q), 60s);
  mark = lines();
  c().kill_node(q);
  const int w = c().wait_for_primary(90s);
  EXPECT_NE(w, q);
  EXPECT_TRUE(saw(w, "on_role_change " + c().primary_role(w) + scope, mark)) << read_file(c().callbacks_log());
  // A clean stop of the remaining replica: before_stop, on_stop.
  const int last = 3 - w - q;
  mark = lines();
  c().sigterm_agent(last);
  ASSERT_TRUE(c().wait_agent_exit(last, 60s));
  EXPECT_TRUE(saw(last, "before_stop", mark));
  EXPECT_TRUE(saw(last, "on_stop replica" + scope, mark)) << read_file(c().callbacks_log());
}

}  // namespace
}  // namespace custos::e2e

namespace custos::e2e {
namespace {

// create_replica_methods (issue 13): the methods in order with fallback, each called with
// Patroni's parameters (--scope, --role, --datadir, --connstring, and the section's own keys).
// TLS everywhere: the connstring carries the replication role's certificate settings, so that a
// tool connecting with it passes `hostssl ... clientcert=verify-full`.
TEST(ReplicaMethodsE2E, AScriptMethodAfterAFailingOneBuildsTheReplica) {
  ClusterOptions o;
  o.nodes = 2;
  o.scope = "e2e-rm";
  o.tls = true;
  o.postgresql_yaml =
      "  create_replica_methods:\n    - broken\n    - scripted\n    - basebackup\n"
      "  broken:\n    command: /bin/false\n"
      "  scripted:\n    command: {dir}/replica.sh\n    custom_key: x y\n";
  TestCluster c(o);
  // The method records its arguments, then makes the copy with pg_basebackup itself.
  write_executable(c.dir() + "/replica.sh",
               "echo \"$@\" >> " + c.dir() + "/replica.args\n"
               "for a in \"$@\"; do case \"$a\" in --datadir=*) d=\"${a#--datadir=}\";; --connstring=*) s=\"${a#--connstring=}\";; esac; done\n"
               "exec " + std::string(kPgBinDir) + "/pg_basebackup -D \"$d\" -X stream -d \"$s\"\n");
  c.start_agent(0);
  ASSERT_EQ(c.wait_for_primary(150s), 0);
  ASSERT_TRUE(c.sql(0, "CREATE TABLE before_clone AS SELECT 1 AS x").ok);
  c.start_agent(1);
  c.wait_for_streaming(0, {1}, 150s);
  const std::string args = read_file(c.dir() + "/replica.args");
  for (const std::string& want : std::vector<std::string>{"--scope=e2e-rm", "--role=replica",
                                                          "--datadir=" + c.node(1).data_dir,
                                                          "--connstring=dbname=postgres user=replicator host=127.0.0.1",
                                                          "--custom_key=x y", "sslmode=verify-full",
                                                          "sslcert=", "sslrootcert="})
    EXPECT_NE(args.find(want), std::string::npos) << want << " not in " << args;
  EXPECT_EQ(c.sql_value(1, "SELECT x FROM before_clone"), std::optional<std::string>("1"));
  const std::string log = read_file(c.node(1).log_file);
  EXPECT_NE(log.find("Error creating replica using method broken: /bin/false exited with code=1"), std::string::npos);
  EXPECT_NE(log.find("replica has been created using scripted"), std::string::npos);

  // Reinitialize --from-leader (Patroni 4.1, custosctl reinit --from-leader): a pg_basebackup
  // from the leader, none of the configured methods.
  const std::size_t log_before = read_file(c.node(1).log_file).size();
  const std::string ctl_config = c.dir() + "/ctl.yml";
  c.write_ctl_config(ctl_config);
  auto r = TestCluster::custosctl(ctl_config, {"reinit", "e2e-rm", c.name(1), "--force", "--from-leader", "--wait"}, 240s);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  c.wait_for_streaming(0, {1}, 150s);
  const std::string after = read_file(c.node(1).log_file).substr(log_before);
  EXPECT_NE(after.find("replica has been created using basebackup"), std::string::npos) << after;
  EXPECT_EQ(after.find("method broken"), std::string::npos) << "a configured method ran";
  EXPECT_EQ(read_file(c.dir() + "/replica.args"), args) << "the scripted method ran again";
  EXPECT_EQ(c.sql_value(1, "SELECT x FROM before_clone"), std::optional<std::string>("1"));
  c.check_no_agent_died();
}

// A method with no_leader builds a node while no leader runs (its whole cluster was lost); the
// node then wins the leader race with the data of the backup.
TEST(ReplicaMethodsE2E, ANoLeaderMethodRestoresANodeWithoutAnyRunningLeader) {
  ClusterOptions o;
  o.nodes = 2;
  o.scope = "e2e-rm2";
  o.postgresql_yaml =
      "  create_replica_methods:\n    - restore\n    - basebackup\n"
      "  restore:\n    command: {dir}/restore.sh\n    no_leader: true\n";
  TestCluster c(o);
  write_executable(c.dir() + "/restore.sh",
               "for a in \"$@\"; do case \"$a\" in --datadir=*) d=\"${a#--datadir=}\";; esac; done\n"
               "echo \"$@\" >> " + c.dir() + "/restore.args\n"
               "mkdir -p \"$d\" && cp -a " + c.dir() + "/backup/. \"$d\"/ && chmod 700 \"$d\"\n");
  c.start_agent(0);
  ASSERT_EQ(c.wait_for_primary(150s), 0);
  ASSERT_TRUE(c.sql(0, "CREATE TABLE in_backup AS SELECT 42 AS x").ok);
  // A base backup, as a backup tool would keep one.
  test::RunResult bb = c.base_backup(0, c.dir() + "/backup");
  ASSERT_EQ(bb.exit_code, 0) << bb.output;
  c.kill_node(0);  // the whole cluster is gone
  ASSERT_TRUE(eventually([&] { return !c.leader_name(); }, 60s));
  c.start_agent(1);
  ASSERT_EQ(c.wait_for_primary(180s), 1) << c.describe();
  EXPECT_EQ(c.sql_value(1, "SELECT x FROM in_backup"), std::optional<std::string>("42"));
  const std::string args = read_file(c.dir() + "/restore.args");
  EXPECT_NE(args.find("--connstring="), std::string::npos) << args;  // empty: no leader to connect to
  EXPECT_NE(read_file(c.node(1).log_file).find("replica has been created using restore"), std::string::npos);
}

}  // namespace
}  // namespace custos::e2e
