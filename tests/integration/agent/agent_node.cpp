#include "agent_node.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "postgres/pg_connection.h"
#include "postgres/postmaster_pid.h"
#include "common/process.h"

namespace custos::agent_test {

using namespace std::chrono_literals;

AgentNode::AgentNode(const std::string& node_name, const test::EtcdServer& etcd, NodeOptions options)
    : name(node_name), options_(std::move(options)) {
  dir = test::make_temp_dir("custos-agent-" + name);
  data_dir = dir + "/data";
  config_file = dir + "/custos.yml";
  log_file = dir + "/custos.log";
  pg_port = test::free_port();
  api_port = test::free_port();
  while (api_port == pg_port) api_port = test::free_port();
  std::ofstream out(config_file);
  out << "scope: " << options_.scope << "\n"
      << "name: " << name << "\n"
      << "log:\n  level: INFO\n"
      << "restapi:\n  listen: 127.0.0.1:" << api_port << "\n  connect_address: 127.0.0.1:" << api_port << "\n"
      << "etcd3:\n  hosts: " << etcd.host_port() << "\n"
      << "bootstrap:\n"
      << "  dcs:\n    ttl: " << options_.ttl << "\n    loop_wait: " << options_.loop_wait
      << "\n    retry_timeout: " << options_.retry_timeout << "\n"
      << "    maximum_lag_on_failover: 1048576\n"
      << "    postgresql:\n      use_pg_rewind: true\n      parameters:\n        max_wal_senders: 10\n"
      << "  initdb:\n    - encoding: UTF8\n    - data-checksums\n"
      << "postgresql:\n"
      << "  listen: 127.0.0.1:" << pg_port << "\n"
      << "  connect_address: 127.0.0.1:" << pg_port << "\n"
      << "  data_dir: " << data_dir << "\n"
      << "  bin_dir: " << kPgBinDir << "\n"
      << "  pgpass: " << dir << "/pgpass\n"
      << "  use_pg_rewind: true\n"
      << "  pg_ctl_timeout: 30\n"
      << "  authentication:\n"
      << "    superuser: {username: postgres, password: secret}\n"
      << "    replication: {username: replicator, password: rep-pass}\n"
      << "    rewind: {username: rewinder, password: rew-pass}\n"
      << "  parameters:\n    unix_socket_directories: " << dir << "\n    shared_buffers: 16MB\n"
      << "  pg_hba:\n"
      << "    - local all all trust\n"
      << "    - host all all 127.0.0.1/32 md5\n"
      << "    - host replication replicator 127.0.0.1/32 md5\n";
}

AgentNode::~AgentNode() {
  if (proc_ && proc_->running()) proc_->kill();
  // Whatever postmaster is left (kill -9'd agent): stop it by pid.
  if (auto pid = postmaster_pid()) {
    ::kill(*pid, SIGQUIT);
    custos::wait_for_exit(*pid, 10s);
    if (custos::process_alive(*pid)) ::kill(*pid, SIGKILL);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

void AgentNode::start() {
  test::SpawnOptions o;
  o.argv = {CUSTOS_BINARY, config_file};
  o.output_file = log_file;
  proc_ = std::make_unique<test::ChildProcess>(o);
}

void AgentNode::stop_sigterm(std::chrono::milliseconds timeout) {
  if (!proc_) return;
  proc_->signal(SIGTERM);
  proc_->wait_for(timeout);
}

void AgentNode::kill_agent() {
  if (proc_) proc_->kill();
}

bool AgentNode::agent_running() { return proc_ && proc_->running(); }

std::optional<int> AgentNode::agent_wait(std::chrono::milliseconds timeout) {
  if (!proc_) return std::nullopt;
  return proc_->wait_for(timeout);
}

std::optional<pid_t> AgentNode::postmaster_pid() const {
  auto pf = postgres::read_postmaster_pid(data_dir);
  if (!pf || !custos::process_alive(pf->pid)) return std::nullopt;
  return pf->pid;
}

std::string AgentNode::sql(const std::string& query, std::string* error) const {
  postgres::ConnectionOptions o;
  o.connect_timeout = 2s;
  o.query_timeout = 5s;
  postgres::PgConnection conn("host=127.0.0.1 port=" + std::to_string(pg_port) +
                                  " user=postgres password=secret dbname=postgres",
                              o);
  auto r = conn.query_value(query);
  if (!r) {
    if (error) *error = r.error().message;
    return "";
  }
  return r.value().value_or("");
}

bool AgentNode::accepts_writes() const { return sql("SELECT pg_is_in_recovery()") == "f"; }

std::string AgentNode::log() const {
  std::ifstream in(log_file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string AgentNode::pg_log() const {
  std::ifstream in(data_dir + ".log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<pid_t> AgentNode::agent_pid() const {
  if (!proc_ || proc_->pid() <= 0) return std::nullopt;
  return proc_->pid();
}

int AgentNode::agent_threads() const {
  auto pid = agent_pid();
  if (!pid) return 0;
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(*pid) + "/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

}  // namespace custos::agent_test
