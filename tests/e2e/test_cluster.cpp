#include "test_cluster.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "net/base64.h"
#include "net/http_client.h"

namespace custos::e2e {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kSuperuser = "postgres";

std::string tail_lines(const std::string& text, std::size_t lines) {
  std::size_t pos = text.size();
  std::size_t count = 0;
  while (pos > 0) {
    std::size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) {
      pos = 0;
      break;
    }
    if (nl != text.size() - 1 && ++count >= lines) {
      pos = nl + 1;
      break;
    }
    pos = nl;
  }
  return text.substr(pos);
}

// State letter of /proc/<pid>/stat ('Z' zombie), 0 if no such process.
char proc_state(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return 0;
  auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return 0;
  return line[close + 2];
}

bool alive(pid_t pid) {
  if (pid <= 0) return false;
  char s = proc_state(pid);
  return s != 0 && s != 'Z' && s != 'X';
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")" +
           (WCOREDUMP(status) ? ", core dumped" : "");
  }
  return "status " + std::to_string(status);
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_executable(const std::string& path, const std::string& body) {
  {
    std::ofstream out(path);
    out << "#!/bin/sh\n" << body;
    if (!out) throw std::runtime_error("cannot write " + path);
  }
  fs::permissions(path, fs::perms::owner_all, fs::perm_options::replace);
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string TestCluster::custos_bin() {
  if (const char* e = std::getenv("CUSTOS_BIN"); e && *e) return e;
#ifdef CUSTOS_E2E_CUSTOS_BIN
  return CUSTOS_E2E_CUSTOS_BIN;
#else
  return "custos";
#endif
}

std::string TestCluster::custosctl_bin() {
  if (const char* e = std::getenv("CUSTOSCTL_BIN"); e && *e) return e;
#ifdef CUSTOS_E2E_CUSTOSCTL_BIN
  return CUSTOS_E2E_CUSTOSCTL_BIN;
#else
  return "custosctl";
#endif
}

std::string TestCluster::compat_of(int i) const {
  std::string mode = options_.compat;
  if (mode.empty()) {
    const char* env = std::getenv("CUSTOS_TEST_COMPAT");
    mode = env && *env ? env : "mixed";
  }
  if (mode == "3.3" || mode == "4.1") return mode;
  return i % 2 == 0 ? "4.1" : "3.3";
}

TestCluster::TestCluster(ClusterOptions options) : options_(std::move(options)) {
  test::become_subreaper();
  dir_ = test::make_temp_dir("custos-e2e");
  try {
    if (options_.dcs != "etcd3") {
      if (options_.etcd_of || options_.etcd_members > 1 || options_.proxies)
        throw std::runtime_error("ClusterOptions: etcd_of, etcd_members and proxies need dcs etcd3");
      other_dcs_ = test::start_dcs_server(options_.dcs, 1, options_.tls);
    } else if (options_.etcd_of) {
      etcd_server_ = &options_.etcd_of->etcd();
    } else if (options_.etcd_members > 1) {
      etcd_cluster_ = std::make_unique<test::EtcdCluster>(options_.etcd_members, options_.tls, options_.tls, "e2e-etcd");
    } else {
      test::EtcdServerOptions eo;
      eo.name = "e2e-etcd";
      eo.tls = options_.tls;
      eo.auth = options_.tls;
      etcd_ = std::make_unique<test::EtcdServer>(eo);
      etcd_server_ = etcd_.get();
    }
    net::HttpClientOptions ho;
    if (!options_.ca_of) options_.ca_of = options_.etcd_of;
    if (options_.tls && options_.ca_of && options_.ca_of->ca_view_) {
      const TestCluster& other = *options_.ca_of;
      ca_view_ = other.ca_view_;
      ctl_cert_ = other.ctl_cert_;
      superuser_cert_ = other.superuser_cert_;
      replication_cert_ = other.replication_cert_;
      rewind_cert_ = other.rewind_cert_;
    } else if (options_.tls) {
      fs::create_directories(dir_ + "/tls");
      ca_ = std::make_unique<test::TestCa>(dir_ + "/tls");
      ca_view_ = ca_.get();
      ctl_cert_ = ca_->issue("ctl", "custos-ctl", false);
      // verify-full on the replication line checks the CN against the role.
      superuser_cert_ = ca_->issue("superuser", kSuperuser, false);
      replication_cert_ = ca_->issue("replication", "replicator", false);
      rewind_cert_ = ca_->issue("rewind", "rewinder", false);
    }
    if (options_.tls) {
      ho.tls.ca_file = ca_view_->ca_file();
      ho.tls.cert_file = ctl_cert_.cert_file;
      ho.tls.key_file = ctl_cert_.key_file;
    }
    http_ = std::make_unique<net::HttpClient>(ho);
    if (options_.archive_command.find("{dir}/archive") != std::string::npos) fs::create_directories(dir_ + "/archive");
    for (int i = 0; i < options_.nodes; ++i) {
      Node n;
      n.name = options_.name_prefix + std::to_string(i + 1);
      n.api_port = test::free_port();
      n.pg_port = test::free_port();
      n.dir = dir_ + "/" + n.name;
      n.data_dir = n.dir + "/data";
      n.config_file = n.dir + "/custos.yml";
      n.log_file = n.dir + "/custos.log";
      fs::create_directories(n.dir);
      fs::permissions(n.dir, fs::perms::owner_all);
      if (!options_.watchdog_mode.empty()) {
        n.watchdog_file = n.dir + "/watchdog";
        if (options_.watchdog_fifo) {
          if (::mkfifo(n.watchdog_file.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + n.watchdog_file);
        } else {
          std::ofstream(n.watchdog_file).close();
        }
      }
      if (options_.callbacks) {
        n.callback_script = n.dir + "/callback.sh";
        std::ofstream(n.callback_script) << "#!/bin/sh\necho \"" << n.name << " $*\" >> " << dir_ << "/callbacks.log\n";
        fs::permissions(n.callback_script, fs::perms::owner_all);
      }
      if (options_.proxies) {
        std::vector<int> etcd_ports;
        if (etcd_cluster_) etcd_ports = etcd_cluster_->client_ports();
        else etcd_ports = {etcd_server_->client_port()};
        for (int port : etcd_ports)
          n.etcd_proxies.push_back(
              std::make_unique<test::TcpProxy>(std::vector<test::TcpProxy::Upstream>{{"127.0.0.1", port}},
                                               n.name + "->etcd:" + std::to_string(port)));
        n.api_proxy = std::make_unique<test::TcpProxy>(
            std::vector<test::TcpProxy::Upstream>{{"127.0.0.1", n.api_port}}, "->" + n.name + " REST");
        n.pg_proxy = std::make_unique<test::TcpProxy>(
            std::vector<test::TcpProxy::Upstream>{{"127.0.0.1", n.pg_port}}, "->" + n.name + " PostgreSQL");
      }
      if (ca_view_) {
        // Distinct file names when the CA (and its directory) is another cluster's.
        const std::string file = ca_ ? n.name : options_.scope + "-" + n.name;
        n.server_cert = ca_view_->issue(file + "-server", "127.0.0.1", true);
        n.rest_cert = ca_view_->issue(file + "-rest", "127.0.0.1", true, rest_key_password());
      }
      nodes_.push_back(std::move(n));
      write_config(i);
    }
  } catch (...) {
    shutdown();
    throw;
  }
}

TestCluster::~TestCluster() { shutdown(); }

int TestCluster::index_of(const std::string& name) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].name == name) return static_cast<int>(i);
  return -1;
}

