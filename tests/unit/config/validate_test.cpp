#include "config/validate.h"

#include "common/presentation.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "config/global_config.h"
#include "config/loader.h"
#include "config/merge.h"
#include "test_util.h"

using namespace custos::config;
using custos::config::testing::fixture_path;
using custos::config::testing::TempDir;

namespace {

ValidateOptions hermetic() {
  ValidateOptions o;
  o.port_is_free = [](const std::string&, int) { return true; };
  o.check_postgres_version = false;
  return o;
}

json full() {
  auto r = load_config_path(fixture_path("patroni_full.yml"));
  EXPECT_TRUE(r.ok());
  return r.value();
}

std::string dump(const std::vector<Problem>& ps) {
  std::string out;
  for (const auto& p : ps) out += p.to_string() + "\n";
  return out;
}

bool has(const std::vector<Problem>& ps, Severity s, const std::string& path, const std::string& text) {
  for (const auto& p : ps)
    if (p.severity == s && p.path == path && p.message.find(text) != std::string::npos) return true;
  return false;
}

// Validates the full fixture with `patch` merged in (null deletes).
std::vector<Problem> with(const std::string& patch_json, ValidateOptions o = hermetic()) {
  json c = full();
  patch_config(c, json::parse(patch_json));
  return validate_config(c, o);
}

#define EXPECT_ERROR(ps, path, text) EXPECT_TRUE(has(ps, Severity::kError, path, text)) << dump(ps)
#define EXPECT_WARNING(ps, path, text) EXPECT_TRUE(has(ps, Severity::kWarning, path, text)) << dump(ps)

}  // namespace

TEST(Validate, FullPatroniConfigIsAcceptedWithoutAnyProblem) {
  auto ps = validate_config(full(), hermetic());
  EXPECT_TRUE(ps.empty()) << dump(ps);
}

TEST(Validate, RequiredKeys) {
  auto ps = with(R"({"name": null, "scope": null, "restapi": {"listen": null, "connect_address": null},
      "postgresql": {"listen": null, "data_dir": null, "authentication": {"superuser": null, "replication": null}}})");
  EXPECT_ERROR(ps, "name", "required");
  EXPECT_ERROR(ps, "scope", "required");
  EXPECT_ERROR(ps, "restapi.listen", "required");
  EXPECT_ERROR(ps, "restapi.connect_address", "required");
  EXPECT_ERROR(ps, "postgresql.listen", "required");
  EXPECT_ERROR(ps, "postgresql.data_dir", "required");
  EXPECT_ERROR(ps, "postgresql.authentication.superuser", "required");
  EXPECT_ERROR(ps, "postgresql.authentication.replication", "required");
  auto sections = with(R"({"restapi": null, "postgresql": null})");
  EXPECT_ERROR(sections, "restapi", "required");
  EXPECT_ERROR(sections, "postgresql", "required");
  auto user = with(R"({"postgresql": {"authentication": {"superuser": {"username": null}}}})");
  EXPECT_ERROR(user, "postgresql.authentication.superuser.username", "required");
}

TEST(Validate, LegacyFormsAreAccepted) {
  auto ps = with(R"({"name": null, "postgresql": {"name": "legacy", "authentication": null,
      "replication": {"username": "r", "password": "p"}, "superuser": {"username": "s"},
      "pg_rewind": {"username": "rw"}, "create_replica_methods": null, "create_replica_method": ["basebackup"]},
      "bootstrap": {"dcs": {"primary_start_timeout": null, "primary_stop_timeout": null,
      "master_start_timeout": 100, "master_stop_timeout": 0}}})");
  EXPECT_FALSE(has_errors(ps)) << dump(ps);
  EXPECT_TRUE(ps.empty()) << dump(ps);
}

TEST(Validate, ExactlyOneDcsSection) {
  auto none = with(R"({"etcd3": null})");
  EXPECT_ERROR(none, "(root)", "exactly one DCS section");
  auto two = with(R"({"zookeeper": {"hosts": ["z:2181"]}})");
  EXPECT_FALSE(has_errors(two)) << dump(two);  // Patroni uses the first; so does custos
  EXPECT_WARNING(two, "zookeeper", "only etcd3 is used");
  auto empty = with(R"({"etcd3": {"hosts": null}})");
  EXPECT_ERROR(empty, "etcd3", "one of host, hosts, url, proxy or srv");
}

