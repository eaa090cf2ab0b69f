// TestCluster: a private etcd and N real `custos` agents (each with its own PostgreSQL 15) on
// 127.0.0.1, with free ports, in one temp dir; plus the probes and faults the end-to-end tests
// need. Everything it starts is stopped by PID and the temp dir removed in the destructor, also
// when a test fails or throws. The test process must already run as the postgres user (or any
// non-root user) and be a child subreaper (see main.cpp).
//
// Waiting helpers throw std::runtime_error on timeout with a dump of the cluster's state, so a
// failing test says what it saw; GoogleTest reports the exception as a failure.
#pragma once

#include <algorithm>
#include <cctype>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"
#include "dcs_server.h"
#include "etcd_cluster.h"
#include "etcd_server.h"
#include "tcp_proxy.h"
#include "net/http_client.h"
#include "postgres/pg_connection.h"
#include "test_ca.h"

namespace custos::e2e {

using Clock = std::chrono::steady_clock;

// Polls `pred` every 200 ms until it holds; false once `timeout` passed and it still does not.
inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return pred();
}
using std::chrono::milliseconds;

// The whole file as bytes ("" when it cannot be read): agent logs, configs.
std::string read_file(const std::string& path);

class TestCluster;

// Debian's PostgreSQL 15 programs (pg_basebackup, ...).
inline constexpr const char* kPgBinDir = "/usr/lib/postgresql/15/bin";

// A /bin/sh script at `path` (mode 0700): "#!/bin/sh\n" + body. Throws when it cannot be written.
void write_executable(const std::string& path, const std::string& body);

struct ClusterOptions {
  int nodes = 3;
  std::string scope = "e2e";
  int ttl = 20;
  int loop_wait = 2;
  int retry_timeout = 3;
  int primary_start_timeout = 60;
  int maximum_lag_on_failover = 16 << 20;
  // bootstrap.dcs.synchronous_mode (ha.md §6).
  bool synchronous_mode = false;
  // bootstrap.dcs.postgresql.parameters.wal_level (only the dynamic value counts, as in Patroni).
  std::string wal_level = "replica";
  // restapi.authentication (basic auth on the unsafe endpoints); empty user = none.
  std::string rest_user;
  std::string rest_password;
  // TLS everywhere, as production clusters run: etcd on https with authentication; PostgreSQL
  // with ssl on and only `hostssl ... clientcert=verify-ca` (replication: verify-full) lines, the
  // agent's roles authenticating with client certificates; the REST API on https with
  // verify_client: required and an encrypted key (keyfile_password). The test's own probes
  // (SQL, REST, etcd) use the same certificates.
  bool tls = false;
  // bootstrap.dcs.failsafe_mode (ha.md §7).
  bool failsafe_mode = false;
  // watchdog.mode with Patroni's `testing` driver on a regular file per node (Node::watchdog_file,
  // where every command is appended as text); empty = no watchdog section (Patroni's default,
  // automatic, which finds no /dev/watchdog here).
  std::string watchdog_mode;
  // With watchdog_mode: the device is a FIFO (a WatchdogEmulator reads it) instead of a file.
  bool watchdog_fifo = false;
  // postgresql.callbacks (all five), pre_promote and before_stop point at a script per node
  // that appends "<node> <its arguments>" to callbacks_log() (Node::callback_script).
  bool callbacks = false;
  // Lines added to every node's `postgresql` section (indented by two spaces); "{dir}" is
  // replaced by the cluster's temp dir, "{node}" by the node's name.
  std::string postgresql_yaml;
  // Lines added to every node's `bootstrap` section (indented by two spaces), to its
  // `bootstrap.dcs` (by four: standby_cluster, ...), to its local `postgresql.parameters` (by
  // four: archive_mode, archive_command, ...) and to its `tags` (by two: nostream, ...), each line
  // already indented by the caller; "{dir}"
  // and "{node}" replaced as in postgresql_yaml.
  std::string bootstrap_yaml;
  std::string dcs_yaml;
  std::string parameters_yaml;
  // archive_mode on and this archive_command on every node ("{dir}", "{node}" replaced);
  // kArchiveToDir copies each segment to <cluster dir>/archive (created by the constructor).
  std::string archive_command;
  static constexpr const char* kArchiveToDir = "test ! -f {dir}/archive/%f && cp %p {dir}/archive/%f";
  std::string tags_yaml;
  // Runs on the etcd of another TestCluster (which must outlive this one, single server)
  // instead of an etcd of its own: two clusters (scopes) on one etcd.
  TestCluster* etcd_of = nullptr;
  // With tls: the TLS material (CA, role and client certificates) of another TestCluster (which
  // must outlive this one) instead of a CA of its own, so that the two clusters' members trust
  // each other (a standby cluster, a restore from the other's backup). Defaults to etcd_of.
  TestCluster* ca_of = nullptr;
  // postgresql.authentication.superuser.password of every node (and of the test's probes).
  std::string superuser_password = "e2e-super-pw";
  // No postgresql.pg_hba at all: the nodes keep the pg_hba.conf of their data directory
  // (initdb's, or a restored one, + bootstrap.pg_hba).
  bool omit_pg_hba = false;
  // etcd members: 1 (EtcdServer) or more (EtcdCluster, members can be stopped one by one).
  int etcd_members = 1;
  // The DCS: "etcd3" (an etcd of the cluster's own, the options above), or "etcd" (etcd's v2
  // API) or "zookeeper", each one server of test::DcsServer (secure with tls), without
  // etcd_of, etcd_members > 1 or proxies.
  std::string dcs = "etcd3";
  // Fault tests: every path between an agent and the others goes through a TcpProxy the test
  // controls (test::TcpProxy): each agent reaches etcd through proxies of its own (one per
  // member, `use_proxies: true`), and the members reach each other's REST API and PostgreSQL
  // through one proxy in front of each (the `connect_address` values). The test's own probes
  // and writers connect directly.
  bool proxies = false;
  // Member names are <name_prefix><1..N> (clusters on one etcd and CA need distinct names).
  std::string name_prefix = "n";
  // A Citus group (spec/citus.md): the `citus` section {group, database: citus_database};
  // the test's DCS probes (key(), leader_name(), waits) then read <scope>/<group>/ and its SQL
  // probes (conninfo(), sql()) connect to citus_database.
  std::optional<int> citus_group;
  std::string citus_database = "citus";
  // custos.compat of the nodes: "4.1", "3.3", or "mixed" (node 1 presents 4.1, node 2 3.3, ...:
  // every cluster then has both spellings of the primary, which every reader must accept).
  // Empty: CUSTOS_TEST_COMPAT from the environment, else "mixed".
  std::string compat;
};