void TestCluster::write_config(int i) {
  const Node& n = node(i);
  const bool tls = options_.tls;
  // The REST API on https, demanding a client certificate; its key is encrypted. No ctl section:
  // the agent presents this certificate to the other members, as Patroni does.
  const std::string rest_tls =
      !tls ? std::string()
           : "  certfile: " + n.rest_cert.cert_file + "\n  keyfile: " + n.rest_cert.key_file +
                 "\n  keyfile_password: " + rest_key_password() + "\n  cafile: " + ca_file() +
                 "\n  verify_client: required\n";
  auto pg_tls = [&](const test::IssuedCertificate& cert, const char* mode) {
    if (!tls) return std::string();
    return std::string("      sslmode: ") + mode + "\n      sslrootcert: " + ca_file() + "\n      sslcert: " +
           cert.cert_file + "\n      sslkey: " + cert.key_file + "\n";
  };
  const std::string pg_ssl_parameters =
      !tls ? std::string()
           : "    ssl: 'on'\n    ssl_cert_file: " + n.server_cert.cert_file + "\n    ssl_key_file: " +
                 n.server_cert.key_file + "\n    ssl_ca_file: " + ca_file() + "\n";
  // With tls nothing but TLS with a client certificate signed by the test CA gets in over TCP.
  const std::string hba = !tls ? std::string("    - local all all trust\n"
                                             "    - host replication replicator 127.0.0.1/32 md5\n"
                                             "    - host all all 127.0.0.1/32 md5\n")
                               : std::string("    - local all all scram-sha-256\n"
                                             "    - hostssl replication replicator 127.0.0.1/32 scram-sha-256 "
                                             "clientcert=verify-full\n"
                                             "    - hostssl all all 127.0.0.1/32 md5 clientcert=verify-ca\n");
  std::string callbacks;
  if (options_.callbacks) {
    callbacks = "  callbacks:\n";
    for (const char* a : {"on_start", "on_stop", "on_restart", "on_reload", "on_role_change"})
      callbacks += std::string("    ") + a + ": " + n.callback_script + "\n";
    callbacks += "  pre_promote: " + n.callback_script + " pre_promote\n  before_stop: " + n.callback_script +
                 " before_stop\n";
  }
  auto expand = [&](std::string text) {
    for (const auto& [from, to] : {std::pair<std::string, std::string>{"{dir}", dir_}, {"{node}", n.name}})
      for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
        text.replace(pos, from.size(), to);
    return text;
  };
  const std::string extra = expand(options_.postgresql_yaml);
  std::ostringstream y;
  y << "# generated by the custos e2e TestCluster\n"
    << "scope: " << options_.scope << "\n"
    << "namespace: /service/\n"
    << "name: " << n.name << "\n"
    << "log:\n  level: DEBUG\n"
    << "restapi:\n"
    << "  listen: 127.0.0.1:" << n.api_port << "\n"
    << "  connect_address: 127.0.0.1:" << (n.api_proxy ? n.api_proxy->port() : n.api_port) << "\n"
    << (options_.rest_user.empty() ? std::string()
                                   : "  authentication:\n    username: " + options_.rest_user +
                                         "\n    password: " + options_.rest_password + "\n")
    << rest_tls
    << "custos:\n  compat: \"" << compat_of(i) << "\"\n"
    << dcs_section_yaml(i)
    << (options_.citus_group ? "citus:\n  group: " + std::to_string(*options_.citus_group) +
                                   "\n  database: " + options_.citus_database + "\n"
                             : std::string())
    << "bootstrap:\n"
    << "  dcs:\n"
    << "    ttl: " << options_.ttl << "\n"
    << "    loop_wait: " << options_.loop_wait << "\n"
    << "    retry_timeout: " << options_.retry_timeout << "\n"
    << "    maximum_lag_on_failover: " << options_.maximum_lag_on_failover << "\n"
    << "    primary_start_timeout: " << options_.primary_start_timeout << "\n"
    << (options_.synchronous_mode ? "    synchronous_mode: true\n" : "")
    << (options_.failsafe_mode ? "    failsafe_mode: true\n" : "")
    << expand(options_.dcs_yaml)
    << "    postgresql:\n"
    << "      use_pg_rewind: true\n"
    << "      use_slots: true\n"
    << "      parameters:\n"
    << "        wal_level: " << options_.wal_level << "\n"
    << "        hot_standby: 'on'\n"
    << "        wal_log_hints: 'on'\n"
    << "        max_connections: 50\n"
    << "        max_wal_senders: 10\n"
    << "        max_replication_slots: 10\n"
    << "        wal_keep_size: 128MB\n"
    << "  initdb:\n"
    << "    - encoding: UTF8\n"
    << "    - data-checksums\n"
    << expand(options_.bootstrap_yaml)
    << "postgresql:\n"
    << "  listen: 127.0.0.1:" << n.pg_port << "\n"
    << "  connect_address: 127.0.0.1:" << (n.pg_proxy ? n.pg_proxy->port() : n.pg_port) << "\n"
    << "  data_dir: " << n.data_dir << "\n"
    << "  bin_dir: " << kPgBinDir << "\n"
    << "  pgpass: " << n.dir << "/pgpass\n"
    << "  authentication:\n"
    << "    superuser:\n      username: " << kSuperuser << "\n      password: " << options_.superuser_password << "\n"
    << pg_tls(superuser_cert_, "verify-ca")
    << "    replication:\n      username: replicator\n      password: " << replication_password() << "\n"
    << pg_tls(replication_cert_, "verify-full")
    << "    rewind:\n      username: rewinder\n      password: e2e-rewind-pw\n"
    << pg_tls(rewind_cert_, "verify-ca")
    << "  parameters:\n"
    << "    unix_socket_directories: " << n.dir << "\n"
    << "    shared_buffers: 32MB\n"
    << pg_ssl_parameters
    << (options_.archive_command.empty()
            ? std::string()
            : "    archive_mode: 'on'\n    archive_command: '" + expand(options_.archive_command) + "'\n")
    << expand(options_.parameters_yaml)
    << callbacks
    << extra
    << (options_.omit_pg_hba ? std::string() : "  pg_hba:\n" + hba)
    << "tags:\n  nofailover: false\n  noloadbalance: false\n"
    << expand(options_.tags_yaml)
    << (options_.watchdog_mode.empty()
            ? std::string()
            : "watchdog:\n  mode: " + options_.watchdog_mode + "\n  driver: testing\n  device: " + n.watchdog_file +
                  "\n  safety_margin: 5\n");
  std::ofstream out(n.config_file);
  out << y.str();
  if (!out) throw std::runtime_error("cannot write " + n.config_file);
}

