#include "config/env.h"

#include <gtest/gtest.h>

#include "common/presentation.h"

#include <cstdlib>

using custos::config::build_environment_configuration;
using custos::config::EnvMap;
using custos::config::json;

namespace {
json build(const EnvMap& env) { return build_environment_configuration(env); }
}  // namespace

TEST(Env, GlobalsAndSections) {
  json c = build({{"PATRONI_NAME", "node1"},
                  {"PATRONI_NAMESPACE", "/db/"},
                  {"PATRONI_SCOPE", "batman"},
                  {"PATRONI_RESTAPI_LISTEN", "0.0.0.0:8008"},
                  {"PATRONI_RESTAPI_CONNECT_ADDRESS", "10.0.0.1:8008"},
                  {"PATRONI_RESTAPI_CERTFILE", "/c.pem"},
                  {"PATRONI_RESTAPI_KEYFILE_PASSWORD", "kp"},
                  {"PATRONI_RESTAPI_CIPHERS", "HIGH"},
                  {"PATRONI_RESTAPI_VERIFY_CLIENT", "required"},
                  {"PATRONI_POSTGRESQL_LISTEN", "*:5432"},
                  {"PATRONI_POSTGRESQL_CONNECT_ADDRESS", "10.0.0.1:5432"},
                  {"PATRONI_POSTGRESQL_PROXY_ADDRESS", "10.0.0.1:6432"},
                  {"PATRONI_POSTGRESQL_DATA_DIR", "/data"},
                  {"PATRONI_POSTGRESQL_CONFIG_DIR", "/conf"},
                  {"PATRONI_POSTGRESQL_PGPASS", "/tmp/pgpass"},
                  {"PATRONI_POSTGRESQL_BIN_DIR", "/usr/lib/postgresql/16/bin"},
                  {"PATRONI_POSTGRESQL_BIN_PG_CTL", "pg_ctl16"},
                  {"PATRONI_POSTGRESQL_BIN_PG_ISREADY", "isready"},
                  {"PATRONI_EMPTY", ""}});
  EXPECT_EQ(c["name"], "node1");
  EXPECT_EQ(c["namespace"], "/db/");
  EXPECT_EQ(c["scope"], "batman");
  EXPECT_EQ(c["restapi"]["listen"], "0.0.0.0:8008");
  EXPECT_EQ(c["restapi"]["connect_address"], "10.0.0.1:8008");
  EXPECT_EQ(c["restapi"]["certfile"], "/c.pem");
  EXPECT_EQ(c["restapi"]["keyfile_password"], "kp");
  EXPECT_EQ(c["restapi"]["ciphers"], "HIGH");
  EXPECT_EQ(c["restapi"]["verify_client"], "required");
  EXPECT_EQ(c["postgresql"]["listen"], "*:5432");
  EXPECT_EQ(c["postgresql"]["proxy_address"], "10.0.0.1:6432");
  EXPECT_EQ(c["postgresql"]["data_dir"], "/data");
  EXPECT_EQ(c["postgresql"]["config_dir"], "/conf");
  EXPECT_EQ(c["postgresql"]["pgpass"], "/tmp/pgpass");
  EXPECT_EQ(c["postgresql"]["bin_dir"], "/usr/lib/postgresql/16/bin");
  EXPECT_EQ(c["postgresql"]["bin_name"]["pg_ctl"], "pg_ctl16");
  EXPECT_EQ(c["postgresql"]["bin_name"]["pg_isready"], "isready");
  EXPECT_FALSE(c.contains("empty"));
}

TEST(Env, DocumentedQuirkBinIsReadyIsNotRecognised) {
  json c = build({{"PATRONI_POSTGRESQL_BIN_IS_READY", "x"}});
  EXPECT_FALSE(c.contains("postgresql"));
}

TEST(Env, EmptyEnvironmentGivesEmptyObject) {
  json c = build({});
  EXPECT_TRUE(c.is_object());
  EXPECT_TRUE(c.empty());
}