TEST(Validate, WrongTypesNameTheKeyAndExpectedType) {
  auto ps = with(R"({"bootstrap": {"dcs": {"ttl": "thirty", "loop_wait": 1.5, "synchronous_mode": "maybe"}},
      "restapi": {"request_queue_size": "big", "allowlist": "10.0.0.1"}, "postgresql": {"pg_ctl_timeout": [1],
      "use_pg_rewind": "sometimes", "pg_hba": "host all all"}, "log": {"file_num": true}, "scope": 7})");
  EXPECT_ERROR(ps, "bootstrap.dcs.ttl", "not an integer (\"thirty\")");
  EXPECT_WARNING(ps, "bootstrap.dcs.loop_wait", "expected an integer, got float: read as 1");  // int(1.5)
  EXPECT_ERROR(ps, "bootstrap.dcs.synchronous_mode", "expected a boolean");
  EXPECT_ERROR(ps, "restapi.request_queue_size", "expected an integer");
  EXPECT_ERROR(ps, "restapi.allowlist", "expected a list of strings");
  EXPECT_ERROR(ps, "postgresql.pg_ctl_timeout", "expected an integer, got list");
  EXPECT_WARNING(ps, "postgresql.use_pg_rewind", "\"sometimes\" is read as true");  // truthiness
  EXPECT_ERROR(ps, "postgresql.pg_hba", "expected a list of strings");
  EXPECT_ERROR(ps, "log.file_num", "expected an integer, got boolean");
  EXPECT_ERROR(ps, "scope", "expected a string, got integer");
}

TEST(Validate, NumericStringsAreAcceptedWithAWarning) {
  json c = full();
  c["bootstrap"]["dcs"]["ttl"] = "30";  // (patch_config would keep 30: Python str() compares equal)
  auto ps = validate_config(c, hermetic());
  EXPECT_FALSE(has_errors(ps)) << dump(ps);
  EXPECT_WARNING(ps, "bootstrap.dcs.ttl", "accepted as 30");
}

TEST(Validate, BootstrapDcsMinimumsAndRanges) {
  auto ps = with(R"({"bootstrap": {"dcs": {"ttl": 5, "loop_wait": 0, "retry_timeout": 2,
      "maximum_lag_on_failover": -1, "maximum_lag_on_syncnode": -2, "synchronous_node_count": 0,
      "primary_start_timeout": -1, "primary_stop_timeout": -5, "standby_cluster": {"port": 70000},
      "postgresql": {"parameters": {"max_connections": 0, "max_locks_per_transaction": 5,
      "max_prepared_transactions": 300000, "max_replication_slots": -1, "max_wal_senders": 262144,
      "max_worker_processes": 999999}}}}})");
  // The nodes raise these (Patroni's words): warnings.
  EXPECT_WARNING(ps, "bootstrap.dcs", "ttl=5 can't be smaller than 20, adjusting...");
  EXPECT_WARNING(ps, "bootstrap.dcs", "loop_wait=0 can't be smaller than 1, adjusting...");
  EXPECT_WARNING(ps, "bootstrap.dcs", "retry_timeout=2 can't be smaller than 3, adjusting...");
  EXPECT_ERROR(ps, "bootstrap.dcs.maximum_lag_on_failover", "must be >= 0");
  EXPECT_ERROR(ps, "bootstrap.dcs.maximum_lag_on_syncnode", "must be >= -1");
  EXPECT_ERROR(ps, "bootstrap.dcs.synchronous_node_count", "must be >= 1");
  EXPECT_ERROR(ps, "bootstrap.dcs.primary_start_timeout", "must be >= 0");
  EXPECT_ERROR(ps, "bootstrap.dcs.primary_stop_timeout", "must be >= 0");
  EXPECT_ERROR(ps, "bootstrap.dcs.standby_cluster.port", "must be <= 65535");
  const std::string p = "bootstrap.dcs.postgresql.parameters.";
  EXPECT_ERROR(ps, p + "max_connections", "must be >= 1");
  EXPECT_ERROR(ps, p + "max_locks_per_transaction", "must be >= 10");
  EXPECT_ERROR(ps, p + "max_prepared_transactions", "must be <= 262143");
  EXPECT_ERROR(ps, p + "max_replication_slots", "must be >= 0");
  EXPECT_ERROR(ps, p + "max_wal_senders", "must be <= 262143");
  EXPECT_ERROR(ps, p + "max_worker_processes", "must be <= 262143");
}

TEST(Validate, CommandLineParameterNotAcceptedIsAWarning) {
  auto ps = with(R"({"bootstrap": {"dcs": {"postgresql": {"parameters": {"max_connections": 10,
      "port": 5433}}}}, "postgresql": {"parameters": {"wal_level": "logical"}}})");
  EXPECT_FALSE(has_errors(ps)) << dump(ps);
  EXPECT_WARNING(ps, "bootstrap.dcs.postgresql.parameters.max_connections", "default 100");
  EXPECT_WARNING(ps, "bootstrap.dcs.postgresql.parameters.port", "ignored");
  EXPECT_WARNING(ps, "postgresql.parameters.wal_level", "local value is ignored");
}

