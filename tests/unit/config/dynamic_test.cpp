#include "config/dynamic.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "config/dynamic_cache.h"
#include "config/global_config.h"
#include "config/merge.h"
#include "test_util.h"

using namespace custos::config;
using custos::config::testing::TempDir;

// ---- timing (config.md §4) ----
TEST(Timing, DefaultsSatisfyTheRule) {
  EXPECT_EQ(adjust_timing(Timing{}), (Timing{30, 10, 10}));
}

TEST(Timing, LoopWaitReducedWhenRetryTimeoutFits) {
  std::vector<std::string> w;
  EXPECT_EQ(adjust_timing(Timing{30, 15, 10}, &w), (Timing{30, 10, 10}));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0],
            "Violated the rule \"loop_wait + 2*retry_timeout <= ttl\", where ttl=30 and retry_timeout=10. "
            "Adjusting loop_wait from 15 to 10");
}

TEST(Timing, PatronisWordsWhenBothAreLowered) {
  std::vector<std::string> w;
  // The issue's case: PATCH {"ttl": 20} on a cluster with loop_wait 10, retry_timeout 10.
  EXPECT_EQ(adjust_timing(Timing{20, 10, 10}, &w), (Timing{20, 1, 9}));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0],
            "Violated the rule \"loop_wait + 2*retry_timeout <= ttl\", where ttl=20. "
            "Adjusting loop_wait from 10 to 1 and retry_timeout from 10 to 9");
}

TEST(Timing, RetryTimeoutReducedWhenEvenLoopWaitOneDoesNotFit) {
  EXPECT_EQ(adjust_timing(Timing{30, 10, 20}), (Timing{30, 1, 14}));
  EXPECT_EQ(adjust_timing(Timing{21, 5, 10}), (Timing{21, 1, 10}));
  EXPECT_EQ(adjust_timing(Timing{20, 1, 10}), (Timing{20, 1, 9}));
}

TEST(Timing, MinimumsAreRaised) {
  std::vector<std::string> w;
  EXPECT_EQ(adjust_timing(Timing{5, 0, 1}, &w), (Timing{20, 1, 3}));
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0], "loop_wait=0 can't be smaller than 1, adjusting...");
  EXPECT_EQ(w[1], "retry_timeout=1 can't be smaller than 3, adjusting...");
  EXPECT_EQ(w[2], "ttl=5 can't be smaller than 20, adjusting...");
  EXPECT_EQ(adjust_timing(Timing{-100, -5, -7}), (Timing{20, 1, 3}));
}

TEST(Timing, HugeValuesDoNotOverflow) {
  auto t = adjust_timing(Timing{2000000000, 2000000000, 2000000000});
  EXPECT_LE(static_cast<int64_t>(t.loop_wait) + 2 * static_cast<int64_t>(t.retry_timeout), t.ttl);
}

TEST(Timing, FromDynamicReadsValuesAsPythonsInt) {
  auto t = timing_from_dynamic(json::parse(R"({"ttl": "40", "loop_wait": 5.9, "retry_timeout": true})"));
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, (Timing{40, 5, 3}));  // retry_timeout int(True)=1, raised to 3
  auto defaults = timing_from_dynamic(json::object());
  ASSERT_TRUE(defaults);
  EXPECT_EQ(*defaults, (Timing{30, 10, 10}));
  auto bad = timing_from_dynamic(json::parse(R"({"ttl": 30, "loop_wait": "often"})"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("loop_wait"), std::string::npos);
  EXPECT_NE(bad.error().find("often"), std::string::npos);
}

TEST(Effective, UnreadableTimingIsADynamicErrorNotAWarning) {
  auto e = build_effective_configuration(json::parse(R"({"ttl": null, "loop_wait": 5})"), json::object());
  ASSERT_TRUE(e.dynamic_error);
  EXPECT_NE(e.dynamic_error->find("ttl"), std::string::npos);
  EXPECT_EQ(e.config["ttl"], 30);
  EXPECT_EQ(e.config["loop_wait"], 10);
  auto ok = build_effective_configuration(json::parse(R"({"ttl": 20})"), json::object());
  EXPECT_FALSE(ok.dynamic_error);
  EXPECT_EQ(ok.config["loop_wait"], 1);
  EXPECT_EQ(ok.config["retry_timeout"], 9);
}