TEST(Env, RestapiTypeCoercions) {
  json c = build({{"PATRONI_RESTAPI_ALLOWLIST", "10.0.0.0/8, 127.0.0.1"},
                  {"PATRONI_RESTAPI_ALLOWLIST_INCLUDE_MEMBERS", "on"},
                  {"PATRONI_RESTAPI_REQUEST_QUEUE_SIZE", "10"},
                  {"PATRONI_RESTAPI_HTTP_EXTRA_HEADERS", "X-Frame-Options: SAMEORIGIN"},
                  {"PATRONI_RESTAPI_HTTPS_EXTRA_HEADERS", "{A: b, C: d}"},
                  {"PATRONI_RESTAPI_USERNAME", "u"},
                  {"PATRONI_RESTAPI_PASSWORD", "p"}});
  EXPECT_EQ(c["restapi"]["allowlist"], json::parse(R"(["10.0.0.0/8", "127.0.0.1"])"));
  EXPECT_EQ(c["restapi"]["allowlist_include_members"], true);
  EXPECT_EQ(c["restapi"]["request_queue_size"], 10);
  EXPECT_EQ(c["restapi"]["http_extra_headers"], json::parse(R"({"X-Frame-Options": "SAMEORIGIN"})"));
  EXPECT_EQ(c["restapi"]["https_extra_headers"], json::parse(R"({"A": "b", "C": "d"})"));
  EXPECT_EQ(c["restapi"]["authentication"], json::parse(R"({"username": "u", "password": "p"})"));
}

TEST(Env, UnparsableValuesAreDroppedWithAWarning) {
  std::vector<std::string> warnings;
  json c = build_environment_configuration({{"PATRONI_RESTAPI_REQUEST_QUEUE_SIZE", "many"},
                                            {"PATRONI_CTL_INSECURE", "maybe"},
                                            {"PATRONI_ETCD3_PORT", "abc"},
                                            {"PATRONI_ETCD3_USE_PROXIES", "perhaps"},
                                            {"PATRONI_KUBERNETES_LABELS", "{a: [}"}},
                                           &warnings);
  EXPECT_FALSE(c.contains("restapi"));
  EXPECT_FALSE(c.contains("ctl"));
  EXPECT_FALSE(c.contains("etcd3"));
  EXPECT_FALSE(c.contains("kubernetes"));
  EXPECT_EQ(warnings.size(), 5u);
}

// Patroni keeps a parsed false (it overrides the file); only unparsable values are dropped.
TEST(Env, BooleansParsedFalseAreKept) {
  std::vector<std::string> warnings;
  json c = build_environment_configuration(
      {{"PATRONI_CTL_INSECURE", "False"}, {"PATRONI_RESTAPI_ALLOWLIST_INCLUDE_MEMBERS", "0"}}, &warnings);
  EXPECT_EQ(c["ctl"]["insecure"], false);
  EXPECT_EQ(c["restapi"]["allowlist_include_members"], false);
  EXPECT_TRUE(warnings.empty());
}

TEST(Env, CtlSection) {
  json c = build({{"PATRONI_CTL_INSECURE", "true"},
                  {"PATRONI_CTL_CACERT", "/ca"},
                  {"PATRONI_CTL_CERTFILE", "/cert"},
                  {"PATRONI_CTL_KEYFILE", "/key"},
                  {"PATRONI_CTL_KEYFILE_PASSWORD", "kp"},
                  {"PATRONI_CTL_USERNAME", "admin"},
                  {"PATRONI_CTL_PASSWORD", "secret"}});
  EXPECT_EQ(c["ctl"]["insecure"], true);
  EXPECT_EQ(c["ctl"]["cacert"], "/ca");
  EXPECT_EQ(c["ctl"]["keyfile_password"], "kp");
  EXPECT_EQ(c["ctl"]["authentication"]["username"], "admin");
  EXPECT_EQ(c["ctl"]["authentication"]["password"], "secret");
  EXPECT_FALSE(c.contains("bootstrap"));  // CTL_PASSWORD is not a bootstrap user
}