// ---------------------------------------------------------------- TLS, clients

const std::string& TestCluster::ca_file() const {
  static const std::string none;
  return ca_view_ ? ca_view_->ca_file() : none;
}

std::string TestCluster::rest_base(int i) const {
  return rest_scheme() + "://127.0.0.1:" + std::to_string(nodes_.at(static_cast<std::size_t>(i)).api_port);
}

std::string TestCluster::etcd_section() const { return etcd_section_for(-1); }

std::string TestCluster::dcs_url() const {
  if (other_dcs_) return other_dcs_->section_name() + "://" + other_dcs_->section()["hosts"][0].get<std::string>();
  if (!etcd_server_) throw std::runtime_error("dcs_url: this cluster runs an etcd cluster");
  return "etcd3://" + etcd_server_->host_port();
}

nlohmann::json TestCluster::dcs_client_settings() const {
  if (!other_dcs_) throw std::runtime_error("dcs_client_settings: this cluster runs etcd3 (see etcd())");
  return other_dcs_->section();
}

std::string TestCluster::dcs_section_yaml(int i) const {
  // JSON is YAML: a flow mapping on one line.
  if (other_dcs_) return other_dcs_->section_name() + ": " + other_dcs_->section().dump() + "\n";
  return "etcd3:\n" + etcd_section_for(i);
}