// ---- defaults ----
TEST(Dynamic, DefaultDynamicConfiguration) {
  json d = default_dynamic_configuration();
  EXPECT_EQ(d["ttl"], 30);
  EXPECT_EQ(d["loop_wait"], 10);
  EXPECT_EQ(d["retry_timeout"], 10);
  EXPECT_EQ(d["maximum_lag_on_failover"], 1048576);
  EXPECT_EQ(d["maximum_lag_on_syncnode"], -1);
  EXPECT_EQ(d["primary_start_timeout"], 300);
  EXPECT_EQ(d["primary_stop_timeout"], 0);
  EXPECT_EQ(d["synchronous_node_count"], 1);
  EXPECT_EQ(d["postgresql"]["use_slots"], true);
  const json& p = d["postgresql"]["parameters"];
  EXPECT_EQ(p["max_connections"], 100);
  EXPECT_EQ(p["wal_level"], "hot_standby");
  EXPECT_EQ(p["max_locks_per_transaction"], 64);
  EXPECT_FALSE(p.contains("wal_keep_segments"));
  EXPECT_FALSE(p.contains("listen_addresses"));
}

// ---- effective configuration ----
TEST(Effective, LocalWinsOverDynamicWhichWinsOverDefaults) {
  json dynamic = json::parse(R"({"ttl": 40, "loop_wait": 5, "postgresql": {"parameters": {"work_mem": "8MB",
      "shared_buffers": "1GB"}, "pg_hba": ["dyn"], "use_pg_rewind": true}})");
  json local = json::parse(R"({"name": "n", "scope": "s", "ttl": 99, "postgresql": {"parameters":
      {"work_mem": "16MB"}, "pg_hba": ["local"], "data_dir": "/d", "authentication": {}}})");
  auto e = build_effective_configuration(dynamic, local).config;
  EXPECT_EQ(e["ttl"], 40);        // local ttl has no effect
  EXPECT_EQ(e["loop_wait"], 5);
  EXPECT_EQ(e["retry_timeout"], 10);
  EXPECT_EQ(e["postgresql"]["parameters"]["work_mem"], "16MB");
  EXPECT_EQ(e["postgresql"]["parameters"]["shared_buffers"], "1GB");
  EXPECT_EQ(e["postgresql"]["parameters"]["max_connections"], 100);
  EXPECT_EQ(e["postgresql"]["pg_hba"], json::parse(R"(["local"])"));
  EXPECT_EQ(e["postgresql"]["use_pg_rewind"], true);
  EXPECT_EQ(e["postgresql"]["name"], "n");
  EXPECT_EQ(e["postgresql"]["scope"], "s");
  EXPECT_EQ(e["postgresql"]["retry_timeout"], 10);
}

TEST(Effective, UseSlotsIsGlobalOnly) {
  auto e = build_effective_configuration(json::parse(R"({"postgresql": {"use_slots": false}})"),
                                         json::parse(R"({"postgresql": {"use_slots": true}})"));
  EXPECT_EQ(e.config["postgresql"]["use_slots"], false);
  EXPECT_FALSE(e.warnings.empty());
  auto d = build_effective_configuration(json::object(), json::parse(R"({"postgresql": {"use_slots": false}})"));
  EXPECT_EQ(d.config["postgresql"]["use_slots"], true);
}

TEST(Effective, CommandLineParametersOnlyFromDynamic) {
  json dynamic = json::parse(R"({"postgresql": {"parameters": {"max_connections": 200, "max_wal_senders": 1,
      "wal_level": "logical", "Max_Locks_Per_Transaction": "128", "port": 6000, "listen_addresses": "*",
      "wal_keep_size": "1GB", "hot_standby": "off", "max_worker_processes": "lots"}}})");
  json local = json::parse(R"({"postgresql": {"parameters": {"max_connections": 500, "wal_level": "replica"}}})");
  auto e = build_effective_configuration(dynamic, local);
  const json& p = e.config["postgresql"]["parameters"];
  EXPECT_EQ(p["max_connections"], 200);        // DCS value, local ignored
  EXPECT_EQ(p["max_wal_senders"], 10);         // invalid DCS value -> default
  EXPECT_EQ(p["wal_level"], "logical");
  EXPECT_EQ(p["max_locks_per_transaction"], "128");  // case-insensitive name
  EXPECT_FALSE(p.contains("Max_Locks_Per_Transaction"));
  EXPECT_FALSE(p.contains("port"));
  EXPECT_FALSE(p.contains("listen_addresses"));
  EXPECT_EQ(p["wal_keep_size"], "1GB");
  EXPECT_EQ(p["hot_standby"], "on");
  EXPECT_EQ(p["max_worker_processes"], 8);
  int invalid_warnings = 0;
  for (const auto& w : e.warnings)
    if (w.find("failed validation, defaulting to") != std::string::npos) ++invalid_warnings;
  EXPECT_EQ(invalid_warnings, 3);
}