// The reply of TestCluster::rest(); status 0 when the agent could not be reached.
struct RestReply {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // First header with that name (case-insensitive), or "".
  std::string header(const std::string& name) const {
    for (const auto& [k, v] : headers)
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
        return v;
    return "";
  }
};

struct Node {
  std::string name;      // n1, n2, ...
  int api_port = 0;
  int pg_port = 0;
  std::string dir;       // <cluster dir>/<name>
  std::string data_dir;  // <dir>/data
  std::string config_file;
  std::string log_file;  // the agent's stdout + stderr (appended across restarts)
  std::string watchdog_file;  // with ClusterOptions::watchdog_mode: the testing driver's device
  std::string callback_script;  // with ClusterOptions::callbacks
  // With ClusterOptions::proxies: this agent's way to etcd (one per member), and the way the
  // other members reach its REST API and PostgreSQL.
  std::vector<std::unique_ptr<test::TcpProxy>> etcd_proxies;
  std::unique_ptr<test::TcpProxy> api_proxy, pg_proxy;
  // Added to the agent's environment at its next start (LD_PRELOAD=libfaketime, ...).
  std::map<std::string, std::string> env;
  test::IssuedCertificate server_cert;  // with tls: PostgreSQL's certificate
  test::IssuedCertificate rest_cert;    // with tls: the REST API's, key encrypted with rest_key_password()
  std::unique_ptr<test::ChildProcess> agent;
  bool expect_running = false;  // false after a deliberate stop/kill: a dead agent is then no crash
  int starts = 0;
};

// A row write / read result of the convenience SQL helpers.
struct SqlOutcome {
  bool ok = false;
  std::string error;  // when !ok
  std::vector<postgres::Row> rows;
};

class TestCluster {
 public:
  // Creates the dir, starts etcd and writes every node's config. Agents are not started yet.
  explicit TestCluster(ClusterOptions options = {});
  ~TestCluster();
  TestCluster(const TestCluster&) = delete;
  TestCluster& operator=(const TestCluster&) = delete;