std::string TestCluster::etcd_section_for(int i) const {
  std::string s = "  hosts:\n";
  if (i >= 0 && options_.proxies) {
    for (const auto& p : nodes_.at(static_cast<std::size_t>(i)).etcd_proxies) s += "    - " + p->host_port() + "\n";
    // Only the proxies: no member discovery around them.
    s += "  use_proxies: true\n";
  } else if (etcd_cluster_) {
    for (const auto& hp : etcd_cluster_->host_ports()) s += "    - " + hp + "\n";
  } else {
    s += "    - " + etcd_server_->host_port() + "\n";
  }
  if (options_.tls) {
    // etcd with a trusted CA asks every client for a certificate: the agents present one.
    const std::string ca = etcd_cluster_ ? etcd_cluster_->ca_file() : etcd_server_->ca_file();
    const std::string cert = etcd_cluster_ ? etcd_cluster_->client_cert_file() : etcd_server_->client_cert_file();
    const std::string key = etcd_cluster_ ? etcd_cluster_->client_key_file() : etcd_server_->client_key_file();
    const std::string pw = etcd_cluster_ ? etcd_cluster_->root_password() : etcd_server_->options().root_password;
    s += "  protocol: https\n  cacert: " + ca + "\n  cert: " + cert + "\n  key: " + key +
         "\n  username: root\n  password: " + pw + "\n";
  }
  return s;
}

test::EtcdServer& TestCluster::etcd() {
  if (!etcd_server_) throw std::runtime_error("this cluster runs an etcd cluster: use etcd_cluster()");
  return *etcd_server_;
}

test::EtcdCluster& TestCluster::etcd_cluster() {
  if (!etcd_cluster_) throw std::runtime_error("this cluster runs a single etcd: use etcd()");
  return *etcd_cluster_;
}

test::RunResult TestCluster::etcdctl(const std::vector<std::string>& args) {
  if (etcd_server_) return etcd_server_->etcdctl(args);
  test::RunResult last;
  last.exit_code = 1;
  last.output = "no etcd member running";
  for (int m = 0; m < etcd_cluster_->size(); ++m) {
    auto& member = etcd_cluster_->member(m);
    if (!member.running()) continue;
    // The cluster enabled authentication, the member itself does not know: pass root's login.
    std::vector<std::string> a = args;
    if (options_.tls) a.insert(a.begin(), "--user=root:" + etcd_cluster_->root_password());
    last = member.etcdctl(a, false);
    if (last.exit_code == 0) return last;
  }
  return last;
}

void TestCluster::set_dcs_link(int i, test::TcpProxy::Mode mode) {
  for (auto& p : node(i).etcd_proxies) p->set_mode(mode);
}

void TestCluster::set_inbound_links(int i, test::TcpProxy::Mode mode) {
  Node& n = node(i);
  if (n.api_proxy) n.api_proxy->set_mode(mode);
  if (n.pg_proxy) n.pg_proxy->set_mode(mode);
}