TEST(Validate, TimingRuleNamesTheThreeValues) {
  auto ps = with(R"({"bootstrap": {"dcs": {"ttl": 30, "loop_wait": 15, "retry_timeout": 10}}})");
  EXPECT_FALSE(has_errors(ps)) << dump(ps);  // the nodes lower loop_wait
  EXPECT_WARNING(ps, "bootstrap.dcs",
                 "Violated the rule \"loop_wait + 2*retry_timeout <= ttl\", where ttl=30 and retry_timeout=10. "
                 "Adjusting loop_wait from 15 to 10");
  // Defaults count for missing keys.
  auto ps2 = with(R"({"bootstrap": {"dcs": {"ttl": 25}}})");
  EXPECT_WARNING(ps2, "bootstrap.dcs", "Adjusting loop_wait from 10 to 5");
  // A null is not a missing key: int(None) raises.
  auto ps3 = validate_dynamic_configuration(json::parse(R"({"ttl": 25, "loop_wait": null})"), "");
  EXPECT_ERROR(ps3, "loop_wait", "not an integer");
}

TEST(Validate, ConnectAddressMustNotBeLoopbackOrWildcard) {
  for (const char* addr : {"127.0.0.1:8008", "0.0.0.0:8008", "*:8008", "localhost:8008", "[::1]:8008"}) {
    auto ps = with(std::string(R"({"restapi": {"connect_address": ")") + addr + "\"}}");
    EXPECT_ERROR(ps, "restapi.connect_address", "loopback") << addr;
  }
  auto pg = with(R"({"postgresql": {"connect_address": "127.0.0.1:5432"}})");
  EXPECT_ERROR(pg, "postgresql.connect_address", "loopback");
  auto noport = with(R"({"restapi": {"connect_address": "10.0.0.1"}})");
  EXPECT_ERROR(noport, "restapi.connect_address", "port is missing");
  auto badport = with(R"({"restapi": {"listen": "0.0.0.0:99999"}})");
  EXPECT_ERROR(badport, "restapi.listen", "1..65535");
  // "::" is not in Patroni's list: a warning.
  auto any6 = with(R"({"restapi": {"connect_address": "[::]:8008"}})");
  EXPECT_FALSE(has_errors(any6)) << dump(any6);
  EXPECT_WARNING(any6, "restapi.connect_address", "wildcard");
}

TEST(Validate, RestapiListenPortMustBeFree) {
  ValidateOptions o = hermetic();
  std::string seen_host;
  int seen_port = 0;
  o.port_is_free = [&](const std::string& h, int p) {
    seen_host = h;
    seen_port = p;
    return false;
  };
  auto ps = with("{}", o);
  EXPECT_ERROR(ps, "restapi.listen", "already in use");
  EXPECT_EQ(seen_host, "0.0.0.0");
  EXPECT_EQ(seen_port, 8008);
  o.check_listen_port = false;
  EXPECT_FALSE(has_errors(with("{}", o)));
}

TEST(Validate, DefaultPortCheckSeesABoundPort) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  EXPECT_FALSE(default_port_is_free("127.0.0.1", port));
  ::close(fd);
}

TEST(Validate, PostgresqlListenMayListSeveralHosts) {
  EXPECT_TRUE(with(R"({"postgresql": {"listen": "10.0.0.1, 127.0.0.1:5432"}})").empty());
  EXPECT_TRUE(with(R"({"postgresql": {"listen": "*"}})").empty());
  auto ps = with(R"({"postgresql": {"listen": "a,,b:5432"}})");
  EXPECT_ERROR(ps, "postgresql.listen", "empty host");
}

TEST(Validate, DataDirEmptyAbsentOrValid) {
  TempDir d;
  auto check = [&](const std::string& dir, ValidateOptions o = hermetic()) {
    return with(R"({"postgresql": {"data_dir": ")" + dir + "\"}}", o);
  };
  EXPECT_TRUE(check(d.file("absent")).empty());
  std::filesystem::create_directories(d.file("empty/lost+found"));
  EXPECT_TRUE(check(d.file("empty")).empty());
  d.write("junk/file.txt", "x");
  EXPECT_ERROR(check(d.file("junk")), "postgresql.data_dir", "PG_VERSION");
  d.write("nowal/PG_VERSION", "16\n");
  EXPECT_ERROR(check(d.file("nowal")), "postgresql.data_dir", "pg_wal");
  d.write("old/PG_VERSION", "9.6\n");
  std::filesystem::create_directories(d.file("old/pg_xlog"));
  EXPECT_TRUE(check(d.file("old")).empty());
  d.write("good/PG_VERSION", "16\n");
  std::filesystem::create_directories(d.file("good/pg_wal"));
  EXPECT_TRUE(check(d.file("good")).empty());
  ValidateOptions o = hermetic();
  o.check_postgres_version = true;
  std::string binary;
  o.postgres_major_version = [&](const std::string& b) {
    binary = b;
    return std::optional<std::string>("15");
  };
  EXPECT_ERROR(check(d.file("good"), o), "postgresql.data_dir", "does not match");
  EXPECT_EQ(binary, "/usr/lib/postgresql/16/bin/postgres");
  o.postgres_major_version = [](const std::string&) { return std::optional<std::string>(); };
  EXPECT_WARNING(check(d.file("good"), o), "postgresql.data_dir", "could not run");
  auto file = d.write("afile", "x");
  EXPECT_ERROR(check(file), "postgresql.data_dir", "not a directory");
  EXPECT_ERROR(with(R"({"postgresql": {"data_dir": ""}})"), "postgresql.data_dir", "empty");
}