TEST(Env, LogSectionAndLegacyNames) {
  json c = build({{"PATRONI_LOG_TYPE", "json"},
                  {"PATRONI_LOG_TRACEBACK_LEVEL", "DEBUG"},
                  {"PATRONI_LOG_MAX_QUEUE_SIZE", "500"},
                  {"PATRONI_LOG_DIR", "/var/log"},
                  {"PATRONI_LOG_FILE_SIZE", "1000"},
                  {"PATRONI_LOG_FILE_NUM", "3"},
                  {"PATRONI_LOG_LOGGERS", "patroni.postmaster: WARNING, urllib3: DEBUG"},
                  {"PATRONI_LOG_STATIC_FIELDS", "app: patroni"},
                  {"PATRONI_LOGLEVEL", "DEBUG"},
                  {"PATRONI_LOG_FORMAT", "asctime, levelname, message"},
                  {"PATRONI_LOG_DATEFMT", "%H:%M"}});
  EXPECT_EQ(c["log"]["type"], "json");
  EXPECT_EQ(c["log"]["level"], "DEBUG");  // legacy PATRONI_LOGLEVEL
  EXPECT_EQ(c["log"]["traceback_level"], "DEBUG");
  EXPECT_EQ(c["log"]["max_queue_size"], 500);
  EXPECT_EQ(c["log"]["file_size"], 1000);
  EXPECT_EQ(c["log"]["file_num"], 3);
  EXPECT_EQ(c["log"]["dir"], "/var/log");
  EXPECT_EQ(c["log"]["loggers"], json::parse(R"({"patroni.postmaster": "WARNING", "urllib3": "DEBUG"})"));
  EXPECT_EQ(c["log"]["static_fields"], json::parse(R"({"app": "patroni"})"));
  EXPECT_EQ(c["log"]["format"], json::parse(R"(["asctime", "levelname", "message"])"));
  EXPECT_EQ(c["log"]["dateformat"], "%H:%M");  // legacy PATRONI_LOG_DATEFMT
}

TEST(Env, LogFormatWithPrintfTokenStaysAString) {
  json c = build({{"PATRONI_LOG_FORMAT", "%(asctime)s %(levelname)s: %(message)s"}});
  EXPECT_EQ(c["log"]["format"], "%(asctime)s %(levelname)s: %(message)s");
  // New name wins over the legacy one.
  json d = build({{"PATRONI_LOG_LEVEL", "ERROR"}, {"PATRONI_LOGLEVEL", "DEBUG"}, {"PATRONI_LOGFORMAT", "%(message)s"}});
  EXPECT_EQ(d["log"]["level"], "ERROR");
  EXPECT_EQ(d["log"]["format"], "%(message)s");
}

TEST(Env, PostgresqlAuthenticationUsers) {
  json c = build({{"PATRONI_SUPERUSER_USERNAME", "postgres"},
                  {"PATRONI_SUPERUSER_PASSWORD", "zalando"},
                  {"PATRONI_SUPERUSER_SSLMODE", "verify-full"},
                  {"PATRONI_SUPERUSER_SSLCRLDIR", "/crl"},
                  {"PATRONI_REPLICATION_USERNAME", "replicator"},
                  {"PATRONI_REPLICATION_PASSWORD", "rep"},
                  {"PATRONI_REPLICATION_CHANNEL_BINDING", "require"},
                  {"PATRONI_REWIND_USERNAME", "rewind"},
                  {"PATRONI_REWIND_GSSENCMODE", "disable"}});
  const json& a = c["postgresql"]["authentication"];
  EXPECT_EQ(a["superuser"], json::parse(R"({"username": "postgres", "password": "zalando", "sslmode": "verify-full",
                                            "sslcrldir": "/crl"})"));
  EXPECT_EQ(a["replication"]["channel_binding"], "require");
  EXPECT_EQ(a["rewind"]["gssencmode"], "disable");
  EXPECT_FALSE(c.contains("bootstrap"));  // *_PASSWORD consumed by authentication first
}