TEST(Effective, DcsPostgresqlLocalOnlyKeysIgnored) {
  json dynamic = json::parse(R"({"postgresql": {"connect_address": "x:1", "proxy_address": "x:2", "listen": "x:3",
      "config_dir": "/c", "data_dir": "/d", "pgpass": "/p", "authentication": {"superuser": {"username": "evil"}},
      "pg_ctl_timeout": 120}})");
  json local = json::parse(R"({"postgresql": {"data_dir": "/real", "authentication":
      {"superuser": {"username": "postgres", "unknown": 1}}}})");
  auto e = build_effective_configuration(dynamic, local).config;
  const json& pg = e["postgresql"];
  EXPECT_FALSE(pg.contains("connect_address"));
  EXPECT_FALSE(pg.contains("proxy_address"));
  EXPECT_FALSE(pg.contains("listen"));
  EXPECT_FALSE(pg.contains("config_dir"));
  EXPECT_FALSE(pg.contains("pgpass"));
  EXPECT_EQ(pg["data_dir"], "/real");
  EXPECT_EQ(pg["authentication"]["superuser"], json::parse(R"({"username": "postgres"})"));  // filtered
  EXPECT_EQ(pg["pg_ctl_timeout"], 120);
}

TEST(Effective, OnlyTimingStandbyClusterAndPostgresqlComeFromDynamic) {
  json dynamic = json::parse(R"({"synchronous_mode": true, "maximum_lag_on_failover": 5, "tags": {"a": 1},
      "standby_cluster": {"host": "h", "port": 5433, "bogus": 1}})");
  auto e = build_effective_configuration(dynamic, json::object()).config;
  EXPECT_FALSE(e.contains("synchronous_mode"));
  EXPECT_FALSE(e.contains("maximum_lag_on_failover"));
  EXPECT_FALSE(e.contains("tags"));
  EXPECT_EQ(e["standby_cluster"], json::parse(R"({"host": "h", "port": 5433})"));
}

TEST(Effective, TimingFromDynamicIsAdjusted) {
  auto e = build_effective_configuration(json::parse(R"({"ttl": "25", "loop_wait": 10, "retry_timeout": 10})"),
                                         json::object());
  EXPECT_EQ(e.config["ttl"], 25);
  EXPECT_EQ(e.config["loop_wait"], 5);
  EXPECT_EQ(e.config["retry_timeout"], 10);
  auto bad = build_effective_configuration(json::parse(R"({"ttl": "abc", "loop_wait": [1]})"), json::object());
  EXPECT_EQ(bad.config["ttl"], 30);
  EXPECT_EQ(bad.config["loop_wait"], 10);
  ASSERT_TRUE(bad.dynamic_error);  // int("abc") raises in Patroni: the whole value is refused
  EXPECT_NE(bad.dynamic_error->find("loop_wait"), std::string::npos);  // read first, as Patroni
}

TEST(Effective, LegacyForms) {
  json local = json::parse(R"({"postgresql": {"name": "legacy-name", "replication": {"username": "rep"},
      "superuser": {"username": "su"}, "pg_rewind": {"username": "rw"}, "create_replica_method": ["wal_e"]}})");
  auto e = build_effective_configuration(json::object(), local).config;
  EXPECT_EQ(e["name"], "legacy-name");
  EXPECT_EQ(e["postgresql"]["authentication"]["replication"]["username"], "rep");
  EXPECT_EQ(e["postgresql"]["authentication"]["superuser"]["username"], "su");
  EXPECT_EQ(e["postgresql"]["use_pg_rewind"], true);
  EXPECT_EQ(e["postgresql"]["create_replica_methods"], json::parse(R"(["wal_e"])"));
  // pg_rewind doubles as superuser when there is none.
  auto f = build_effective_configuration(
      json::object(), json::parse(R"({"postgresql": {"replication": {"username": "rep"}, "pg_rewind": {"username": "rw"}}})"))
               .config;
  EXPECT_EQ(f["postgresql"]["authentication"]["superuser"]["username"], "rw");
}