void TestCluster::heal_links() {
  for (int i = 0; i < size(); ++i) {
    set_dcs_link(i, test::TcpProxy::Mode::pass);
    set_inbound_links(i, test::TcpProxy::Mode::pass);
  }
}

test::RunResult TestCluster::custosctl(const std::string& config_file, const std::vector<std::string>& args,
                                       milliseconds timeout) {
  std::vector<std::string> argv = {custosctl_bin(), "-c", config_file};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = test::run_command(argv, timeout);
  std::printf("[  CTL     ] custosctl");
  for (const auto& a : args) std::printf(" %s", a.c_str());
  std::printf(" -> exit %d\n%s\n", r.exit_code, r.output.c_str());
  return r;
}

void TestCluster::write_ctl_config(const std::string& path) const {
  std::ostringstream y;
  y << "scope: " << options_.scope << "\nnamespace: /service/\n" << dcs_section_yaml();
  if (!options_.rest_user.empty() || options_.tls) y << "ctl:\n";
  if (!options_.rest_user.empty())
    y << "  authentication:\n    username: " << options_.rest_user << "\n    password: " << options_.rest_password
      << "\n";
  if (options_.tls)
    y << "  cacert: " << ca_file() << "\n  certfile: " << ctl_cert_.cert_file << "\n  keyfile: " << ctl_cert_.key_file
      << "\n";
  std::ofstream out(path);
  out << y.str();
  if (!out) throw std::runtime_error("cannot write " + path);
}

// ---------------------------------------------------------------- agents

void TestCluster::start_all() {
  for (int i = 0; i < size(); ++i) start_agent(i);
}

void TestCluster::start_agent(int i) {
  Node& n = node(i);
  if (n.agent && n.agent->running()) throw std::runtime_error("agent " + n.name + " is already running");
  {
    std::ofstream log(n.log_file, std::ios::app);
    log << "=============== e2e: starting agent " << n.name << " (start #" << ++n.starts << ") ===============\n";
  }
  test::SpawnOptions o;
  o.argv = {custos_bin(), n.config_file};
  o.cwd = n.dir;
  o.output_file = n.log_file;
  o.env = n.env;
  n.agent = std::make_unique<test::ChildProcess>(o);
  n.expect_running = true;
}

bool TestCluster::agent_running(int i) {
  Node& n = node(i);
  return n.agent && n.agent->running();
}

pid_t TestCluster::agent_pid(int i) const {
  const Node& n = nodes_.at(static_cast<std::size_t>(i));
  return n.agent ? n.agent->pid() : -1;
}

void TestCluster::sigterm_agent(int i) {
  Node& n = node(i);
  n.expect_running = false;
  if (n.agent) n.agent->signal(SIGTERM);
}

std::optional<std::string> TestCluster::wait_agent_exit(int i, milliseconds timeout) {
  Node& n = node(i);
  if (!n.agent) return std::string("not started");
  auto st = n.agent->wait_for(timeout);
  if (!st) return std::nullopt;
  return describe_status(*st);
}

void TestCluster::kill_agent(int i) {
  Node& n = node(i);
  n.expect_running = false;
  if (n.agent) n.agent->kill();
}