TEST(Validate, TagsContradiction) {
  // Patroni warns (and nofailover wins); it does not refuse.
  auto ps = with(R"({"tags": {"nofailover": true, "failover_priority": 5}})");
  EXPECT_FALSE(has_errors(ps)) << dump(ps);
  EXPECT_WARNING(ps, "tags",
                 "Conflicting configuration between nofailover: True and failover_priority: 5. Defaulting to "
                 "nofailover: True");
  auto ps2 = with(R"({"tags": {"nofailover": false, "failover_priority": 0}})");
  EXPECT_WARNING(ps2, "tags",
                 "Conflicting configuration between nofailover: False and failover_priority: 0. Defaulting to "
                 "nofailover: False");
  EXPECT_TRUE(contradictory_tag_warnings(json::parse(R"({"nofailover": true, "failover_priority": 0})")).empty());
  EXPECT_EQ(contradictory_tag_warnings(json::parse(R"({"nosync": true, "sync_priority": 2})")),
            (std::vector<std::string>{
                "Conflicting configuration between nosync: True and sync_priority: 2. Defaulting to nosync: True"}));
  auto ps4 = with(R"({"tags": {"nofailover": null, "failover_priority": -1}})");
  EXPECT_ERROR(ps4, "tags.failover_priority", "must be >= 0");
  EXPECT_ERROR(with(R"({"tags": {"sync_priority": -2}})"), "tags.sync_priority", "must be >= 0");
  EXPECT_FALSE(has_errors(with(R"({"tags": {"sync_priority": 3}})")));
}

// Tags read with truthiness: a quoted value is read as Patroni reads it (any non-empty string is
// true) and named in a warning, never refused; nostream is read with parse_bool.
TEST(Validate, QuotedBooleanTagsWarnThatTheyAreTrue) {
  auto ps = with(R"({"tags": {"nofailover": "false", "clonefrom": "no", "noloadbalance": "", "nosync": "maybe",
      "nostream": "false"}})");
  EXPECT_FALSE(has_errors(ps)) << dump(ps);
  EXPECT_WARNING(ps, "tags.nofailover", "the string \"false\" is read as true");
  EXPECT_WARNING(ps, "tags.nofailover", "Patroni and custos read any non-empty string here as true");
  EXPECT_WARNING(ps, "tags.nofailover", "write an unquoted boolean (false)");
  EXPECT_WARNING(ps, "tags.clonefrom", "the string \"no\" is read as true");
  EXPECT_WARNING(ps, "tags.noloadbalance", "the empty string is read as false");
  EXPECT_WARNING(ps, "tags.nosync", "unquoted boolean (true or false)");
  EXPECT_WARNING(ps, "tags.nostream", "accepted as false");  // parse_bool: "false" is false
  // A quoted "false" is nofailover, so it contradicts a positive failover_priority.
  auto c = with(R"({"tags": {"nofailover": "false", "failover_priority": 2, "noloadbalance": null, "clonefrom": null,
      "nosync": null, "nostream": null}})");
  EXPECT_WARNING(c, "tags",
                 "Conflicting configuration between nofailover: false and failover_priority: 2. Defaulting to "
                 "nofailover: false");  // Patroni prints the raw value
}

TEST(Validate, QuotedTruthinessBooleansOutsideTags) {
  auto ps = with(R"({"postgresql": {"use_pg_rewind": "false", "remove_data_directory_on_rewind_failure": "off"},
      "ctl": {"insecure": "no"}, "bootstrap": {"dcs": {"postgresql": {"use_pg_rewind": "no", "use_slots": "off"}}}})");
  EXPECT_FALSE(has_errors(ps)) << dump(ps);
  EXPECT_WARNING(ps, "postgresql.use_pg_rewind", "is read as true");
  EXPECT_WARNING(ps, "postgresql.remove_data_directory_on_rewind_failure", "is read as true");
  EXPECT_WARNING(ps, "ctl.insecure", "is read as true");
  EXPECT_WARNING(ps, "bootstrap.dcs.postgresql.use_pg_rewind", "is read as true");
  EXPECT_WARNING(ps, "bootstrap.dcs.postgresql.use_slots", "accepted as false");  // parse_bool
}