  const ClusterOptions& options() const { return options_; }
  int size() const { return static_cast<int>(nodes_.size()); }
  // The Patroni generation node i presents ("4.1" or "3.3") and its spelling of the primary's
  // role ("primary" or "master") in member keys, REST answers and callbacks.
  std::string compat_of(int i) const;
  std::string primary_role(int i) const { return compat_of(i) == "3.3" ? "master" : "primary"; }
  Node& node(int i) { return nodes_.at(static_cast<std::size_t>(i)); }
  const std::string& name(int i) const { return nodes_.at(static_cast<std::size_t>(i)).name; }
  int index_of(const std::string& name) const;  // -1 if no such node
  const std::string& dir() const { return dir_; }
  // The single etcd (etcd_members == 1) or the cluster (> 1); each throws for the other shape.
  test::EtcdServer& etcd();
  test::EtcdCluster& etcd_cluster();

  // Where the callback scripts write (ClusterOptions::callbacks): "<node> <args>" per line.
  std::string callbacks_log() const { return dir_ + "/callbacks.log"; }

  // ---- faults (ClusterOptions::proxies)
  // The paths between node i's agent and etcd (every member).
  void set_dcs_link(int i, test::TcpProxy::Mode mode);
  // The paths from the other members to node i's REST API and PostgreSQL.
  void set_inbound_links(int i, test::TcpProxy::Mode mode);
  // Every proxy back to pass.
  void heal_links();
  static std::string custos_bin();
  static std::string custosctl_bin();
  // custosctl -c <config_file> args..., bounded by `timeout`; the command and its output are
  // printed so that a failing test shows them.
  static test::RunResult custosctl(const std::string& config_file, const std::vector<std::string>& args,
                                   milliseconds timeout = milliseconds(120000));

  // ---- TLS material (options().tls; empty otherwise)
  const std::string& ca_file() const;
  // Client certificate of a REST client (curl, patronictl) and the PostgreSQL superuser's.
  const test::IssuedCertificate& ctl_cert() const { return ctl_cert_; }
  const test::IssuedCertificate& superuser_cert() const { return superuser_cert_; }
  static const char* rest_key_password() { return "e2e-rest-key-pw"; }
  // "https" with tls, else "http"; and a member's REST base URL (scheme://127.0.0.1:port).
  std::string rest_scheme() const { return options_.tls ? "https" : "http"; }
  std::string rest_base(int i) const;
  // Writes a patronictl / custosctl configuration for this cluster (DCS, ctl TLS and auth) to
  // `path`.
  void write_ctl_config(const std::string& path) const;
  // The etcd3 section every node and client uses (indented by two spaces, ending in a newline).
  std::string etcd_section() const;
  // The DCS section of node i's configuration (i < 0: the direct one, for clients), with its
  // name: "etcd3:\n  hosts: ...", "zookeeper: {...}\n". Ends in a newline.
  std::string dcs_section_yaml(int i = -1) const;
  // The DCS as a custosctl --dcs-url: "<etcd3|etcd|zookeeper>://127.0.0.1:<port>" (one server).
  std::string dcs_url() const;
  // With ClusterOptions::dcs "etcd" or "zookeeper": the DCS section's value a client uses (hosts,
  // and with tls the CA, client certificate and key, user and password). Throws for etcd3.
  nlohmann::json dcs_client_settings() const;

  // ---- agents
  void start_all();
  void start_agent(int i);
  bool agent_running(int i);
  pid_t agent_pid(int i) const;
  // SIGTERM to the agent (the agent is expected to stop PostgreSQL and release the lock).
  void sigterm_agent(int i);
  // Waits for a signalled agent to exit; returns its wait status description, nullopt on timeout.
  std::optional<std::string> wait_agent_exit(int i, milliseconds timeout);
  // SIGKILL to the agent only (PostgreSQL keeps running, orphaned to this process).
  void kill_agent(int i);
  // SIGKILL to the agent and to its postmaster, back to back (a machine dying).
  void kill_node(int i);
  // A machine reset (what a watchdog does): SIGKILL to the agent and to every PostgreSQL
  // process of the node at once (the postmaster's process group), not only the postmaster.
  void reset_node(int i);
  // Describes the exit of an agent that is no longer running ("exit 1", "signal 11"), or "".
  std::string agent_exit(int i);