TEST(Effective, ExhibitorInsideZookeeperAndRestapiAuth) {
  auto e = build_effective_configuration(
               json::object(),
               json::parse(R"({"zookeeper": {"exhibitor": {"hosts": ["a"], "port": 8181}},
                   "restapi": {"authentication": {"username": "u", "password": "p"}},
                   "ctl": {"authentication": {"username": "c", "password": "q"}}})"))
               .config;
  EXPECT_FALSE(e.contains("zookeeper"));
  EXPECT_EQ(e["exhibitor"]["port"], 8181);
  EXPECT_EQ(e["restapi"]["auth"], "u:p");
  EXPECT_EQ(e["ctl"]["auth"], "c:q");
}

TEST(Effective, CitusEnablesSynchronousModeInBootstrap) {
  auto e = build_effective_configuration(json::object(), json::parse(R"({"citus": {"group": 1, "database": "db"}})"))
               .config;
  EXPECT_EQ(e["bootstrap"]["dcs"]["synchronous_mode"], true);
  EXPECT_EQ(e["postgresql"]["citus"]["group"], 1);
  auto explicit_off = build_effective_configuration(
      json::object(), json::parse(R"({"citus": {"group": 1, "database": "db"},
          "bootstrap": {"dcs": {"synchronous_mode": false}}})"));
  EXPECT_EQ(explicit_off.config["bootstrap"]["dcs"]["synchronous_mode"], false);
  auto invalid = build_effective_configuration(json::object(), json::parse(R"({"citus": {"group": "x"}})"));
  EXPECT_FALSE(invalid.config.contains("citus"));
  // Patroni takes a group written as a string of digits (parse_int).
  auto text_group =
      build_effective_configuration(json::object(), json::parse(R"({"citus": {"group": "2", "database": "db"}})"));
  EXPECT_TRUE(text_group.config.contains("citus"));
  EXPECT_EQ(text_group.config["bootstrap"]["dcs"]["synchronous_mode"], true);
}

TEST(Effective, GarbageNeverThrows) {
  for (const char* d : {"null", "[]", "5", R"({"postgresql": 5})", R"({"postgresql": {"parameters": [1]}})",
                        R"({"standby_cluster": "x", "ttl": null})", R"({"ttl": 1e300})"}) {
    for (const char* l : {"null", "[]", R"({"postgresql": "x"})", R"({"postgresql": {"authentication": 5}})",
                          R"({"postgresql": {"authentication": {"superuser": 5}}, "restapi": {"authentication": 1}})",
                          R"({"zookeeper": {"exhibitor": 1}, "citus": 7, "watchdog": null})"}) {
      EXPECT_NO_THROW(build_effective_configuration(json::parse(d), json::parse(l))) << d << " / " << l;
    }
  }
}

// ---- merge patch ----
TEST(MergePatch, NullDeletesObjectsMergeOthersReplace) {
  json target = json::parse(R"({"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2], "f": "x"})");
  bool changed = patch_config(target, json::parse(R"({"a": null, "b": {"c": null, "g": 4}, "e": [3], "h": {"i": 1}})"));
  EXPECT_TRUE(changed);
  EXPECT_EQ(target, json::parse(R"({"b": {"d": 3, "g": 4}, "e": [3], "f": "x", "h": {"i": 1}})"));
  EXPECT_FALSE(patch_config(target, json::parse(R"({"f": "x", "zz": null})")));
  json scalar = 5;
  EXPECT_TRUE(patch_config(scalar, json::parse(R"({"a": 1})")));
  EXPECT_EQ(scalar, json::parse(R"({"a": 1})"));
}