TEST(Validate, WatchdogSafetyMarginAndMode) {
  EXPECT_ERROR(with(R"({"watchdog": {"safety_margin": -2}})"), "watchdog.safety_margin", "must be >= -1");
  EXPECT_TRUE(with(R"({"watchdog": {"safety_margin": -1, "mode": "off"}})").empty());
  EXPECT_TRUE(with(R"({"watchdog": {"mode": false}})").empty());
  EXPECT_TRUE(with(R"({"watchdog": {"mode": "Required"}})").empty());
  EXPECT_ERROR(with(R"({"watchdog": {"mode": "sometimes"}})"), "watchdog.mode", "must be one of");
  EXPECT_WARNING(with(R"({"watchdog": {"safety_margin": 25}})"), "watchdog.safety_margin", "below loop_wait");
}

TEST(Validate, InitdbForbiddenOptions) {
  for (const char* opt : {"pgdata", "nosync", "pwfile", "sync-only", "version"}) {
    auto ps = with(std::string(R"({"bootstrap": {"initdb": ["data-checksums", ")") + opt + "\"]}}");
    EXPECT_ERROR(ps, "bootstrap.initdb[1]", opt);
  }
  EXPECT_ERROR(with(R"({"bootstrap": {"initdb": [{"pgdata": "/x"}]}})"), "bootstrap.initdb[0]", "pgdata");
  EXPECT_ERROR(with(R"({"bootstrap": {"initdb": {"pwfile": "/x"}}})"), "bootstrap.initdb.pwfile", "not allowed");
  EXPECT_ERROR(with(R"({"bootstrap": {"initdb": [5]}})"), "bootstrap.initdb[0]", "expected an option");
  EXPECT_TRUE(with(R"({"bootstrap": {"initdb": {"encoding": "UTF8", "data-checksums": true}}})").empty());
}

TEST(Validate, BasebackupForbiddenOptions) {
  for (const char* opt : {"pgdata", "format", "wal-method", "xlog-method", "gzip", "version", "compress", "dbname",
                          "host", "port", "username", "password"}) {
    auto ps = with(std::string(R"({"postgresql": {"basebackup": [{")") + opt + R"(": "x"}]}})");
    EXPECT_ERROR(ps, "postgresql.basebackup[0]", opt);
  }
  EXPECT_ERROR(with(R"({"postgresql": {"basebackup": {"gzip": true}}})"), "postgresql.basebackup.gzip", "not allowed");
}

TEST(Validate, CustomBootstrapMethodNeedsItsSection) {
  EXPECT_TRUE(with(R"({"bootstrap": {"method": "clone_with_wale"}})").empty());
  // Patroni runs initdb when the method has no section or no command: a warning, no refusal.
  auto missing = with(R"({"bootstrap": {"method": "missing"}})");
  EXPECT_FALSE(has_errors(missing)) << dump(missing);
  EXPECT_WARNING(missing, "bootstrap.method", "bootstrap.missing");
  for (const char* section : {R"({"no_params": true})", R"({"command": null})"}) {
    auto no_command = with(std::string(R"({"bootstrap": {"method": "restore", "restore": )") + section + "}}");
    EXPECT_FALSE(has_errors(no_command)) << dump(no_command);
    EXPECT_WARNING(no_command, "bootstrap.restore.command", "initdb runs");
  }
  EXPECT_ERROR(with(R"({"bootstrap": {"method": "restore", "restore": {"command": 5}}})"), "bootstrap.restore.command",
               "");
}

TEST(Validate, UnknownKeysAreWarningsFreeFormSectionsAreNot) {
  auto ps = with(R"({"restapi": {"lisen": "x"}, "postgresql": {"data_dri": "/x", "authentication": {"superuser":
      {"sslmod": "x"}}, "callbacks": {"on_strat": "x"}}, "bogus": 1, "log": {"levle": "INFO"},
      "etcd3": {"hostss": "x"}, "watchdog": {"devise": "x"}, "citus": {"grop": 1}, "ctl": {"insecur": true},
      "bootstrap": {"dcs": {"standby_cluster": {"hots": "x"}}, "pg_hab": ["x"]}, "ttl": 30})");
  EXPECT_FALSE(has_errors(ps)) << dump(ps);
  for (const char* k : {"restapi.lisen", "postgresql.data_dri", "postgresql.authentication.superuser.sslmod",
                        "postgresql.callbacks.on_strat", "bogus", "log.levle", "etcd3.hostss", "watchdog.devise",
                        "citus.grop", "ctl.insecur", "bootstrap.dcs.standby_cluster.hots", "bootstrap.pg_hab"}) {
    EXPECT_TRUE(has(ps, Severity::kWarning, k, "unknown") || has(ps, Severity::kWarning, k, "dropped")) << k << "\n"
                                                                                                         << dump(ps);
  }
  EXPECT_WARNING(ps, "ttl", "bootstrap.dcs");
  // Free-form places: parameters, tags, bootstrap.dcs custom keys, custom method sections.
  auto free = with(R"({"postgresql": {"parameters": {"anything.goes": 1}, "my_method": {"command": "x", "opt": 1},
      "recovery_conf": {"whatever": 1}}, "tags": {"zone": "a", "weight": [1]},
      "bootstrap": {"dcs": {"citus_custom": {"x": 1}}, "my_restore": {"command": "x", "free": 1}}})");
  EXPECT_TRUE(free.empty()) << dump(free);
}