  // ---- PostgreSQL
  // The postmaster's pid from <data_dir>/postmaster.pid if that process is alive (not a zombie).
  std::optional<pid_t> postmaster_pid(int i) const;
  // SIGKILL to the postmaster only; returns the pid killed (nullopt: none was running).
  std::optional<pid_t> kill_postmaster(int i);
  std::string conninfo(int i) const;
  // One statement on a fresh superuser connection (connect timeout 2 s, query timeout `timeout`).
  SqlOutcome sql(int i, const std::string& statement, const postgres::Params& params = {},
                 milliseconds timeout = milliseconds(5000));
  // First column of the first row, or nullopt on error / no row.
  std::optional<std::string> sql_value(int i, const std::string& statement);
  // true: primary, false: in recovery, nullopt: not reachable.
  std::optional<bool> is_primary_sql(int i);
  // libpq keywords for node i as the replication role (its certificate with tls; the password
  // goes in PGPASSWORD): pg_basebackup, pg_recvlogical.
  std::string replication_conninfo(int i) const;
  static const char* replication_password() { return "e2e-repl-pw"; }
  // pg_basebackup of node i into `target` (WAL streamed) as the replication role, with the
  // cluster's TLS material when tls; the run's result (exit code and output).
  test::RunResult base_backup(int i, const std::string& target);
  // Node i (a primary with archive_command) switches to a new WAL segment; true once every
  // segment written so far is archived, false after `timeout`.
  bool wal_archived(int i, milliseconds timeout);
  // pg_postmaster_start_time() as text.
  std::optional<std::string> postmaster_start_time(int i);

  // ---- DCS (etcd keys under /service/<scope>/)
  std::string key(const std::string& relative) const;
  std::optional<std::string> get_key(const std::string& relative);
  void put_key(const std::string& relative, const std::string& value);
  std::optional<std::string> leader_name();

  // ---- REST API of an agent
  // HTTP status of GET http://127.0.0.1:<api port><path>, 0 when unreachable.
  int rest_status(int i, const std::string& path, std::string* body = nullptr);
  // Any request to node i; `auth`: send the configured rest_user/rest_password.
  RestReply rest(int i, const std::string& method, const std::string& path, const std::string& body = "",
                 bool auth = true, milliseconds timeout = milliseconds(90000));

  // ---- waits (throw std::runtime_error with describe() on timeout)
  // Until exactly one node is primary: the leader key names it, its PostgreSQL accepts writes
  // (not in recovery), its GET /primary answers 200 and no other node answers 200 there or runs
  // PostgreSQL out of recovery. Returns its index.
  int wait_for_primary(milliseconds timeout);
  // Until each of `replicas` streams from `primary` (pg_stat_replication on the primary shows
  // application_name = member name in state streaming) and answers GET /replica with 200.
  void wait_for_streaming(int primary, const std::vector<int>& replicas, milliseconds timeout);
  // Until an INSERT succeeds on one of `candidates`; returns that node. Tries each candidate in
  // turn every 100 ms.
  int wait_for_writable(const std::vector<int>& candidates, const std::string& insert_sql,
                        milliseconds timeout);
  // Until `SELECT count(*) FROM e2e_rows WHERE id BETWEEN lo AND hi` on node i equals hi-lo+1.
  void wait_for_rows(int i, int64_t lo, int64_t hi, milliseconds timeout);

  // ---- diagnostics
  // One line per node (agent, postmaster, SQL role, REST codes) plus the leader key.
  std::string describe();
  // The last `lines` lines of every node's agent log (and PostgreSQL's log if found).
  std::string logs(std::size_t lines = 120) const;
  // ADD_FAILURE for every agent that is expected to run but has exited (a crash).
  void check_no_agent_died();

  // Stops everything (agents, PostgreSQL, etcd) by PID and removes the dir. Idempotent.
  void shutdown();

 private:
  void write_config(int i);
  void kill_leftovers();

  ClusterOptions options_;
  std::string dir_;
  std::unique_ptr<test::TestCa> ca_;  // own CA (tls without ca_of)
  const test::TestCa* ca_view_ = nullptr;  // ca_, or the one of ClusterOptions::ca_of
  test::IssuedCertificate ctl_cert_, superuser_cert_, replication_cert_, rewind_cert_;
  std::unique_ptr<test::EtcdServer> etcd_;
  test::EtcdServer* etcd_server_ = nullptr;  // etcd_, or the one of ClusterOptions::etcd_of
  std::unique_ptr<test::EtcdCluster> etcd_cluster_;
  std::unique_ptr<test::DcsServer> other_dcs_;  // ClusterOptions::dcs other than etcd3
  // etcdctl against a running member (get/put of the tests' probes).
  test::RunResult etcdctl(const std::vector<std::string>& args);
  // The etcd3 section of node i (its proxies when proxied); i < 0: the direct one.
  std::string etcd_section_for(int i) const;
  std::unique_ptr<net::HttpClient> http_;
  std::vector<Node> nodes_;
  bool shut_down_ = false;
};

// Seconds since `start`, as a double.
double seconds_since(Clock::time_point start);

}  // namespace custos::e2e
