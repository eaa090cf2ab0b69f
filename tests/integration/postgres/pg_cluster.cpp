#include "pg_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include "postgres/conninfo.h"
#include "postgres/initdb.h"

namespace custos::postgres::testing {

void reap_children() {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}


PgCluster::PgCluster(const std::string& n)
    : root(custos::test::make_temp_dir("custos-pgtest")),
      data_dir(root + "/data"),
      socket_dir(root),
      log_file(root + "/postgres.log"),
      name(n),
      port(free_port()),
      postmaster(data_dir) {
  layout.data_dir = data_dir;
  parameters = {{"unix_socket_directories", socket_dir},
                {"fsync", "off"},
                {"shared_buffers", "16MB"},
                {"wal_keep_size", "128MB"},
                {"log_min_messages", "warning"}};
}

PgCluster::~PgCluster() {
  // Stop by pid (adopting a postmaster another object started, if any), then remove.
  if (!postmaster.is_running()) postmaster.adopt();
  if (postmaster.is_running()) {
    if (postmaster.stop(StopMode::Immediate, std::chrono::seconds(10)) != StopResult::Stopped)
      postmaster.kill_all(std::chrono::seconds(5));
  }
  if (auto pf = read_postmaster_pid(data_dir); pf && pf->pid > 0 && ::kill(pf->pid, 0) == 0) {
    // A postmaster we could not verify but that still holds the data dir.
    ::kill(pf->pid, SIGKILL);
  }
  reap_children();
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
}

void PgCluster::init() {
  InitdbRequest r;
  r.initdb_bin = bin("initdb");
  r.data_dir = data_dir;
  r.superuser = "postgres";
  r.superuser_password = "secret";
  r.temp_dir = root;
  r.options = {{"encoding", "UTF8"}, {"locale", "C"}, {"auth-local", "trust"}, {"auth-host", "md5"}};
  auto st = run_initdb(r);
  ASSERT_TRUE(st.ok()) << st.error();
  write_postgresql_conf(layout, parameters);
  write_pg_hba(layout, {"local all all trust", "host all all 127.0.0.1/32 md5",
                        "host replication all 127.0.0.1/32 md5"});
  write_pg_ident(layout, {});
}

void PgCluster::start(const std::vector<std::pair<std::string, std::string>>& extra) {
  PostmasterOptions o;
  o.postgres_bin = bin("postgres");
  o.data_dir = data_dir;
  o.config_file = layout.conf_path();
  o.log_file = log_file;
  o.parameters = {{"listen_addresses", "127.0.0.1"},
                  {"port", std::to_string(port)},
                  {"cluster_name", name},
                  {"wal_level", "replica"},
                  {"hot_standby", "on"},
                  {"max_connections", "25"},
                  {"max_wal_senders", "5"},
                  {"max_prepared_transactions", "0"},
                  {"max_locks_per_transaction", "64"},
                  {"track_commit_timestamp", "off"},
                  {"max_replication_slots", "5"},
                  {"max_worker_processes", "8"},
                  {"wal_log_hints", "on"}};
  for (const auto& p : extra) o.parameters.push_back(p);
  auto st = postmaster.start(o);
  ASSERT_TRUE(st.ok()) << st.error();
}

void PgCluster::start_and_wait(const std::vector<std::pair<std::string, std::string>>& extra) {
  start(extra);
  auto r = postmaster.wait_until_ready(std::chrono::seconds(20));
  ASSERT_EQ(r, Readiness::Ready) << to_string(r) << "\n" << log();
}

std::string PgCluster::conninfo(const std::string& user) const {
  return build_conninfo({{"host", "127.0.0.1"},
                         {"port", std::to_string(port)},
                         {"user", user},
                         {"password", "secret"},
                         {"dbname", "postgres"}});
}

std::string PgCluster::log() const {
  std::ifstream f(log_file);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace custos::postgres::testing