TEST(Validate, ReplicaMethodWithoutCommandWarns) {
  auto ps = with(R"({"postgresql": {"create_replica_methods": ["pgbackrest", "basebackup"]}})");
  EXPECT_WARNING(ps, "postgresql.create_replica_methods", "pgbackrest");
}

TEST(Validate, DcsSpecificChecks) {
  auto k = with(R"({"etcd3": null, "kubernetes": {"pod_ip": "not-an-ip", "ports": [{"name": "pg"}],
      "retriable_http_codes": [401, "x"]}})");
  EXPECT_ERROR(k, "kubernetes.labels", "required");
  EXPECT_ERROR(k, "kubernetes.pod_ip", "IPv4 or IPv6");
  EXPECT_ERROR(k, "kubernetes.ports[0].port", "required");
  EXPECT_ERROR(k, "kubernetes.retriable_http_codes[1]", "expected an integer");
  EXPECT_TRUE(with(R"({"etcd3": null, "kubernetes": {"labels": {"app": "pg"}, "pod_ip": "fe80::1"}})").empty());
  auto z = with(R"({"etcd3": null, "zookeeper": {"hosts": "a:2181,b:2181", "set_acls": {"CN=x": ["READ", "FLY"]}}})");
  EXPECT_ERROR(z, "zookeeper.set_acls.CN=x", "FLY");
  auto c = with(R"({"etcd3": null, "consul": {"consistency": "eventual"}})");
  EXPECT_ERROR(c, "consul", "host or url");
  EXPECT_ERROR(c, "consul.consistency", "must be one of");
  auto e = with(R"({"etcd3": {"protocol": "ftp", "use_proxies": "sure"}})");
  EXPECT_ERROR(e, "etcd3.protocol", "must be one of");
  EXPECT_ERROR(e, "etcd3.use_proxies", "expected a boolean");
}

TEST(Validate, SlotsAndCitus) {
  auto ps = with(R"({"bootstrap": {"dcs": {"slots": {"a": {"type": "logical", "database": "db"}, "b": {"type": "x"},
      "c": 5}, "ignore_slots": {"name": "x"}}}, "citus": {"group": -1, "database": null}})");
  EXPECT_ERROR(ps, "bootstrap.dcs.slots.a.plugin", "logical");
  EXPECT_ERROR(ps, "bootstrap.dcs.slots.b.type", "must be one of");
  EXPECT_ERROR(ps, "bootstrap.dcs.slots.c", "Bad value for slot");
  EXPECT_ERROR(ps, "bootstrap.dcs.ignore_slots", "expected a list");
  EXPECT_ERROR(ps, "citus.group", "must be >= 0");
  EXPECT_ERROR(ps, "citus.database", "required");
}

TEST(Validate, DynamicConfigurationOnItsOwn) {
  auto ps = validate_dynamic_configuration(json::parse(R"({"ttl": 10, "pause": "yes"})"), "");
  // Nodes raise ttl to 20 and then lower loop_wait (Patroni's words), so a warning, not an error.
  EXPECT_WARNING(ps, "(root)", "ttl=10 can't be smaller than 20, adjusting...");
  EXPECT_WARNING(ps, "(root)", "Adjusting loop_wait from 10 to 1 and retry_timeout from 10 to 9");
  EXPECT_WARNING(ps, "pause", "accepted as true");
  auto root = validate_dynamic_configuration(json(5), "");
  EXPECT_ERROR(root, "(root)", "expected a mapping");
}

