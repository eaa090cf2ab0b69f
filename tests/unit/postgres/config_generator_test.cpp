// --generate-sample-config: Patroni 4.1's layout and values for a host, the PostgreSQL version
// and the PATRONI_* variables; the text reads back as a configuration that validates.
#include "postgres/config_generator.h"

#include <gtest/gtest.h>

#include "config/validate.h"
#include "config/yaml.h"

namespace custos::postgres {
namespace {

GeneratorHost fake_host(int version) {
  GeneratorHost h;
  h.hostname = "db1";
  h.address = "10.1.2.3";
  h.postgres_version = [version](const std::string&) -> Result<int, std::string> { return version; };
  return h;
}

TEST(ConfigGenerator, SampleForPostgres15) {
  auto text = generate_sample_config({}, fake_host(150000));
  ASSERT_TRUE(text) << text.error();
  const std::string& t = text.value();
  // Sections in Patroni's order, the bootstrap comments, loop_wait/retry_timeout/ttl first.
  const auto scope = t.find("scope: '#FIXME'"), name = t.find("name: db1"), log = t.find("\nlog:"),
             restapi = t.find("\nrestapi:"), bootstrap = t.find("\nbootstrap:"), pg = t.find("\npostgresql:"),
             tags = t.find("\ntags:");
  ASSERT_NE(scope, std::string::npos) << t;
  EXPECT_LT(scope, name);
  EXPECT_LT(name, log);
  EXPECT_LT(log, restapi);
  EXPECT_LT(restapi, bootstrap);
  EXPECT_LT(bootstrap, pg);
  EXPECT_LT(pg, tags);
  EXPECT_NE(t.find("# The bootstrap configuration. Works only when the cluster is not yet initialized.\n"),
            std::string::npos);
  EXPECT_NE(t.find("  dcs:\n    loop_wait: 10\n    retry_timeout: 10\n    ttl: 30\n"), std::string::npos) << t;
  EXPECT_NE(t.back(), '\n');  // as Patroni writes it

  auto parsed = config::parse_yaml(t);
  ASSERT_TRUE(parsed) << t;
  const auto& c = parsed.value();
  EXPECT_EQ(c["restapi"]["listen"], "10.1.2.3:8008");
  EXPECT_EQ(c["postgresql"]["connect_address"], "10.1.2.3:5432");
  EXPECT_EQ(c["postgresql"]["data_dir"], "#FIXME");
  EXPECT_EQ(c["postgresql"]["authentication"]["superuser"]["username"], "postgres");
  EXPECT_EQ(c["postgresql"]["authentication"]["rewind"]["username"], "rewind_user");  // PostgreSQL 11+
  EXPECT_EQ(c["postgresql"]["parameters"]["password_encryption"], "scram-sha-256");
  EXPECT_EQ(c["postgresql"]["pg_hba"],
            nlohmann::json::array({"host all all all scram-sha-256", "host replication replicator all scram-sha-256"}));
  const auto& params = c["bootstrap"]["dcs"]["postgresql"]["parameters"];
  EXPECT_EQ(params["wal_keep_size"], "128MB");
  EXPECT_FALSE(params.contains("wal_keep_segments"));
  EXPECT_EQ(params["wal_level"], "replica");
  EXPECT_EQ(params["hot_standby"], "on");  // quoted: stays a string
  EXPECT_EQ(params["max_connections"], 100);
  EXPECT_EQ(c["bootstrap"]["dcs"]["postgresql"]["use_pg_rewind"], true);
  EXPECT_EQ(c["bootstrap"]["dcs"]["postgresql"]["use_slots"], true);
  EXPECT_EQ(c["tags"]["failover_priority"], 1);
  EXPECT_EQ(c["log"]["format"], "%(asctime)s %(levelname)s: %(message)s");

  // It is a configuration custos accepts (the #FIXME values are strings to fill in) once the
  // DCS section is added, which the sample leaves to the operator as Patroni's does.
  config::ValidateOptions o;
  o.check_listen_port = false;
  o.check_postgres_version = false;
  o.check_data_dir = false;
  for (const auto& p : config::validate_config(c, o)) {
    if (p.severity == config::Severity::kError) {
      EXPECT_NE(p.message.find("exactly one DCS section is required"), std::string::npos) << p.to_string();
    }
  }
  auto with_dcs = c;
  with_dcs["etcd3"] = {{"hosts", "127.0.0.1:2379"}};
  for (const auto& p : config::validate_config(with_dcs, o))
    EXPECT_NE(p.severity, config::Severity::kError) << p.to_string();
}

TEST(ConfigGenerator, OlderServersAndTheEnvironment) {
  auto text = generate_sample_config({{"PATRONI_SCOPE", "batman"}, {"PATRONI_ETCD3_HOSTS", "10.0.0.9:2379"},
                                      {"PATRONI_REPLICATION_USERNAME", "repl"}},
                                     fake_host(90600));
  ASSERT_TRUE(text) << text.error();
  auto c = config::parse_yaml(text.value()).value();
  EXPECT_EQ(c["scope"], "batman");
  EXPECT_EQ(c["etcd3"]["hosts"], nlohmann::json::array({"10.0.0.9:2379"}));
  EXPECT_EQ(c["postgresql"]["parameters"]["password_encryption"], "md5");
  EXPECT_EQ(c["postgresql"]["pg_hba"][1], "host replication repl all md5");
  EXPECT_EQ(c["bootstrap"]["dcs"]["postgresql"]["parameters"]["wal_keep_segments"], 8);
  EXPECT_EQ(c["bootstrap"]["dcs"]["postgresql"]["parameters"]["wal_level"], "replica");
  EXPECT_FALSE(c["postgresql"]["authentication"].contains("rewind"));  // before PostgreSQL 11
  // The etcd3 section comes before bootstrap, as in Patroni's layout.
  EXPECT_LT(text.value().find("\netcd3:"), text.value().find("\nbootstrap:"));
}

TEST(ConfigGenerator, AMissingPostgresBinaryIsPatronisError) {
  GeneratorHost h = fake_host(0);
  h.postgres_version = [](const std::string& b) -> Result<int, std::string> {
    return make_error("Failed to get postgres version: cannot run '" + b + " --version'");
  };
  auto text = generate_sample_config({{"PATRONI_POSTGRESQL_BIN_DIR", "/nowhere"}}, h);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error(), "Failed to get postgres version: cannot run '/nowhere/postgres --version'");
}

}  // namespace
}  // namespace custos::postgres

namespace custos::postgres {
namespace {

TEST(ConfigGenerator, OddlyShapedVariablesAreReplacedNotFatal) {
  for (const char* yaml : {"postgresql: null\n", "postgresql: 5\n", "postgresql:\n  authentication: [1]\n",
                           "postgresql:\n  authentication:\n    replication: x\n  bin_name: 7\n",
                           "bootstrap: text\n", "postgresql:\n  connect_address: 5\n"}) {
    GeneratorHost h;
    h.hostname = "db1";
    h.address = "10.1.2.3";
    h.postgres_version = [](const std::string&) -> Result<int, std::string> { return 150000; };
    auto text = generate_sample_config({{"PATRONI_CONFIGURATION", std::string("scope: s\n") + yaml}}, h);
    ASSERT_TRUE(text) << yaml << ": " << text.error();
    auto c = config::parse_yaml(text.value());
    ASSERT_TRUE(c) << text.value();
    EXPECT_EQ(c.value()["postgresql"]["pg_hba"].size(), 2u) << yaml;
  }
}

}  // namespace
}  // namespace custos::postgres