void TestCluster::reset_node(int i) {
  Node& n = node(i);
  n.expect_running = false;
  auto pm = postmaster_pid(i);
  pid_t agent = (n.agent && n.agent->running()) ? n.agent->pid() : -1;
  if (agent > 0) ::kill(agent, SIGKILL);
  if (pm) {
    // The postmaster runs in a session of its own: its group holds every backend.
    ::kill(-*pm, SIGKILL);
    ::kill(*pm, SIGKILL);
  }
  if (n.agent) n.agent->kill();  // reaps
  auto deadline = Clock::now() + 5s;
  while (pm && alive(*pm) && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
}

void TestCluster::kill_node(int i) {
  Node& n = node(i);
  n.expect_running = false;
  auto pm = postmaster_pid(i);
  pid_t agent = (n.agent && n.agent->running()) ? n.agent->pid() : -1;
  if (agent > 0) ::kill(agent, SIGKILL);
  if (pm) ::kill(*pm, SIGKILL);
  if (n.agent) n.agent->kill();  // reaps
  // The orphaned postmaster is reaped by the subreaper thread; wait until it is gone.
  auto deadline = Clock::now() + 5s;
  while (pm && alive(*pm) && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
}

std::string TestCluster::agent_exit(int i) {
  Node& n = node(i);
  if (!n.agent || n.agent->running()) return "";
  auto st = n.agent->wait_status();
  return st ? describe_status(*st) : "unknown";
}

void TestCluster::check_no_agent_died() {
  for (int i = 0; i < size(); ++i) {
    Node& n = node(i);
    if (n.expect_running && !agent_running(i)) {
      ADD_FAILURE() << "agent " << n.name << " died unexpectedly: " << agent_exit(i);
      n.expect_running = false;
    }
  }
}

// ---------------------------------------------------------------- PostgreSQL

std::optional<pid_t> TestCluster::postmaster_pid(int i) const {
  const Node& n = nodes_.at(static_cast<std::size_t>(i));
  std::ifstream in(n.data_dir + "/postmaster.pid");
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return std::nullopt;
  if (!alive(static_cast<pid_t>(pid))) return std::nullopt;
  return static_cast<pid_t>(pid);
}

std::optional<pid_t> TestCluster::kill_postmaster(int i) {
  auto pm = postmaster_pid(i);
  if (pm) ::kill(*pm, SIGKILL);
  return pm;
}

std::string TestCluster::conninfo(int i) const {
  const Node& n = nodes_.at(static_cast<std::size_t>(i));
  // A Citus node's probes go to citus.database (where the extension and the tables are).
  const std::string db = options_.citus_group ? options_.citus_database : std::string("postgres");
  std::string ci = "host=127.0.0.1 port=" + std::to_string(n.pg_port) + " dbname=" + db + " user=" + kSuperuser +
                   " password=" + options_.superuser_password;
  if (!options_.tls) return ci + " sslmode=disable";
  return ci + " sslmode=verify-full sslrootcert=" + ca_file() + " sslcert=" + superuser_cert_.cert_file +
         " sslkey=" + superuser_cert_.key_file;
}

SqlOutcome TestCluster::sql(int i, const std::string& statement, const postgres::Params& params, milliseconds timeout) {
  postgres::ConnectionOptions co;
  co.connect_timeout = 2000ms;
  co.query_timeout = timeout;
  co.application_name = "custos-e2e";
  postgres::PgConnection conn(conninfo(i), co);
  SqlOutcome out;
  auto r = conn.query(statement, params, timeout);
  if (!r.ok()) {
    out.error = std::string(postgres::to_string(r.error().kind)) + ": " + r.error().message;
    return out;
  }
  out.ok = true;
  out.rows = r.value().rows;
  return out;
}

std::optional<std::string> TestCluster::sql_value(int i, const std::string& statement) {
  auto r = sql(i, statement, {}, 3000ms);
  if (!r.ok || r.rows.empty() || r.rows[0].empty() || !r.rows[0][0]) return std::nullopt;
  return *r.rows[0][0];
}

std::string TestCluster::replication_conninfo(int i) const {
  const Node& n = nodes_.at(static_cast<std::size_t>(i));
  std::string ci = "host=127.0.0.1 port=" + std::to_string(n.pg_port) + " user=replicator dbname=postgres";
  if (options_.tls)
    ci += " sslmode=verify-full sslrootcert=" + ca_file() + " sslcert=" + replication_cert_.cert_file +
          " sslkey=" + replication_cert_.key_file;
  else
    ci += " sslmode=disable";
  return ci;
}

test::RunResult TestCluster::base_backup(int i, const std::string& target) {
  return test::run_command(
      {std::string(kPgBinDir) + "/pg_basebackup", "-D", target, "-X", "stream", "-d", replication_conninfo(i)},
      std::chrono::seconds(120), {{"PGPASSWORD", replication_password()}});
}

bool TestCluster::wal_archived(int i, milliseconds timeout) {
  if (!sql(i, "SELECT pg_switch_wal()").ok) return false;
  return eventually(
      [&] {
        auto v = sql_value(i, "SELECT last_archived_wal IS NOT NULL AND last_archived_wal >= "
                              "pg_walfile_name(pg_current_wal_lsn() - 1) FROM pg_stat_archiver");
        return v && *v == "t";
      },
      timeout);
}

std::optional<bool> TestCluster::is_primary_sql(int i) {
  auto v = sql_value(i, "SELECT pg_is_in_recovery()");
  if (!v) return std::nullopt;
  return *v == "f";
}

std::optional<std::string> TestCluster::postmaster_start_time(int i) {
  return sql_value(i, "SELECT pg_postmaster_start_time()::text");
}

// ---------------------------------------------------------------- DCS

std::string TestCluster::key(const std::string& relative) const {
  const std::string group = options_.citus_group ? std::to_string(*options_.citus_group) + "/" : "";
  return "/service/" + options_.scope + "/" + group + relative;
}

std::optional<std::string> TestCluster::get_key(const std::string& relative) {
  if (other_dcs_) return other_dcs_->raw_get(key(relative));
  auto r = etcdctl({"get", "--print-value-only", key(relative)});
  if (r.exit_code != 0) return std::nullopt;
  std::string v = r.output;
  if (v.empty()) return std::nullopt;
  if (v.back() == '\n') v.pop_back();
  return v;
}

void TestCluster::put_key(const std::string& relative, const std::string& value) {
  if (other_dcs_) return other_dcs_->raw_put(key(relative), value);
  auto r = etcdctl({"put", key(relative), "--", value});
  if (r.exit_code != 0) throw std::runtime_error("etcdctl put " + key(relative) + " failed: " + r.output);
}

std::optional<std::string> TestCluster::leader_name() { return get_key("leader"); }

// ---------------------------------------------------------------- REST

int TestCluster::rest_status(int i, const std::string& path, std::string* body) {
  auto r = http_->request({"GET", rest_base(i) + path, {}, "", ""}, 2000ms);
  if (!r.ok()) return 0;
  if (body) *body = r.value().body;
  return r.value().status;
}

RestReply TestCluster::rest(int i, const std::string& method, const std::string& path, const std::string& body,
                            bool auth, milliseconds timeout) {
  net::HttpRequest req;
  req.method = method;
  req.url = rest_base(i) + path;
  req.body = body;
  if (!body.empty()) req.content_type = "application/json";
  if (auth && !options_.rest_user.empty())
    req.headers.emplace_back("Authorization",
                             "Basic " + net::base64_encode(options_.rest_user + ":" + options_.rest_password));
  auto r = http_->request(req, timeout);
  if (!r.ok()) return {};
  return {r.value().status, r.value().body, r.value().headers};
}

// ---------------------------------------------------------------- waits

int TestCluster::wait_for_primary(milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto leader = leader_name();
    int li = leader ? index_of(*leader) : -1;
    if (li >= 0 && agent_running(li) && is_primary_sql(li) == true && rest_status(li, "/primary") == 200) {
      bool others_clean = true;
      for (int j = 0; j < size() && others_clean; ++j) {
        if (j == li) continue;
        if (is_primary_sql(j) == true) others_clean = false;
        if (agent_running(j) && rest_status(j, "/primary") == 200) others_clean = false;
      }
      if (others_clean) return li;
    }
    if (Clock::now() >= deadline) {
      throw std::runtime_error("no single primary within " + std::to_string(timeout.count()) + " ms\n" + describe());
    }
    std::this_thread::sleep_for(200ms);
  }
}

void TestCluster::wait_for_streaming(int primary, const std::vector<int>& replicas, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto r = sql(primary, "SELECT application_name, state FROM pg_stat_replication");
    std::set<std::string> streaming;
    if (r.ok)
      for (const auto& row : r.rows)
        if (row.size() == 2 && row[0] && row[1] && *row[1] == "streaming") streaming.insert(*row[0]);
    bool all = r.ok;
    for (int j : replicas) {
      if (!streaming.count(name(j)) || rest_status(j, "/replica") != 200) all = false;
    }
    if (all) return;
    if (Clock::now() >= deadline) {
      std::string s;
      for (const auto& n : streaming) s += n + " ";
      throw std::runtime_error("replicas not streaming from " + name(primary) + " within " +
                               std::to_string(timeout.count()) + " ms (streaming: " + s +
                               (r.ok ? "" : "; query failed: " + r.error) + ")\n" + describe());
    }
    std::this_thread::sleep_for(250ms);
  }
}