// Patroni 4: synchronous_mode takes a boolean or "quorum" (any case); other strings that are
// no boolean are errors; sync_priority is a tag >= 0.
TEST(Validate, MemberSlotsTtl) {
  EXPECT_TRUE(validate_dynamic_configuration(json::parse(R"({"member_slots_ttl": "30min"})"), "").empty());
  EXPECT_TRUE(validate_dynamic_configuration(json::parse(R"({"member_slots_ttl": 0})"), "").empty());
  EXPECT_ERROR(validate_dynamic_configuration(json::parse(R"({"member_slots_ttl": "a while"})"), ""),
               "member_slots_ttl", "time with its unit");
  EXPECT_ERROR(validate_dynamic_configuration(json::parse(R"({"member_slots_ttl": -1})"), ""), "member_slots_ttl",
               ">= 0");
}

TEST(Validate, SynchronousModeQuorumAndSyncPriority) {
  EXPECT_TRUE(validate_dynamic_configuration(json::parse(R"({"synchronous_mode": "Quorum"})"), "").empty());
  EXPECT_TRUE(validate_dynamic_configuration(json::parse(R"({"synchronous_mode": true})"), "").empty());
  auto ps = validate_dynamic_configuration(json::parse(R"({"synchronous_mode": "majority"})"), "");
  EXPECT_ERROR(ps, "synchronous_mode", "expected a boolean");
  GlobalConfig q(json::parse(R"({"synchronous_mode": "QUORUM"})"));
  EXPECT_TRUE(q.is_quorum_commit_mode());
  EXPECT_TRUE(q.is_synchronous_mode());
  EXPECT_FALSE(GlobalConfig(json::parse(R"({"synchronous_mode": true})")).is_quorum_commit_mode());
  EXPECT_FALSE(GlobalConfig(json::parse(R"({"synchronous_mode": "quorum", "standby_cluster": {"host": "h"}})"))
                   .is_synchronous_mode());
}

TEST(Validate, DynamicConfigurationAsTheNodesReadIt) {
  auto ps = validate_dynamic_configuration(json::parse(R"({"loop_wait": "often", "ttl": "30", "bogus_key": 1,
      "slots": {"Bad-Name": null, "phys": 0, "logi": {"database": "db", "plugin": "pgoutput"},
                "half": {"database": "db"}, "weird": 5, "lonely": {"type": "logical", "plugin": "p"}}})"),
                                           "");
  EXPECT_ERROR(ps, "loop_wait", "not an integer");
  EXPECT_ERROR(ps, "slots.Bad-Name", "Invalid permanent replication slot name");
  EXPECT_ERROR(ps, "slots.weird", "Bad value for slot");
  EXPECT_ERROR(ps, "slots.lonely.database", "required for a logical slot");
  for (const auto& p : ps) {
    if (p.path == "ttl") {
      EXPECT_EQ(p.message, "a string, accepted as 30");  // int("30")
    }
    EXPECT_NE(p.path.rfind("slots.phys", 0), 0u) << p.path;  // falsy: a physical slot
    EXPECT_NE(p.path.rfind("slots.logi", 0), 0u) << p.path;  // database + plugin: logical
    EXPECT_NE(p.path.rfind("slots.half", 0), 0u) << p.path;  // no type, no plugin: physical
  }
}

TEST(Validate, DynamicConfigurationProblemsNameUnknownKeys) {
  auto problems = dynamic_configuration_problems(json::parse(R"({"ttl": 30, "bogus_key": 1, "member_slots_ttl": 1})"));
  EXPECT_EQ(problems, (std::vector<std::string>{"bogus_key: unknown key (ignored)"}));
}

TEST(Validate, YamlErrorsCarryLineAndColumn) {
  auto ps = validate_config_text("scope: s\nname: [oops\nrestapi: {}\n");
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].severity, Severity::kError);
  EXPECT_NE(ps[0].message.find("line "), std::string::npos) << ps[0].message;
  EXPECT_NE(ps[0].message.find("column "), std::string::npos) << ps[0].message;
}

// Python keeps integers of any size and Patroni's validator takes them: custos says so and
// refuses nothing (the values are then clamped where they are used).
TEST(Validate, IntegersBeyond64BitsAreWarningsNotErrors) {
  auto ps = with(R"({"bootstrap": {"dcs": {"ttl": 99999999999999999999999999999999, "loop_wait": 18446744073709551615}},
                     "tags": {"failover_priority": 18446744073709551615},
                     "restapi": {"request_queue_size": 99999999999999999999999}})");
  EXPECT_FALSE(has_errors(ps)) << dump(ps);
  EXPECT_WARNING(ps, "bootstrap.dcs", "ttl=");  // then clamped as every node clamps it
  EXPECT_WARNING(ps, "tags.failover_priority", "beyond 64 bits");
  EXPECT_WARNING(ps, "restapi.request_queue_size", "beyond 64 bits");
}