// ---- global config ----
TEST(GlobalConfig, LenientValuesAndDefaults) {
  GlobalConfig g(json::parse(R"({"pause": "on", "synchronous_mode": "yes", "synchronous_node_count": 0,
      "maximum_lag_on_failover": "bad", "master_start_timeout": 100, "failsafe_mode": "TRUE",
      "check_timeline": "0", "postgresql": {"use_slots": "off"}, "permanent_slots": {"s": null},
      "slots": {"ignored": null}, "ignore_slots": [{"name": "x"}]})"));
  EXPECT_TRUE(g.is_paused());
  EXPECT_TRUE(g.is_synchronous_mode());
  EXPECT_EQ(g.synchronous_node_count(), 1);
  EXPECT_EQ(g.maximum_lag_on_failover(), 1048576);
  EXPECT_EQ(g.maximum_lag_on_syncnode(), -1);
  EXPECT_EQ(g.primary_start_timeout(), 100);
  EXPECT_EQ(g.primary_stop_timeout(), 0);
  EXPECT_TRUE(g.is_failsafe_mode());
  EXPECT_FALSE(g.check_timeline());
  EXPECT_FALSE(g.use_slots());
  EXPECT_EQ(g.permanent_slots(), json::parse(R"({"s": null})"));
  EXPECT_EQ(g.ignore_slots_matchers().size(), 1u);
}

// Patroni: bool(parse_bool(use_slots)) with True when missing, so null and garbage are false.
TEST(GlobalConfig, UseSlotsDefaultsTrueOnlyWhenMissing) {
  EXPECT_TRUE(GlobalConfig().use_slots());
  EXPECT_TRUE(GlobalConfig(json::parse(R"({"postgresql": {}})")).use_slots());
  EXPECT_TRUE(GlobalConfig(json::parse(R"({"postgresql": {"use_slots": "ON"}})")).use_slots());
  EXPECT_FALSE(GlobalConfig(json::parse(R"({"postgresql": {"use_slots": null}})")).use_slots());
  EXPECT_FALSE(GlobalConfig(json::parse(R"({"postgresql": {"use_slots": "maybe"}})")).use_slots());
  EXPECT_FALSE(GlobalConfig(json::parse(R"({"postgresql": {"use_slots": 2}})")).use_slots());
}

// The modes through parse_bool: a quoted "false" is off, garbage is off.
TEST(GlobalConfig, ModesReadWithParseBool) {
  GlobalConfig g(json::parse(R"({"pause": "false", "synchronous_mode": "False", "failsafe_mode": "maybe",
      "synchronous_mode_strict": 1, "check_timeline": 2})"));
  EXPECT_FALSE(g.is_paused());
  EXPECT_FALSE(g.is_synchronous_mode());
  EXPECT_FALSE(g.is_failsafe_mode());
  EXPECT_TRUE(g.is_synchronous_mode_strict());
  EXPECT_FALSE(g.check_timeline());
}

// Patroni 4 member_slots_ttl: seconds, or a time with its unit; 0 when absent or invalid.
TEST(GlobalConfig, MemberSlotsTtlWithTimeUnits) {
  auto ttl = [](const char* v) { return GlobalConfig(json::parse(std::string(R"({"member_slots_ttl": )") + v + "}")).member_slots_ttl(); };
  EXPECT_EQ(GlobalConfig().member_slots_ttl(), 0);
  EXPECT_EQ(ttl("1800"), 1800);
  EXPECT_EQ(ttl(R"("30min")"), 1800);
  EXPECT_EQ(ttl(R"("2h")"), 7200);
  EXPECT_EQ(ttl(R"("1d")"), 86400);
  EXPECT_EQ(ttl(R"("90s")"), 90);
  EXPECT_EQ(ttl(R"("5000ms")"), 5);
  EXPECT_EQ(ttl(R"("0")"), 0);
  EXPECT_EQ(ttl(R"("30MB")"), 0);  // a memory unit is no time
  EXPECT_EQ(ttl(R"("soon")"), 0);
  EXPECT_EQ(ttl("-5"), 0);
}

TEST(GlobalConfig, PrimaryNamesWinOverLegacy) {
  GlobalConfig g(json::parse(R"({"primary_start_timeout": 10, "master_start_timeout": 100,
      "primary_stop_timeout": 5, "master_stop_timeout": 50})"));
  EXPECT_EQ(g.primary_start_timeout(), 10);
  EXPECT_EQ(g.primary_stop_timeout(), 5);
  EXPECT_EQ(GlobalConfig().primary_start_timeout(), 300);
}