int TestCluster::wait_for_writable(const std::vector<int>& candidates, const std::string& insert_sql,
                                   milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::string last;
  for (;;) {
    for (int j : candidates) {
      auto r = sql(j, insert_sql, {}, 2000ms);
      if (r.ok) return j;
      last = name(j) + ": " + r.error;
    }
    if (Clock::now() >= deadline) {
      throw std::runtime_error("no node accepted a write within " + std::to_string(timeout.count()) +
                               " ms (last error " + last + ")\n" + describe());
    }
    std::this_thread::sleep_for(100ms);
  }
}

void TestCluster::wait_for_rows(int i, int64_t lo, int64_t hi, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  const std::string want = std::to_string(hi - lo + 1);
  std::string last;
  for (;;) {
    auto r = sql(i, "SELECT count(*) FROM e2e_rows WHERE id BETWEEN $1 AND $2", {std::to_string(lo), std::to_string(hi)},
                 3000ms);
    if (r.ok && !r.rows.empty() && r.rows[0][0]) {
      last = *r.rows[0][0];
      if (last == want) return;
    } else {
      last = r.error;
    }
    if (Clock::now() >= deadline) {
      throw std::runtime_error("rows " + std::to_string(lo) + ".." + std::to_string(hi) + " not all on " + name(i) +
                               " within " + std::to_string(timeout.count()) + " ms (count/last error: " + last + ")\n" +
                               describe());
    }
    std::this_thread::sleep_for(200ms);
  }
}