TEST(Validate, GarbageGivesErrorsNeverACrash) {
  std::vector<std::string> inputs = {
      "- a\n- b\n", "42\n", "just text\n", "~\n", "", "{}\n", "scope: [1, 2]\nname: {a: b}\n",
      "restapi: 5\npostgresql: [1]\netcd3: true\nbootstrap: x\ntags: 1\nlog: []\nwatchdog: 1\nctl: 2\ncitus: 3\n",
      "restapi: {listen: [1], connect_address: {a: 1}, authentication: 5}\n"
      "postgresql: {listen: 5, data_dir: [], authentication: {superuser: 1, replication: [1]}, parameters: 1,"
      " bin_name: 1, callbacks: [], basebackup: 5, create_replica_methods: 5}\n"
      "bootstrap: {dcs: {ttl: {}, postgresql: 5, standby_cluster: 1, slots: [], ignore_slots: [1]}, initdb: 5,"
      " users: 5, method: 5}\netcd3: {hosts: 5, host: [], protocol: 5}\ntags: {nofailover: [], failover_priority: x}\n",
      std::string("scope: \"\\x00\"\nname: \xff\xfe\n"),
      std::string(200000, '['),
  };
  std::string deep;
  for (int i = 0; i < 400; ++i) deep += std::string(i, ' ') + "k" + std::to_string(i) + ":\n";
  inputs.push_back(deep);
  std::mt19937 rng(42);
  for (int n = 0; n < 200; ++n) {
    std::string bytes(rng() % 300, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng() % 256);
    inputs.push_back(bytes);
    std::string yamlish;
    const char* pieces[] = {"a", ":", " ", "\n", "-", "[", "]", "{", "}", ",", "'", "\"", "&x", "*x", "!!str",
                            "<<", "ttl", "postgresql", "  ", "5", "#", "|", ">", "?", "%YAML 1.1\n", "---\n"};
    for (int i = 0; i < 60; ++i) yamlish += pieces[rng() % (sizeof pieces / sizeof *pieces)];
    inputs.push_back(yamlish);
  }
  for (const auto& in : inputs) {
    std::vector<Problem> ps;
    EXPECT_NO_THROW(ps = validate_config_text(in, hermetic())) << in.substr(0, 80);
    EXPECT_TRUE(has_errors(ps)) << in.substr(0, 80);
    for (const auto& p : ps) EXPECT_NO_THROW((void)json(p.to_string()).dump());
  }
}

TEST(Validate, ValidateConfigPathReadsDirectories) {
  TempDir d;
  d.write("a.yml", custos::config::testing::read_file(fixture_path("patroni_full.yml")));
  d.write("b.yml", "bootstrap:\n  dcs:\n    ttl: 5\n");
  auto ps = validate_config_path(d.path(), hermetic());
  EXPECT_WARNING(ps, "bootstrap.dcs", "ttl=5 can't be smaller than 20");
  auto missing = validate_config_path("/nonexistent/file.yml", hermetic());
  EXPECT_TRUE(has_errors(missing));
}

TEST(Validate, CustosCompatChoosesThePatroniGeneration) {
  EXPECT_EQ(dump(with(R"({"custos": {"compat": "4.1"}})")), "");
  EXPECT_EQ(dump(with(R"({"custos": {"compat": "3.3"}})")), "");
  EXPECT_EQ(dump(with(R"({"custos": {"compat": 3.3}})")), "");  // YAML reads 3.3 as a number
  auto bad = with(R"({"custos": {"compat": "5.0"}})");
  EXPECT_ERROR(bad, "custos.compat", "must be \"3.3\" or \"4.1\", got \"5.0\"");
  EXPECT_WARNING(with(R"({"custos": {"comapt": "4.1"}})"), "custos.comapt", "unknown key");
  EXPECT_ERROR(with(R"({"custos": "4.1"})"), "custos", "mapping");
  // What the agent reads.
  EXPECT_EQ(custos::presentation_of_config(json::parse(R"({"custos": {"compat": "3.3"}})")),
            custos::PatroniGeneration::v3_3);
  EXPECT_EQ(custos::presentation_of_config(json::parse(R"({"custos": {"compat": 4.1}})")),
            custos::PatroniGeneration::v4_1);
  EXPECT_EQ(custos::presentation_of_config(json::object()), custos::PatroniGeneration::v4_1);
  EXPECT_EQ(custos::presentation_of_config(json::parse(R"({"custos": {"compat": "nonsense"}})")),
            custos::PatroniGeneration::v4_1);
}

TEST(Validate, ServerTokensAsPatroni41ReadsThem) {
  for (const char* v : {"Original", "ProductOnly", "Minimal", "minimal"})
    EXPECT_EQ(dump(with(std::string(R"({"restapi": {"server_tokens": ")") + v + "\"}}")), "") << v;
  EXPECT_WARNING(with(R"({"restapi": {"server_tokens": "Full"}})"), "restapi.server_tokens",
                 "must be Original, ProductOnly or Minimal");
}