TEST(GlobalConfig, StandbyClusterActiveRuleAndSyncModeIgnoredThere) {
  EXPECT_FALSE(GlobalConfig(json::parse(R"({"standby_cluster": {"host": "", "primary_slot_name": "x"}})"))
                   .is_standby_cluster());
  EXPECT_TRUE(GlobalConfig(json::parse(R"({"standby_cluster": {"port": 5432}})")).is_standby_cluster());
  EXPECT_TRUE(GlobalConfig(json::parse(R"({"standby_cluster": {"restore_command": "cp"}})")).is_standby_cluster());
  GlobalConfig g(json::parse(R"({"synchronous_mode": true, "standby_cluster": {"host": "h"}})"));
  EXPECT_FALSE(g.is_synchronous_mode());
  EXPECT_FALSE(GlobalConfig(json("garbage")).is_paused());
}

// ---- dynamic cache ----
TEST(DynamicCache, RoundTripAtomicWithDataDirMode) {
  TempDir d;
  auto missing = load_dynamic_cache(d.path());
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing.value().has_value());
  ::chmod(d.path().c_str(), 0700);
  json dyn = json::parse(R"({"ttl": 30, "postgresql": {"parameters": {"max_connections": 100}}})");
  ASSERT_TRUE(save_dynamic_cache(d.path(), dyn).ok());
  auto loaded = load_dynamic_cache(d.path());
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded.value(), dyn);
  struct stat st {};
  ASSERT_EQ(::stat(dynamic_cache_path(d.path()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // No temporary files left behind.
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(d.path())) ++files;
  EXPECT_EQ(files, 1);
  ::chmod(d.path().c_str(), 0750);
  ASSERT_TRUE(save_dynamic_cache(d.path(), dyn).ok());
  ASSERT_EQ(::stat(dynamic_cache_path(d.path()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST(DynamicCache, CorruptFileIsAnError) {
  TempDir d;
  d.write("patroni.dynamic.json", "{not json");
  EXPECT_FALSE(load_dynamic_cache(d.path()).ok());
  d.write("patroni.dynamic.json", "[1, 2]");
  EXPECT_FALSE(load_dynamic_cache(d.path()).ok());
  EXPECT_FALSE(save_dynamic_cache("/nonexistent/dir", json::object()).ok());
}

TEST(DynamicCache, StartsFromTheCacheThenBootstrapDcs) {
  TempDir d;
  const json local = json{{"postgresql", {{"data_dir", d.path()}}}, {"bootstrap", {{"dcs", {{"ttl", 45}}}}}};
  std::vector<std::string> w;
  // No cache: bootstrap.dcs.
  EXPECT_EQ(startup_dynamic_configuration(local, &w), (json{{"ttl", 45}}));
  // A cache (what a node wrote before it lost its DCS) wins.
  d.write("patroni.dynamic.json", R"({"ttl": 60, "loop_wait": 7, "pause": true})");
  EXPECT_EQ(startup_dynamic_configuration(local, &w), (json{{"ttl", 60}, {"loop_wait", 7}, {"pause", true}}));
  EXPECT_TRUE(w.empty());
  // A broken cache is named and skipped.
  d.write("patroni.dynamic.json", "{broken");
  EXPECT_EQ(startup_dynamic_configuration(local, &w), (json{{"ttl", 45}}));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("patroni.dynamic.json"), std::string::npos) << w[0];
  EXPECT_EQ(startup_dynamic_configuration(json::object()), json::object());
}

TEST(DynamicCache, HoldsTheTimingAsPatroniAdjustedIt) {
  // Patroni adjusts its copy in place and caches that copy.
  EXPECT_EQ(with_adjusted_timing(json{{"ttl", 20}, {"loop_wait", 10}, {"retry_timeout", 10}, {"pause", true}}),
            (json{{"ttl", 20}, {"loop_wait", 1}, {"retry_timeout", 9}, {"pause", true}}));
  EXPECT_EQ(with_adjusted_timing(json{{"ttl", 5}}), (json{{"ttl", 20}, {"loop_wait", 1}, {"retry_timeout", 9}}));
  EXPECT_EQ(with_adjusted_timing(json{{"ttl", "30"}, {"loop_wait", 10}}), (json{{"ttl", "30"}, {"loop_wait", 10}}));
  const json unreadable = json{{"ttl", "soon"}};
  EXPECT_EQ(with_adjusted_timing(unreadable), unreadable);
}