// ---------------------------------------------------------------- diagnostics

std::string TestCluster::describe() {
  std::ostringstream o;
  auto leader = leader_name();
  o << "  leader key: " << (leader ? *leader : "(none)") << "\n";
  for (int i = 0; i < size(); ++i) {
    Node& n = node(i);
    o << "  " << n.name << ": agent ";
    if (agent_running(i))
      o << "running pid " << n.agent->pid();
    else
      o << "not running (" << (n.agent ? agent_exit(i) : "never started") << ")";
    auto pm = postmaster_pid(i);
    o << ", postmaster " << (pm ? std::to_string(*pm) : "none");
    auto p = is_primary_sql(i);
    o << ", sql " << (!p ? "unreachable" : (*p ? "primary" : "in recovery"));
    o << ", REST /primary " << rest_status(i, "/primary") << " /replica " << rest_status(i, "/replica");
    std::string body;
    if (rest_status(i, "/patroni", &body) == 200) o << "\n      /patroni " << body.substr(0, 400);
    o << "\n";
  }
  return o.str();
}

std::string TestCluster::logs(std::size_t lines) const {
  std::ostringstream o;
  for (const Node& n : nodes_) {
    o << "----- " << n.name << " agent log (" << n.log_file << "), last " << lines << " lines -----\n"
      << tail_lines(read_file(n.log_file), lines) << "\n";
    // PostgreSQL's own log, wherever the agent sent it: files under data/log or the node dir.
    std::error_code ec;
    for (const std::string& d : {n.data_dir + "/log", n.data_dir + "/pg_log", n.dir}) {
      if (!fs::is_directory(d, ec)) continue;
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(d, ec))
        if (e.is_regular_file(ec) && (e.path().extension() == ".log" || e.path().extension() == ".csv") &&
            e.path() != n.log_file)
          files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        o << "----- " << n.name << " " << f.string() << ", last 30 lines -----\n"
          << tail_lines(read_file(f.string()), 30) << "\n";
      }
    }
  }
  return o.str();
}

// ---------------------------------------------------------------- teardown

void TestCluster::kill_leftovers() {
  // Every process of ours whose command line or working directory lies in the cluster dir:
  // postmasters, backends (their cwd is the data dir), pg_basebackup, pg_rewind, ...
  if (dir_.empty()) return;
  const uid_t me = ::getuid();
  for (int round = 0; round < 50; ++round) {
    std::vector<pid_t> found;
    DIR* proc = ::opendir("/proc");
    if (!proc) return;
    while (dirent* e = ::readdir(proc)) {
      char* end = nullptr;
      long pid = std::strtol(e->d_name, &end, 10);
      if (!end || *end != '\0' || pid <= 0 || pid == ::getpid()) continue;
      std::string base = std::string("/proc/") + e->d_name;
      struct stat st {};
      if (::stat(base.c_str(), &st) != 0 || st.st_uid != me) continue;
      if (!alive(static_cast<pid_t>(pid))) continue;
      std::string cmdline = read_file(base + "/cmdline");
      std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
      char cwd[4096];
      ssize_t len = ::readlink((base + "/cwd").c_str(), cwd, sizeof cwd - 1);
      std::string cwds = len > 0 ? std::string(cwd, static_cast<std::size_t>(len)) : "";
      if (cmdline.find(dir_ + "/") != std::string::npos || cwds.rfind(dir_ + "/", 0) == 0 || cwds == dir_)
        found.push_back(static_cast<pid_t>(pid));
    }
    ::closedir(proc);
    if (found.empty()) return;
    for (pid_t p : found) ::kill(p, round == 0 ? SIGQUIT : SIGKILL);
    std::this_thread::sleep_for(100ms);
    test::reap_orphans();
  }
}

void TestCluster::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  // Agents first (SIGKILL: the tests that need a graceful stop do it themselves), then whatever
  // PostgreSQL processes are left, then etcd.
  for (auto& n : nodes_) {
    n.expect_running = false;
    if (n.agent) n.agent->kill();
  }
  kill_leftovers();
  for (auto& n : nodes_) {
    n.etcd_proxies.clear();
    n.api_proxy.reset();
    n.pg_proxy.reset();
  }
  etcd_.reset();
  etcd_cluster_.reset();
  other_dcs_.reset();
  test::reap_orphans();
  if (!dir_.empty() && !std::getenv("CUSTOS_KEEP_TEST_DIRS")) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

}  // namespace custos::e2e