TEST(Env, BootstrapUsersFromPasswordAndOptions) {
  json c = build({{"PATRONI_admin_PASSWORD", "s3cret"},
                  {"PATRONI_admin_OPTIONS", "createrole,createdb"},
                  {"PATRONI_APP_USER_PASSWORD", "x"},
                  {"PATRONI_APP_USER_OPTIONS", "- login"},
                  {"PATRONI_NOBODY_PASSWORD", ""}});
  EXPECT_EQ(c["bootstrap"]["users"]["admin"],
            json::parse(R"({"password": "s3cret", "options": ["createrole", "createdb"]})"));
  EXPECT_EQ(c["bootstrap"]["users"]["APP_USER"], json::parse(R"({"password": "x", "options": ["login"]})"));
  EXPECT_FALSE(c["bootstrap"]["users"].contains("NOBODY"));
}

TEST(Env, GenericDcsVariables) {
  json c = build({{"PATRONI_ETCD3_HOSTS", "'10.0.0.1:2379','10.0.0.2:2379'"},
                  {"PATRONI_ETCD3_PROTOCOL", "https"},
                  {"PATRONI_ETCD3_USE_PROXIES", "false"},
                  {"PATRONI_ETCD3_SRV_SUFFIX", "sfx"},
                  {"PATRONI_ETCD3_CACERT", "/ca"},
                  {"PATRONI_ETCD3_USERNAME", "root"},
                  {"PATRONI_ETCD3_PASSWORD", "pw"},
                  {"PATRONI_CONSUL_HOST", "127.0.0.1:8500"},
                  {"PATRONI_CONSUL_PORT", "8500"},
                  {"PATRONI_CONSUL_REGISTER_SERVICE", "yes"},
                  {"PATRONI_CONSUL_CHECKS", "a, b"},
                  {"PATRONI_CONSUL_SERVICE_TAGS", "[t1, t2]"},
                  {"PATRONI_CONSUL_SERVICE_CHECK_TLS_SERVER_NAME", "srv"},
                  {"PATRONI_KUBERNETES_LABELS", "{application: patroni}"},
                  {"PATRONI_KUBERNETES_PORTS", "[{name: postgresql, port: 5432}]"},
                  {"PATRONI_KUBERNETES_USE_ENDPOINTS", "true"},
                  {"PATRONI_KUBERNETES_BYPASS_API_SERVICE", "1"},
                  {"PATRONI_KUBERNETES_RETRIABLE_HTTP_CODES", "401,403"},
                  {"PATRONI_KUBERNETES_LEADER_LABEL_VALUE", "primary"},
                  {"PATRONI_ZOOKEEPER_SET_ACLS", "CN=principal: [ALL]"},
                  {"PATRONI_ZOOKEEPER_AUTH_DATA", "digest: user:pass"},
                  {"PATRONI_ZOOKEEPER_VERIFY", "no"},
                  {"PATRONI_ZOOKEEPER_KEY_PASSWORD", "kp"},
                  {"PATRONI_ZOOKEEPER_USE_SSL", "true"},
                  {"PATRONI_CITUS_GROUP", "2"},
                  {"PATRONI_CITUS_DATABASE", "citus"},
                  {"PATRONI_CITUS_HOST", "ignored"}});
  EXPECT_EQ(c["etcd3"]["hosts"], json::parse(R"(["10.0.0.1:2379", "10.0.0.2:2379"])"));
  EXPECT_EQ(c["etcd3"]["protocol"], "https");
  EXPECT_EQ(c["etcd3"]["use_proxies"], false);
  EXPECT_EQ(c["etcd3"]["srv_suffix"], "sfx");
  EXPECT_EQ(c["etcd3"]["username"], "root");
  EXPECT_EQ(c["etcd3"]["password"], "pw");
  EXPECT_EQ(c["consul"]["port"], 8500);
  EXPECT_EQ(c["consul"]["register_service"], true);
  EXPECT_EQ(c["consul"]["checks"], json::parse(R"(["a", "b"])"));
  EXPECT_EQ(c["consul"]["service_tags"], json::parse(R"(["t1", "t2"])"));
  EXPECT_EQ(c["consul"]["service_check_tls_server_name"], "srv");
  EXPECT_EQ(c["kubernetes"]["labels"], json::parse(R"({"application": "patroni"})"));
  EXPECT_EQ(c["kubernetes"]["ports"], json::parse(R"([{"name": "postgresql", "port": 5432}])"));
  EXPECT_EQ(c["kubernetes"]["use_endpoints"], true);
  EXPECT_EQ(c["kubernetes"]["bypass_api_service"], true);
  EXPECT_EQ(c["kubernetes"]["retriable_http_codes"], json::parse("[401, 403]"));
  EXPECT_EQ(c["kubernetes"]["leader_label_value"], "primary");
  EXPECT_EQ(c["zookeeper"]["set_acls"], json::parse(R"({"CN=principal": ["ALL"]})"));
  EXPECT_EQ(c["zookeeper"]["auth_data"], json::parse(R"({"digest": "user:pass"})"));
  EXPECT_EQ(c["zookeeper"]["verify"], false);
  EXPECT_EQ(c["zookeeper"]["use_ssl"], "true");  // Patroni 3.3 does not convert USE_SSL: kept as text
  EXPECT_EQ(c["zookeeper"]["key_password"], "kp");
  EXPECT_EQ(c["citus"], json::parse(R"({"group": 2, "database": "citus"})"));
}

TEST(Env, EtcdAuthOnlyWhenSectionExists) {
  // Without an etcd section, PATRONI_ETCD_PASSWORD falls through to the bootstrap users rule.
  json c = build({{"PATRONI_ETCD_USERNAME", "root"}, {"PATRONI_ETCD_PASSWORD", "pw"}});
  EXPECT_FALSE(c.contains("etcd"));
  EXPECT_EQ(c["bootstrap"]["users"]["ETCD"]["password"], "pw");
  json d = build({{"PATRONI_ETCD_HOST", "h:2379"}, {"PATRONI_ETCD_USERNAME", "root"}, {"PATRONI_ETCD_PASSWORD", "pw"}});
  EXPECT_EQ(d["etcd"], json::parse(R"({"host": "h:2379", "username": "root", "password": "pw"})"));
}

TEST(Env, DocumentedQuirkRetriableHttpCodesNeedsKubernetesPrefix) {
  json c = build({{"PATRONI_RETRIABLE_HTTP_CODES", "401"}});
  // Parsed as <DCS>=RETRIABLE, suffix HTTP_CODES: not a recognised suffix, so ignored.
  EXPECT_FALSE(c.contains("kubernetes"));
  EXPECT_FALSE(c.contains("retriable"));
}

TEST(Env, RaftSection) {
  json c = build({{"PATRONI_RAFT_SELF_ADDR", "10.0.0.1:2222"},
                  {"PATRONI_RAFT_PARTNER_ADDRS", "'10.0.0.2:2222','10.0.0.3:2222'"},
                  {"PATRONI_RAFT_DATA_DIR", "/raft"}});
  EXPECT_EQ(c["raft"]["self_addr"], "10.0.0.1:2222");
  EXPECT_EQ(c["raft"]["partner_addrs"], json::parse(R"(["10.0.0.2:2222", "10.0.0.3:2222"])"));
}

TEST(Env, ProcessEnvironmentReadAndRemoved) {
  ::setenv("PATRONI_TEST_CUSTOS_X", "1", 1);
  ::setenv("NOT_PATRONI_TEST_CUSTOS", "keep", 1);
  auto env = custos::config::patroni_environment();
  EXPECT_EQ(env["PATRONI_TEST_CUSTOS_X"], "1");
  EXPECT_FALSE(env.count("NOT_PATRONI_TEST_CUSTOS"));
  custos::config::remove_patroni_environment();
  EXPECT_EQ(::getenv("PATRONI_TEST_CUSTOS_X"), nullptr);
  EXPECT_STREQ(::getenv("NOT_PATRONI_TEST_CUSTOS"), "keep");
  ::unsetenv("NOT_PATRONI_TEST_CUSTOS");
}

TEST(Env, CustosCompatAndServerTokens) {
  json c = build({{"PATRONI_CUSTOS_COMPAT", "3.3"}, {"PATRONI_RESTAPI_SERVER_TOKENS", "Minimal"}});
  EXPECT_EQ(c["custos"]["compat"], "3.3");
  EXPECT_EQ(c["restapi"]["server_tokens"], "Minimal");
  EXPECT_EQ(custos::presentation_of_config(c), custos::PatroniGeneration::v3_3);
}
