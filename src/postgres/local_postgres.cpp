#include "postgres/local_postgres.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "postgres/basebackup.h"
#include "postgres/config_files.h"
#include "postgres/conninfo.h"
#include "postgres/file_util.h"
#include "postgres/crash_recovery.h"
#include "postgres/data_directory.h"
#include "postgres/initdb.h"
#include "common/json_truth.h"
#include "common/shlex.h"
#include "postgres/lsn.h"
#include "postgres/pgpass.h"
#include "postgres/replica_methods.h"
#include "postgres/rewind.h"
#include "postgres/roles.h"
#include "postgres/slots.h"
#include "common/logging.h"

namespace custos::postgres {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

// An OSError as Python prints it: "[Errno 13] Permission denied: '/data'".
std::string python_os_error(const std::error_code& ec, const std::string& path) {
  return "[Errno " + std::to_string(ec.value()) + "] " + ec.message() + ": '" + path + "'";
}

std::string q(const std::string& v) { return quote_conninfo_value(v); }

ConfigLayout layout_of(const NodeSettings& s) {
  ConfigLayout l;
  l.data_dir = s.data_dir;
  l.config_dir = s.config_dir == s.data_dir ? "" : s.config_dir;
  l.config_base_name = s.config_base_name;
  l.custom_conf = s.custom_conf;
  return l;
}

int stop_signal(StopMode mode) {
  switch (mode) {
    case StopMode::Smart: return SIGTERM;
    case StopMode::Fast: return SIGINT;
    case StopMode::Immediate: return SIGQUIT;
  }
  return SIGINT;
}

}  // namespace

LocalPostgres::LocalPostgres(NodeSettings settings, ProcessRunner& runner)
    : runner_(runner),
      settings_(std::make_shared<const NodeSettings>(std::move(settings))),
      postmaster_(settings_->data_dir, runner) {}

LocalPostgres::~LocalPostgres() = default;

void LocalPostgres::set_settings(NodeSettings settings) {
  auto next = std::make_shared<const NodeSettings>(std::move(settings));
  MutexLock lk(settings_mu_);
  settings_ = std::move(next);
}

NodeSettings LocalPostgres::settings() const { return *current_settings(); }

std::shared_ptr<const NodeSettings> LocalPostgres::current_settings() const {
  MutexLock lk(settings_mu_);
  return settings_;
}

// ---- cheap facts --------------------------------------------------------------------------------

DataDirState LocalPostgres::data_dir_state(std::string* why_inaccessible) const {
  const std::string dir = current_settings()->data_dir;
  auto inaccessible = [&](const std::error_code& ec) {
    if (why_inaccessible) *why_inaccessible = python_os_error(ec, dir);
    return DataDirState::inaccessible;
  };
  // Patroni's rule, the common case first (asked every cycle, one system call): a data
  // directory with global/pg_control is not empty, without listing it.
  struct stat st{};
  if (::stat((dir + "/global/pg_control").c_str(), &st) == 0 && S_ISREG(st.st_mode)) return DataDirState::present;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return ec ? inaccessible(ec) : DataDirState::empty;
  if (!fs::is_directory(dir, ec)) return inaccessible(ec ? ec : std::make_error_code(std::errc::not_a_directory));
  fs::directory_iterator it(dir, ec);
  if (ec) return inaccessible(ec);
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return inaccessible(ec);
    // Hidden entries and lost+found do not count (Patroni's data_directory_is_empty).
    const std::string n = it->path().filename().string();
    if (n == "lost+found" || n.starts_with('.')) continue;
    return DataDirState::present;
  }
  return DataDirState::empty;
}

std::optional<ControlData> LocalPostgres::controldata() const {
  const auto settings_now = current_settings();
  const NodeSettings& s = *settings_now;
  std::error_code ec;
  if (!fs::exists(s.data_dir + "/global/pg_control", ec)) return std::nullopt;
  auto cd = read_controldata(s.pg_controldata, s.data_dir, 10s, runner_);
  if (!cd) {
    spdlog::warn("pg_controldata failed: {}", cd.error());
    return std::nullopt;
  }
  return cd.value();
}

ServerProcess LocalPostgres::process_state() {
  MutexLock lk(postmaster_mu_);
  if (!postmaster_.is_running()) {
    if (!postmaster_.adopt()) return ServerProcess::stopped;
    spdlog::info("adopted the running postmaster (pid {})", postmaster_.pid().value_or(0));
  }
  // postmaster.pid says "ready" (primary) or "standby" (hot standby) once it accepts
  // connections: cheap, no connection attempt.
  auto pf = postmaster_.read_pid_file();
  const auto pid = postmaster_.pid();
  if (pf && pid && pf->pid == *pid && pf->accepting()) return ServerProcess::running;
  return postmaster_.is_running() ? ServerProcess::starting : ServerProcess::stopped;
}

std::optional<pid_t> LocalPostgres::postmaster_pid() {
  MutexLock lk(postmaster_mu_);
  if (!postmaster_.is_running()) return std::nullopt;
  return postmaster_.pid();
}

bool LocalPostgres::recovery_signal_present() const {
  const std::string dd = current_settings()->data_dir;
  return has_standby_signal(dd) || has_recovery_signal(dd);
}

bool LocalPostgres::can_rewind(const std::optional<ControlData>& cd) const {
  const auto settings_now = current_settings();
  const NodeSettings& s = *settings_now;
  if (!s.use_pg_rewind || !cd) return false;
  if (!find_executable(s.pg_rewind)) return false;
  return cd->wal_log_hints() || cd->data_checksums();
}

// ---- queries ------------------------------------------------------------------------------------

PgConnection& LocalPostgres::shared_connection(milliseconds timeout) {
  const std::string ci = current_settings()->local_conninfo();
  if (!conn_ || conn_->conninfo() != ci) {
    ConnectionOptions o;
    o.connect_timeout = std::max<milliseconds>(timeout, 2000ms);
    o.query_timeout = timeout;
    o.application_name = "custos";
    conn_ = std::make_unique<PgConnection>(ci, o);
  }
  return *conn_;
}

Result<ServerStatus, std::string> LocalPostgres::query_status(milliseconds timeout) {
  MutexLock lk(conn_mu_);
  auto r = query_server_status(shared_connection(timeout), timeout);
  if (!r) return make_error(r.error().message);
  return r.value();
}

Result<QueryResult, std::string> LocalPostgres::query(const std::string& sql, const Params& params,
                                                      milliseconds timeout) {
  MutexLock lk(conn_mu_);
  auto r = shared_connection(timeout).query(sql, params, timeout);
  if (!r) return make_error(r.error().message);
  return r.value();
}

Result<std::vector<ReplicationConnection>, std::string> LocalPostgres::replication_connections(milliseconds timeout) {
  auto r = query(kReplicationConnectionsQuery, {}, timeout);
  if (!r) return make_error(r.error());
  return parse_replication_connections(r.value());
}

std::vector<std::string> LocalPostgres::pending_restart_parameters() {
  std::vector<std::string> out;
  auto r = query("SELECT name FROM pg_catalog.pg_settings WHERE pending_restart", {}, 10s);
  if (!r) return out;
  for (const auto& row : r->rows)
    if (!row.empty() && row[0]) out.push_back(*row[0]);
  return out;
}

Status<std::string> LocalPostgres::checkpoint(milliseconds timeout) {
  // A connection of its own: a CHECKPOINT may take long, and the shared connection serves the
  // loop's status query meanwhile.
  ConnectionOptions o;
  o.connect_timeout = std::min<milliseconds>(timeout, 5s);
  o.query_timeout = timeout;
  PgConnection conn(current_settings()->local_conninfo(), o);
  auto r = conn.query("CHECKPOINT", {}, timeout);
  if (!r) return make_error(r.error().message);
  return Unit{};
}

// ---- configuration files ------------------------------------------------------------------------

std::map<std::string, std::string> LocalPostgres::recovery_params(const NodeSettings& s,
                                                                  const std::optional<Upstream>& upstream) const {
  RecoverySettings rs;
  const bool remote = upstream && upstream->remote;
  if (upstream && !upstream->host.empty()) {
    auto& ci = rs.primary_conninfo;
    ci["user"] = s.replication.username;
    ci["passfile"] = s.pgpass;
    ci["host"] = upstream->host;
    if (remote) {
      if (!s.standby_cluster.port.empty()) ci["port"] = s.standby_cluster.port;
      // Several remote hosts: only the one that accepts writes is the primary to follow.
      if (upstream->host.find(',') != std::string::npos) ci["target_session_attrs"] = "read-write";
    } else {
      ci["port"] = std::to_string(upstream->port);
    }
    // Patroni's defaults, each only where the server knows the keyword (0 = unknown: all).
    const int major = data_dir_major_version(s.data_dir);
    ci["sslmode"] = "prefer";
    if (major == 0 || major >= 12) ci["gssencmode"] = "prefer";
    if (major == 0 || major >= 13) ci["channel_binding"] = "prefer";
    if (major >= 17) ci["sslnegotiation"] = "postgres";
    for (const auto& [k, v] : s.replication.extra) ci[k] = v;
    if (!s.krbsrvname.empty()) ci["krbsrvname"] = s.krbsrvname;
    ci["application_name"] = s.name;
    ci["dbname"] = s.database;
    // The remote primary's slot only when standby_cluster names one (Patroni).
    if (s.use_slots) rs.primary_slot_name = remote ? s.standby_cluster.primary_slot_name
                                                   : s.slot_name;
  }
  rs.extra = s.recovery_conf;
  if (s.standby_cluster.active && upstream) {
    // standby_cluster's own recovery settings win over postgresql.recovery_conf: restore_command
    // and archive_cleanup_command for every member of a standby cluster (Patroni gives them to the
    // cascading replicas too), recovery_min_apply_delay only towards the remote primary.
    for (const auto& [name, value] : {std::pair<const char*, const std::string&>{"restore_command", s.standby_cluster.restore_command},
                                      {"archive_cleanup_command", s.standby_cluster.archive_cleanup_command},
                                      {"recovery_min_apply_delay", s.standby_cluster.recovery_min_apply_delay}})
      if (!value.empty() && (remote || std::string_view(name) != "recovery_min_apply_delay")) rs.overrides[name] = value;
  }
  return build_recovery_params(rs);
}

Status<std::string> LocalPostgres::write_pgpass(const NodeSettings& s) const {
  std::vector<PgpassEntry> entries;
  for (const Credentials* c : {&s.replication, &s.rewind, &s.superuser})
    if (!c->username.empty() && c->password) entries.push_back({"", "", c->username, *c->password});
  try {
    postgres::write_pgpass(s.pgpass, entries);
  } catch (const std::exception& e) {
    return make_error(std::string("cannot write the pgpass file: ") + e.what());
  }
  return Unit{};
}

namespace {

// The numeric addresses `host` resolves to (the agent's own connections come from them);
// none when it is a socket directory or does not resolve.
std::vector<std::string> numeric_addresses(const std::string& host, int port) {
  std::vector<std::string> out;
  if (host.empty() || host.front() == '/') return out;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return out;
  for (addrinfo* a = res; a; a = a->ai_next) {
    char buf[NI_MAXHOST];
    if (::getnameinfo(a->ai_addr, a->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) != 0) continue;
    if (std::find(out.begin(), out.end(), buf) == out.end()) out.emplace_back(buf);
  }
  ::freeaddrinfo(res);
  return out;
}

// Once a custom bootstrap is over (or was interrupted by an agent exit), the restored cluster's
// own pg_hba.conf replaces the trust-only one, unless postgresql.pg_hba was just written.
void put_back_restored_hba(const ConfigLayout& layout, bool restore) {
  const std::string aside = restored_hba_path(layout);
  std::error_code ec;
  if (!fs::exists(aside, ec)) return;
  if (restore) {
    spdlog::info("putting the restored pg_hba.conf back in place of the custom bootstrap's trust-only one");
    fs::rename(aside, layout.hba_path());
  } else {
    fs::remove(aside, ec);
  }
}

}  // namespace

Status<std::string> LocalPostgres::write_configuration_locked(const NodeSettings& s, bool replica,
                                                              const std::optional<Upstream>& upstream) {
  try {
    const auto layout = layout_of(s);
    std::map<std::string, std::string> recovery;
    if (replica) recovery = recovery_params(s, upstream);
    if (auto st = write_pgpass(s); !st) return st;
    // As Patroni: the command-line parameters are in postgresql.conf too, so that a reload does
    // not read postgresql.base.conf's initdb values for them (max_connections = 100 against a
    // server started with --max_connections=50 would be a pending restart after every reload).
    auto params = s.effective_conf_parameters();
    for (const auto& [name, value] : s.command_line) params[name] = value;
    // The primary must keep the catalog rows the replica's logical slots need (Patroni).
    if (replica && enforce_hot_standby_feedback_) params["hot_standby_feedback"] = "on";
    write_postgresql_conf(layout, params, recovery);
    if (!s.pg_hba.empty()) write_pg_hba(layout, s.pg_hba);
    if (!custom_bootstrap_ran_) put_back_restored_hba(layout, s.pg_hba.empty());
    if (!s.pg_ident.empty()) write_pg_ident(layout, s.pg_ident);
    sanitize_auto_conf(s.data_dir);
    if (replica) write_standby_signal(s.data_dir);
    else remove_recovery_signals(s.data_dir);
    written_recovery_ = std::move(recovery);
    written_replica_ = replica;
    written_upstream_ = upstream;
    written_any_ = true;
  } catch (const std::exception& e) {
    return make_error(std::string("cannot write the configuration: ") + e.what());
  }
  return Unit{};
}

Status<std::string> LocalPostgres::write_configuration(bool replica, const std::optional<Upstream>& upstream) {
  const auto settings_now = current_settings();
  const NodeSettings& s = *settings_now;
  MutexLock lk(files_mu_);
  return write_configuration_locked(s, replica, upstream);
}

Status<std::string> LocalPostgres::rewrite_configuration() {
  const auto settings_now = current_settings();
  const NodeSettings& s = *settings_now;
  MutexLock lk(files_mu_);
  // Nothing written by this process yet (e.g. an adopted server): the next start/follow does it.
  if (!written_any_) return Unit{};
  return write_configuration_locked(s, written_replica_, written_upstream_);
}

Status<std::string> LocalPostgres::write_primary_configuration() { return write_configuration(false, std::nullopt); }

Result<FollowOutcome, std::string> LocalPostgres::follow(const std::optional<Upstream>& upstream) {
  const auto settings_now = current_settings();
  const NodeSettings& s = *settings_now;
  {
    MutexLock lk(files_mu_);
    const auto desired = recovery_params(s, upstream);
    if (written_any_ && written_replica_ && desired == written_recovery_ && !follow_reload_pending_)
      return FollowOutcome::unchanged;
    auto st = write_configuration_locked(s, true, upstream);
    if (!st) return make_error(st.error());
  }
  // PostgreSQL >= 13 applies primary_conninfo / primary_slot_name on reload. A reload that did
  // not happen is tried again by the next follow, not taken as done.
  // No postmaster (it stopped meanwhile): the next start reads what was written.
  const bool reloaded = !postmaster_pid() || reload();
  {
    MutexLock lk(files_mu_);
    follow_reload_pending_ = !reloaded;
  }
  if (!reloaded) return make_error(std::string("the new recovery settings are written but PostgreSQL was not reloaded"));
  return FollowOutcome::reconfigured;
}

// ---- process control ----------------------------------------------------------------------------

PostmasterOptions LocalPostgres::postmaster_options(const NodeSettings& s) const {
  PostmasterOptions o;
  o.postgres_bin = s.postgres;
  o.data_dir = s.data_dir;
  o.config_file = layout_of(s).conf_path();
  o.parameters = s.command_line;
  o.log_file = s.log_file();
  return o;
}

Status<std::string> LocalPostgres::start(bool replica, const std::optional<Upstream>& upstream,
                                         const CancelToken& cancel) {
  MutexLock control(control_mu_);
  if (cancel.cancelled()) return make_error(std::string("cancelled: PostgreSQL is not started"));
  if (auto st = write_configuration(replica, upstream); !st) return st;
  return start_postmaster(replica ? (upstream ? "a replica of " + upstream->name
                                               : std::string("a replica without upstream"))
                                   : std::string("a primary"));
}

Status<std::string> LocalPostgres::start_postmaster(const std::string& as_what) {
  const auto options = postmaster_options(*current_settings());
  MutexLock lk(postmaster_mu_);
  if (postmaster_.is_running() || postmaster_.adopt()) return Unit{};
  auto r = postmaster_.start(options);
  if (!r) return make_error(r.error());
  spdlog::info("postmaster started (pid {}) as {}", postmaster_.pid().value_or(0), as_what);
  return Unit{};
}

ServerProcess LocalPostgres::wait_ready(milliseconds timeout, const CancelToken& cancel) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const ServerProcess p = process_state();
    if (p != ServerProcess::starting) return p;
    if (std::chrono::steady_clock::now() >= deadline || cancel.cancelled()) return p;
    std::this_thread::sleep_for(100ms);
  }
}

bool LocalPostgres::stop(StopMode mode, milliseconds timeout) {
  // Held for the whole stop: no start can slip in between. Status calls do not take it.
  MutexLock control(control_mu_);
  return signal_postmaster_until_gone(mode, timeout);
}

bool LocalPostgres::stop_now(milliseconds grace) {
  // Without control_mu_: a start, stop or long operation in progress must not delay a fence.
  spdlog::warn("stopping PostgreSQL immediately: this node must not accept writes any more");
  return signal_postmaster_until_gone(StopMode::Immediate, grace);
}

bool LocalPostgres::signal_postmaster_until_gone(StopMode mode, milliseconds timeout) {
  pid_t pid = 0;
  int fd = -1;
  {
    MutexLock lk(postmaster_mu_);
    if (!postmaster_.is_running() && !postmaster_.adopt()) return true;
    pid = postmaster_.pid().value_or(0);
    // Our own descriptor of this very process: signals and the wait cannot reach a recycled pid.
    fd = postmaster_.death_fd() >= 0 ? ::fcntl(postmaster_.death_fd(), F_DUPFD_CLOEXEC, 0) : open_pidfd(pid);
  }
  if (pid <= 0) return true;
  struct CloseFd {
    int fd;
    ~CloseFd() {
      if (fd >= 0) ::close(fd);
    }
  } close_fd{fd};
  auto signal_and_wait = [&](int sig, milliseconds t) {
    if (sig != SIGTERM) {
      MutexLock lk(postmaster_mu_);
      shutdown_signalled_ = pid;
    }
    if (!send_signal(pid, fd, sig) && errno == ESRCH) return true;
    return wait_for_exit(pid, fd, t);
  };
  // The waits run without postmaster_mu_: status calls from other threads answer meanwhile.
  bool gone = signal_and_wait(stop_signal(mode), timeout);
  if (!gone) {
    spdlog::warn("postmaster did not stop in {} mode within {} ms; escalating", to_string(mode), timeout.count());
    if (mode != StopMode::Immediate) gone = signal_and_wait(SIGQUIT, std::min<milliseconds>(timeout, 10s));
  }
  if (!gone) {
    spdlog::warn("postmaster (pid {}) ignored the immediate shutdown: killing it and its children", pid);
    for (pid_t c : process_children(pid)) ::kill(c, SIGKILL);
    gone = signal_and_wait(SIGKILL, 5s);
  }
  MutexLock lk(postmaster_mu_);
  // True only when no postmaster runs for the data directory at all.
  return !postmaster_.is_running() && !postmaster_.adopt();
}

bool LocalPostgres::shutdown_in_progress() {
  MutexLock lk(postmaster_mu_);
  if (shutdown_signalled_ == 0 || !postmaster_.is_running()) return false;
  return postmaster_.pid() == shutdown_signalled_;
}

namespace {

// The pid on the first line of <data_dir>/postmaster.pid (0 when absent or unreadable).
pid_t lock_file_pid(const std::string& data_dir) {
  std::ifstream in(data_dir + "/postmaster.pid");
  long pid = 0;
  if (!(in >> pid)) return 0;
  return static_cast<pid_t>(pid);
}

}  // namespace

bool LocalPostgres::reload() {
  const std::string data_dir = current_settings()->data_dir;
  std::optional<pid_t> pid;
  {
    MutexLock lk(postmaster_mu_);
    if (postmaster_.is_running()) pid = postmaster_.pid();
  }
  if (!pid) return false;
  // As pg_ctl reload: only once the postmaster wrote its lock file, which it does after its signal
  // handlers are in place; a SIGHUP before that kills it (a reload right after a start). It has
  // read its configuration files by then, so nothing written before is missed. Waits up to 3 s
  // (only right after a start), without holding the postmaster lock.
  for (int i = 0; lock_file_pid(data_dir) != *pid; ++i) {
    if (i >= 300) {
      spdlog::warn("not reloading PostgreSQL: postmaster {} has not written {}/postmaster.pid", *pid, data_dir);
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
  MutexLock lk(postmaster_mu_);
  if (postmaster_.pid() != pid) return false;  // stopped or replaced meanwhile
  return postmaster_.signal(SIGHUP);
}

// ---- long operations ----------------------------------------------------------------------------

namespace {

// Python's "{}".format(value) of a YAML value, as Patroni builds `--key=value`.
std::string python_format(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  if (v.is_null()) return "None";
  return v.dump();
}

bool data_dir_empty(const std::string& dir) {
  std::error_code ec;
  return !fs::exists(dir, ec) || fs::is_empty(dir, ec);
}

// The data directory with its WAL and tablespace directories (postgres/data_directory.h), before
// a clone and after a failed one; what cannot go is logged and left to the clone's own check.
void clear_data_dir(const std::string& dir) {
  if (auto st = remove_data_directory(dir); !st) spdlog::error("Could not remove data directory {}: {}", dir, st.error());
}

}  // namespace

Status<std::string> LocalPostgres::bootstrap(const CancelToken& cancel) {
  const auto settings_now = current_settings();
  const NodeSettings& s = *settings_now;
  if (!s.bootstrap_method.empty()) return custom_bootstrap(s, cancel);
  auto opts = parse_initdb_options(s.initdb_options.is_null() ? nlohmann::json::array() : s.initdb_options);
  if (!opts) return make_error("bootstrap.initdb: " + opts.error());
  InitdbRequest req;
  req.initdb_bin = s.initdb;
  req.data_dir = s.data_dir;
  req.options = opts.value();
  req.superuser = s.superuser.username;
  req.superuser_password = s.superuser.password;
  req.cancel = cancel;
  auto r = run_initdb(req, runner_);
  if (!r) return make_error("initdb failed: " + r.error());
  try {
    if (s.pg_hba.empty() && !s.bootstrap_pg_hba.empty()) append_lines(layout_of(s).hba_path(), s.bootstrap_pg_hba);
  } catch (const std::exception& e) {
    return make_error(std::string("cannot write pg_hba.conf: ") + e.what());
  }
  auto st = start(false, std::nullopt, cancel);
  if (!st) return st;
  if (wait_ready(std::chrono::seconds(s.pg_ctl_timeout), cancel) != ServerProcess::running)
    return make_error("PostgreSQL did not start after initdb (see " + s.log_file() + ")");
  return Unit{};
}

Status<std::string> LocalPostgres::write_restored_configuration(
    const NodeSettings& s, const std::optional<std::map<std::string, std::string>>& recovery, bool keep_existing) {
  MutexLock lk(files_mu_);
  try {
    const auto layout = layout_of(s);
    if (auto st = write_pgpass(s); !st) return st;
    auto params = s.effective_conf_parameters();
    for (const auto& [name, value] : s.command_line) params[name] = value;
    // standby_mode picks the signal file (parse_bool, as Patroni) and is no parameter itself.
    std::map<std::string, std::string> rec = recovery.value_or(std::map<std::string, std::string>{});
    bool standby = false;
    if (auto mode = rec.find("standby_mode"); mode != rec.end()) {
      standby = patroni_parse_bool(mode->second).value_or(false);
      rec.erase(mode);
    }
    // The trust-only pg_hba.conf below must be the one PostgreSQL reads.
    params.erase("hba_file");
    write_postgresql_conf(layout, params, rec);
    // The restored pg_hba.conf (+ bootstrap.pg_hba) waits aside until post_bootstrap; with
    // postgresql.pg_hba configured, post_bootstrap writes that instead.
    if (s.pg_hba.empty()) {
      if (!fs::exists(layout.hba_path())) {
        spdlog::warn("the restored data directory has no {}: after the bootstrap only bootstrap.pg_hba is in it "
                     "(set postgresql.pg_hba)", layout.hba_path());
        write_pg_hba(layout, {});
      }
      if (!s.bootstrap_pg_hba.empty()) append_lines(layout.hba_path(), s.bootstrap_pg_hba);
      fs::rename(layout.hba_path(), restored_hba_path(layout));
    }
    write_pg_hba(layout, custom_bootstrap_hba_lines(s.superuser.username, s.replication.username,
                                                    numeric_addresses(s.local_host(), s.listen.port)));
    if (!s.pg_ident.empty()) write_pg_ident(layout, s.pg_ident);
    // What the tool wrote (restore_command in postgresql.auto.conf, recovery.signal) stays only
    // with keep_existing_recovery_conf.
    if (!keep_existing) {
      sanitize_auto_conf(s.data_dir);
      remove_recovery_signals(s.data_dir);
    }
    if (recovery) {
      if (standby) write_standby_signal(s.data_dir);
      else write_file_atomic(s.data_dir + "/recovery.signal", "");
    }
    // Until post_bootstrap, nothing rewrites this configuration (a reload keeps it).
    written_any_ = false;
    custom_bootstrap_ran_ = true;
  } catch (const std::exception& e) {
    return make_error(std::string("cannot write the configuration: ") + e.what());
  }
  return Unit{};
}

Status<std::string> LocalPostgres::custom_bootstrap(const NodeSettings& s, const CancelToken& cancel) {
  nlohmann::json options = s.bootstrap_method_options;
  const std::string command = python_format(options["command"]);
  const bool no_params = options.contains("no_params") && python_truthy(options["no_params"]);
  auto argv = shlex_split(command);
  if (!argv || argv->empty())
    return make_error("bootstrap." + s.bootstrap_method + ".command: " + (argv ? std::string("empty") : argv.error()));
  std::vector<std::string> cmd = std::move(argv).value();
  if (!no_params) {
    cmd.push_back("--scope=" + s.scope);
    cmd.push_back("--datadir=" + s.data_dir);
  }
  for (const auto& [k, v] : options.items()) {
    if (k == "command" || k == "no_params" || k == "keep_existing_recovery_conf" || k == "recovery_conf" ||
        k == "scope" || k == "datadir")
      continue;
    cmd.push_back("--" + k + "=" + python_format(v));
  }
  spdlog::info("Running custom bootstrap script: {}", command);
  RunOptions o;
  o.timeout = std::chrono::hours(24 * 7);
  o.cancel = &cancel;
  o.env["PGPASSFILE"] = s.pgpass;
  const std::string method = s.bootstrap_method;
  o.on_output_line = [method](std::string_view line, bool) { spdlog::info("{}: {}", method, line); };
  if (auto st = write_pgpass(s); !st) return st;
  auto r = runner_.run(cmd, o);
  if (!r) return make_error("custom bootstrap script: " + r.error());
  if (!r->success()) return make_error("custom bootstrap script " + command + " " + r->describe());
  std::error_code ec;
  if (!fs::exists(s.data_dir + "/PG_VERSION", ec))
    return make_error("custom bootstrap script " + command + " left no PostgreSQL data directory in " + s.data_dir);
  fs::permissions(s.data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  // No promote trigger file may make PostgreSQL promote before it has recovered.
  fs::remove(s.data_dir + "/promote", ec);
  std::optional<std::map<std::string, std::string>> recovery;
  if (options.contains("recovery_conf") && options["recovery_conf"].is_object()) {
    recovery.emplace();
    for (const auto& [k, v] : options["recovery_conf"].items()) (*recovery)[k] = parameter_value(v);
  }
  const bool keep_existing =
      options.contains("keep_existing_recovery_conf") && python_truthy(options["keep_existing_recovery_conf"]);
  if (auto st = write_restored_configuration(s, recovery, keep_existing); !st) return st;
  {
    MutexLock control(control_mu_);
    if (cancel.cancelled()) return make_error(std::string("cancelled: PostgreSQL is not started"));
    if (auto st = start_postmaster("a restored cluster in recovery"); !st) return st;
  }
  // Ready once it accepts connections: still recovering (hot standby) or already promoted.
  if (wait_ready(std::chrono::seconds(s.pg_ctl_timeout), cancel) != ServerProcess::running)
    return make_error("PostgreSQL did not start after the custom bootstrap (see " + s.log_file() + ")");
  return Unit{};
}

Status<std::string> LocalPostgres::post_bootstrap() {
  const auto settings_now = current_settings();
  const NodeSettings& s = *settings_now;
  ConnectionOptions o;
  o.connect_timeout = 5s;
  o.query_timeout = 30s;
  PgConnection conn(s.local_conninfo(), o);
  auto exec = [&](const std::string& sql, const std::string& what) -> Status<std::string> {
    auto r = conn.query(sql);
    if (!r) return make_error(what + ": " + r.error().message);
    return Unit{};
  };
  auto statements_failed = [](const PgError& e) { return make_error("cannot build the role statements: " + e.message); };
  {
    auto sql = superuser_password_statements(conn, s.superuser);
    if (!sql) return statements_failed(sql.error());
    for (const auto& stmt : sql.value())
      if (auto r = exec(stmt, "setting the superuser password"); !r) return r;
  }
  if (!s.post_bootstrap.empty()) {
    if (auto st = write_pgpass(s); !st) return st;
    RunOptions ro;
    ro.timeout = std::chrono::hours(1);
    ro.env["PGPASSFILE"] = s.pgpass;
    ro.env["PGOPTIONS"] = "-c synchronous_commit=local -c statement_timeout=0";
    if (!s.krbsrvname.empty()) ro.env["PGKRBSRVNAME"] = s.krbsrvname;
    ro.on_output_line = log_child_output("post_bootstrap");
    // Patroni passes the local superuser keywords without the password (it is in the pgpass).
    std::map<std::string, std::string> dsn = s.local_connection_params();
    dsn.erase("password");
    auto r = runner_.run({"/bin/sh", "-c", s.post_bootstrap + " \"$0\"", format_dsn(dsn)}, ro);
    if (!r) return make_error("post_bootstrap: " + r.error());
    if (!r->success()) return make_error("post_bootstrap script " + r->describe() + ": " + r->err);
  }
  if (s.replication.username != s.superuser.username && !s.replication.username.empty()) {
    auto sql = create_or_alter_role_statement(conn, s.replication, "REPLICATION LOGIN");
    if (!sql) return statements_failed(sql.error());
    if (auto r = exec(sql.value(), "creating the replication role " + s.replication.username); !r) return r;
  }
  if (s.has_rewind_user && s.rewind.username != s.superuser.username && !s.rewind.username.empty()) {
    auto sql = create_or_alter_role_statement(conn, s.rewind, "LOGIN");
    if (!sql) return statements_failed(sql.error());
    if (auto r = exec(sql.value(), "creating the rewind role " + s.rewind.username); !r) return r;
    auto grants = rewind_grant_statements(conn, s.rewind.username);
    if (!grants) return statements_failed(grants.error());
    for (const auto& g : grants.value())
      if (auto r = exec(g, "granting the rewind functions"); !r) return r;
  }
  bool after_custom = false;
  {
    MutexLock lk(files_mu_);
    after_custom = custom_bootstrap_ran_;
    custom_bootstrap_ran_ = false;
  }
  // A Citus node made by initdb (not by a custom bootstrap): its database and extension, the
  // superuser's credentials for node-to-node connections, the coordinator's own address.
  if (s.citus && !after_custom)
    if (auto st = bootstrap_citus(s); !st) return st;
  if (after_custom) {
    // The recovery that restored the cluster is over: the configured passwords are set, so the
    // real pg_hba.conf comes back; the configuration becomes a primary's (no recovery settings,
    // no signal files); a setting that only a restart applies restarts it.
    if (auto st = write_primary_configuration(); !st) return st;
    reload();
    std::this_thread::sleep_for(1s);
    auto pending = pending_restart_parameters();
    if (!pending.empty()) {
      std::string names;
      for (const auto& n : pending) names += (names.empty() ? "" : ", ") + n;
      spdlog::info("restarting after the custom bootstrap: {} need a restart", names);
      if (!stop(StopMode::Fast, std::chrono::seconds(s.pg_ctl_timeout)))
        return make_error(std::string("cannot stop PostgreSQL to restart it after the custom bootstrap"));
      if (auto st = start(false, std::nullopt); !st) return st;
      if (wait_ready(std::chrono::seconds(s.pg_ctl_timeout), CancelToken()) != ServerProcess::running)
        return make_error("PostgreSQL did not start again after the custom bootstrap (see " + s.log_file() + ")");
    }
  }
  return Unit{};
}

Status<std::string> LocalPostgres::bootstrap_citus(const NodeSettings& s) {
  ConnectionOptions o;
  o.connect_timeout = 5s;
  o.query_timeout = 60s;
  const std::string& db = s.citus->database;
  auto fail = [](const std::string& what, const PgError& e) { return make_error("citus: " + what + ": " + e.message); };
  if (db != s.database) {
    PgConnection conn(s.local_conninfo(), o);
    auto ident = conn.escape_identifier(db);
    if (!ident) return fail("cannot quote the database name", ident.error());
    auto r = conn.query("CREATE DATABASE " + ident.value());
    if (!r && r.error().sqlstate != "42P04") return fail("creating database " + db, r.error());  // 42P04: exists
  }
  PgConnection conn(s.local_conninfo(db), o);
  for (const char* setting : {"SET synchronous_commit TO local", "SET statement_timeout TO 0"})
    if (auto r = conn.query(setting); !r) return fail(setting, r.error());
  if (auto r = conn.query("CREATE EXTENSION IF NOT EXISTS citus"); !r) return fail("creating the extension", r.error());
  // Credentials the nodes use to reach each other as the superuser (node 0: every node).
  std::map<std::string, std::string> auth;
  if (s.superuser.password) auth["password"] = *s.superuser.password;
  for (const char* k : {"sslcert", "sslkey"})
    if (auto it = s.superuser.extra.find(k); it != s.superuser.extra.end() && !it->second.empty()) auth[k] = it->second;
  if (!auth.empty()) {
    std::string info;
    for (const char* k : {"password", "sslcert", "sslkey"})
      if (auto it = auth.find(k); it != auth.end()) info += (info.empty() ? "" : " ") + std::string(k) + "=" + quote_conninfo_value(it->second);
    auto r = conn.query("INSERT INTO pg_catalog.pg_dist_authinfo VALUES (0, pg_catalog.current_user(), $1)", {info});
    if (!r) return fail("storing the superuser's credentials in pg_dist_authinfo", r.error());
  }
  if (s.citus->group == 0) {
    auto r = conn.query("SELECT pg_catalog.citus_set_coordinator_host($1, $2::integer, 'primary', 'default')",
                        {s.connect_address.host, std::to_string(s.connect_address.port)});
    if (!r) return fail("registering the coordinator", r.error());
  }
  spdlog::info("citus: extension created in database {}{}", db, s.citus->group == 0 ? ", coordinator registered" : "");
  return Unit{};
}

std::string LocalPostgres::source_conninfo(const Upstream& from, const Credentials& creds,
                                           const std::string& dbname) const {
  // Patroni's DSN of a clone or rewind source (the --connstring of a replica method, the
  // --dbname of pg_basebackup): dbname, user, host, port, then the role's ssl*/gss/... keywords;
  // the password stays in the pgpass file.
  std::map<std::string, std::string> dsn = creds.extra;
  dsn["host"] = from.host;
  dsn["port"] = std::to_string(from.port);
  dsn["user"] = creds.username;
  const auto settings_now = current_settings();
  dsn["dbname"] = dbname.empty() ? settings_now->database : dbname;
  dsn.erase("password");
  // Patroni exports PGKRBSRVNAME for its children; the keyword has the same effect here.
  if (!settings_now->krbsrvname.empty() && !dsn.count("krbsrvname")) dsn["krbsrvname"] = settings_now->krbsrvname;
  return format_dsn(dsn);
}

std::string LocalPostgres::rewind_conninfo(const NodeSettings& s, const Upstream& to) const {
  std::string ci = source_conninfo(to, s.rewind, s.database);
  if (s.rewind.password) ci += " password=" + q(*s.rewind.password);
  return ci;
}

Status<std::string> LocalPostgres::basebackup(const NodeSettings& s, const Upstream& from, const CancelToken& cancel) {
  auto opts = parse_initdb_options(s.basebackup_options.is_null() ? nlohmann::json::array() : s.basebackup_options);
  if (!opts) return make_error("postgresql.basebackup: " + opts.error());
  std::string last_error;
  for (int attempt = 1; attempt <= 2; ++attempt) {
    if (cancel.cancelled()) return make_error("cancelled");
    clear_data_dir(s.data_dir);
    BasebackupRequest req;
    req.pg_basebackup_bin = s.pg_basebackup;
    req.data_dir = s.data_dir;
    req.conninfo = source_conninfo(from, s.replication, "");
    req.options = opts.value();
    req.env["PGPASSFILE"] = s.pgpass;
    req.cancel = cancel;
    auto r = run_basebackup(req, runner_);
    if (r) return Unit{};
    last_error = r.error();
    spdlog::error("pg_basebackup from {} failed (attempt {}): {}", from.name, attempt, last_error);
    if (attempt == 1) spdlog::warn("Trying again in 5 seconds");
    // Five seconds between the attempts, cut short by a cancel.
    for (int i = 0; attempt == 1 && i < 50 && !cancel.cancelled(); ++i) std::this_thread::sleep_for(100ms);
  }
  clear_data_dir(s.data_dir);
  return make_error("clone from " + from.name + " failed: " + last_error);
}


Status<std::string> LocalPostgres::run_replica_method(const NodeSettings& s, const std::string& method,
                                                      const std::optional<Upstream>& from, const CancelToken& cancel) {
  nlohmann::json options = s.replica_method_options.contains(method) ? s.replica_method_options[method]
                                                                      : nlohmann::json::object();
  const bool keep_data = options.contains("keep_data") && python_truthy(options["keep_data"]);
  if (!data_dir_empty(s.data_dir)) {
    if (keep_data) {
      spdlog::info("Leaving data directory uncleaned");
    } else {
      clear_data_dir(s.data_dir);
    }
  }
  std::string command = method;
  if (options.contains("command")) {
    command = python_format(options["command"]);
    options.erase("command");
  }
  // Patroni adds its own parameters unless no_params (then it leaves out its own flags instead).
  std::vector<std::pair<std::string, nlohmann::json>> params;
  const bool no_params = options.contains("no_params") && python_truthy(options["no_params"]);
  for (const auto& [k, v] : options.items()) {
    if (no_params && (k == "no_params" || k == "no_leader" || k == "no_master" || k == "keep_data")) continue;
    params.emplace_back(k, v);
  }
  if (!no_params) {
    const std::string connstring = from ? source_conninfo(*from, s.replication, "") : std::string();
    for (const auto& [k, v] : {std::pair<std::string, std::string>{"scope", s.scope}, {"role", "replica"},
                               {"datadir", s.data_dir}, {"connstring", connstring}}) {
      auto it = std::find_if(params.begin(), params.end(), [&k = k](const auto& p) { return p.first == k; });
      if (it != params.end()) it->second = v;
      else params.emplace_back(k, v);
    }
  }
  auto argv = shlex_split(command);
  if (!argv || argv->empty()) {
    spdlog::error("Error creating replica using method {}: {}", method, argv ? std::string("no command") : argv.error());
    return make_error("replica method " + method + ": cannot split its command");
  }
  std::vector<std::string> cmd = std::move(argv).value();
  for (const auto& [k, v] : params) cmd.push_back("--" + k + "=" + python_format(v));
  RunOptions o;
  o.timeout = std::chrono::hours(24 * 7);
  o.cancel = &cancel;
  o.env["PGPASSFILE"] = s.pgpass;
  o.on_output_line = [method](std::string_view line, bool) { spdlog::info("{}: {}", method, line); };
  auto r = runner_.run(cmd, o);
  if (r && r->success()) {
    spdlog::info("replica has been created using {}", method);
    return Unit{};
  }
  const std::string why = r ? r->describe() : r.error();
  spdlog::error("Error creating replica using method {}: {} exited with code={}", method, command,
                r ? std::to_string(r->exit_code) : std::string("None"));
  // A failed method cleans up after itself unless keep_data.
  if (!keep_data && !data_dir_empty(s.data_dir)) clear_data_dir(s.data_dir);
  return make_error("replica method " + method + " " + why);
}

Status<std::string> LocalPostgres::clone(const std::optional<Upstream>& from, const CancelToken& cancel,
                                         CloneMethods which) {
  const auto settings_now = current_settings();
  const NodeSettings& s = *settings_now;
  if (auto st = write_pgpass(s); !st) return st;
  // Every member of a standby cluster is built with standby_cluster.create_replica_methods
  // (Patroni turns the clone source into a remote member there).
  const std::vector<std::string>& configured =
      s.standby_cluster.active ? s.standby_cluster.create_replica_methods : s.create_replica_methods;
  // A remote primary known only by its archive (restore_command) is no source to copy from.
  const std::optional<Upstream> source = from && !from->host.empty() ? from : std::nullopt;
  const std::vector<std::string> methods =
      which == CloneMethods::kBasebackupOnly
          ? std::vector<std::string>{"basebackup"}
          : replica_methods_to_run(configured.empty() ? std::vector<std::string>{"basebackup"} : configured,
                                   s.replica_method_options, source.has_value());
  if (methods.empty()) return make_error(std::string("no replica method works without a leader"));
  std::string errors;
  for (const auto& m : methods) {
    if (cancel.cancelled()) return make_error("cancelled");
    Status<std::string> made = Unit{};
    if (m == "basebackup") {
      if (!source) continue;
      made = basebackup(s, *source, cancel);
      if (made) spdlog::info("replica has been created using basebackup");
    } else {
      made = run_replica_method(s, m, source, cancel);
    }
    if (made) {
      std::error_code ec;
      fs::permissions(s.data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
      // Started following its own target: none with nostream (the archive only), as Patroni.
      return start(true, s.nostream && !(from && from->remote) ? std::nullopt : from, cancel);
    }
    errors += (errors.empty() ? "" : "; ") + made.error();
  }
  // Nothing half-made stays behind (also after a keep_data method): the next attempt starts clean.
  if (!data_dir_empty(s.data_dir)) clear_data_dir(s.data_dir);
  return make_error("creating the replica failed: " + errors);
}

Status<std::string> LocalPostgres::promote(milliseconds wait) {
  const auto settings_now = current_settings();
  const NodeSettings& s = *settings_now;
  auto r = promote_with_pg_ctl(s.pg_ctl, s.data_dir, 30s, runner_);
  if (!r) return make_error("pg_ctl promote failed: " + r.error());
  ConnectionOptions o;
  o.connect_timeout = 3s;
  o.query_timeout = 5s;
  PgConnection conn(s.local_conninfo(), o);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  bool promoted = false;
  while (std::chrono::steady_clock::now() < deadline) {
    auto v = conn.query_value("SELECT pg_catalog.pg_is_in_recovery()");
    if (v && v.value() && *v.value() == "f") {
      promoted = true;
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  if (!promoted) return make_error("still in recovery after pg_ctl promote");
  // Keep our configuration consistent: no recovery section any more.
  if (auto st = write_primary_configuration(); !st) spdlog::warn("after promote: {}", st.error());
  return Unit{};
}

Status<std::string> LocalPostgres::rewind(const Upstream& from, const CancelToken& cancel) {
  const auto settings_now = current_settings();
  const NodeSettings& s = *settings_now;
  if (!stop(StopMode::Fast, std::chrono::seconds(s.pg_ctl_timeout)))
    return make_error("cannot stop PostgreSQL before pg_rewind");
  if (auto st = write_pgpass(s); !st) return st;
  RewindRequest req;
  req.pg_rewind_bin = s.pg_rewind;
  req.data_dir = s.data_dir;
  req.source_conninfo = source_conninfo(from, s.rewind, s.database) + " target_session_attrs=" + q("read-write");
  req.pgpass = s.pgpass;
  if (s.config_dir != s.data_dir) req.config_file = layout_of(s).conf_path();
  req.cancel = cancel;
  auto r = run_pg_rewind(req, runner_);
  if (!r) return r;
  return write_configuration(true, from);
}

Status<std::string> LocalPostgres::crash_recovery(const CancelToken& cancel) {
  const auto settings_now = current_settings();
  const NodeSettings& s = *settings_now;
  CrashRecoveryRequest req;
  req.cancel = cancel;
  req.postgres_bin = s.postgres;
  req.data_dir = s.data_dir;
  req.config_file = layout_of(s).conf_path();
  req.parameters = s.command_line;
  return run_crash_recovery(req, runner_);
}

Result<std::string, std::string> LocalPostgres::move_data_dir_aside(const std::string& suffix) {
  // Never from under a live postmaster: it would go on writing into the renamed directory.
  if (postmaster_pid()) return make_error("PostgreSQL is still running: the data directory stays where it is");
  return move_data_directory_aside(current_settings()->data_dir, suffix);
}

// ---- slots, timelines ---------------------------------------------------------------------------

std::vector<std::string> LocalPostgres::sync_slots(const SlotSyncRequest& request) {
  const auto settings_now = current_settings();
  const NodeSettings& s = *settings_now;
  const std::optional<pid_t> postmaster = postmaster_pid();
  const auto now = std::chrono::steady_clock::now();
  SlotChanges changes;
  {
    // Connections of their own: creating a logical slot waits for running transactions and
    // must not hold up the status queries on the shared connection.
    MutexLock lk(slots_mu_);
    // Nothing changed since a reconciliation that found everything in order: no query.
    if (!slot_schedule_.due(request, postmaster, now)) return {};
    // Called only by postgres::sync_slots below, while slots_mu_ is held (the analysis cannot
    // follow the lock into a lambda called through std::function).
    auto connect = [&](const std::string& db) NO_THREAD_SAFETY_ANALYSIS -> PgConnection* {
      const std::string name = db.empty() ? s.database : db;
      auto& c = slot_conns_[name];
      const std::string ci = s.local_conninfo(name);
      if (!c || c->conninfo() != ci) {
        ConnectionOptions o;
        o.connect_timeout = 5s;
        o.query_timeout = 10s;
        o.application_name = "custos";
        c = std::make_unique<PgConnection>(ci, o);
      }
      if (!c->connected() && !c->connect()) return nullptr;
      return c.get();
    };
    SlotSyncRequest req = request;
    PgConnection* main = connect("");
    // pg_replication_slot_advance exists from PostgreSQL 11.
    req.advance = request.advance && main && main->server_version() >= 110000;
    changes = postgres::sync_slots(connect, req, 10s);
    // Connections to databases no slot lives in any more are closed.
    std::set<std::string> used = {s.database};
    for (const auto& [name, slot] : request.expected)
      if (slot.logical) used.insert(slot.database);
    std::erase_if(slot_conns_, [&](const auto& kv) { return !used.count(kv.first); });
    slot_schedule_.record(request, postmaster, now,
                          changes.created.empty() && changes.dropped.empty() && changes.advanced.empty() &&
                              changes.to_copy.empty() && changes.errors.empty());
  }
  for (const auto& n : changes.created) spdlog::info("Created replication slot '{}'", n);
  for (const auto& [n, lsn] : changes.advanced) spdlog::debug("advanced replication slot '{}' to {}", n, format_lsn(lsn));
  for (const auto& n : changes.dropped) spdlog::info("Dropped unknown replication slot '{}'", n);
  for (const auto& e : changes.errors) spdlog::warn("{}", e);
  return changes.to_copy;
}

Status<std::string> LocalPostgres::copy_logical_slots(const Upstream& from, const std::vector<std::string>& names,
                                                     const std::map<std::string, ExpectedSlot>& expected) {
  const auto settings_now = current_settings();
  const NodeSettings& s = *settings_now;
  // One attempt per slot a minute at most: a copy that keeps failing must not restart
  // PostgreSQL every cycle.
  std::vector<std::string> due;
  {
    MutexLock lk(files_mu_);
    const auto now = std::chrono::steady_clock::now();
    for (const auto& n : names) {
      auto it = slot_copy_attempts_.find(n);
      if (it != slot_copy_attempts_.end() && now - it->second < std::chrono::minutes(1)) continue;
      due.push_back(n);
    }
  }
  if (due.empty()) return Unit{};
  ConnectionOptions o;
  o.connect_timeout = 3s;
  o.query_timeout = 10s;
  PgConnection conn(rewind_conninfo(s, from), o);
  auto files = read_logical_slot_files(conn, due, 10s);
  if (!files) return make_error("Failed to copy logical slots from the " + from.name + ": " + files.error().message);
  // A slot whose decoding would start before the WAL this replica still has is useless here: it
  // is copied once its consumer has moved it past that point.
  int64_t segment_size = 0;
  {
    MutexLock lk(conn_mu_);
    if (auto sz = wal_segment_size(shared_connection(5s), 5s)) segment_size = sz.value();
  }
  const int64_t oldest = oldest_wal_lsn_on_disk(s.data_dir, segment_size);
  auto usable = [&](const LogicalSlotFile& f, int64_t wal_begins) {
    if (wal_begins > 0 && f.restart_lsn > 0 && f.restart_lsn < wal_begins) {
      spdlog::info("Not copying the logical slot \"{}\" yet: it needs WAL from {} and this replica's WAL begins at {}",
                   f.name, format_lsn(f.restart_lsn), format_lsn(wal_begins));
      return false;
    }
    return true;
  };
  std::vector<LogicalSlotFile> matching;
  for (auto& f : files.value()) {
    if (!usable(f, oldest)) continue;
    auto want = expected.find(f.name);
    if (want == expected.end()) continue;
    if (f.database != want->second.database || f.plugin != want->second.plugin) {
      spdlog::warn("Will not copy the logical slot \"{}\" due to the configuration mismatch: configuration has database "
                   "{} and plugin {}, the slot on the primary {} and {}",
                   f.name, want->second.database, want->second.plugin, f.database, f.plugin);
      continue;
    }
    matching.push_back(std::move(f));
  }
  if (matching.empty()) return Unit{};
  {
    MutexLock lk(files_mu_);
    for (const auto& f : matching) slot_copy_attempts_[f.name] = std::chrono::steady_clock::now();
  }
  spdlog::info("Copying logical replication slots from {} (a restart of PostgreSQL)", from.name);
  Status<std::string> installed = Unit{};
  {
    // Stop, install and start under control_mu_: no other start can slip in between.
    MutexLock control(control_mu_);
    if (!signal_postmaster_until_gone(StopMode::Fast, std::chrono::seconds(s.pg_ctl_timeout)))
      return make_error(std::string("cannot stop PostgreSQL to install the logical slots"));
    // The shutdown's restartpoint may have removed segments: checked again on disk.
    const int64_t after_stop = oldest_wal_lsn_on_disk(s.data_dir, segment_size);
    std::erase_if(matching, [&](const LogicalSlotFile& f) { return !usable(f, after_stop); });
    try {
      install_logical_slot_files(s.data_dir, matching);
      for (const auto& f : matching) spdlog::info("Copied logical replication slot '{}' from {}", f.name, from.name);
    } catch (const std::exception& e) {
      installed = make_error(std::string("cannot install the logical slots: ") + e.what());
    }
    // Started again in any case, following what it followed (the source when nothing was
    // written by this process yet).
    std::optional<Upstream> upstream = from;
    {
      MutexLock lk(files_mu_);
      if (written_any_) upstream = written_upstream_;
    }
    Status<std::string> started = write_configuration(true, upstream);
    if (started) started = start_postmaster("a replica with copied logical slots");
    if (!started) return make_error(started.error() + (installed ? std::string() : "; " + installed.error()));
  }
  if (wait_ready(std::chrono::seconds(s.pg_ctl_timeout), CancelToken()) != ServerProcess::running)
    return make_error("PostgreSQL did not start again after copying the logical slots (see " + s.log_file() + ")");
  return installed;
}

void LocalPostgres::set_enforce_hot_standby_feedback(bool enforce) {
  const auto settings_now = current_settings();
  const NodeSettings& s = *settings_now;
  {
    MutexLock lk(files_mu_);
    if (enforce_hot_standby_feedback_ == enforce) return;
    enforce_hot_standby_feedback_ = enforce;
    // Only a replica's configuration carries it; nothing written yet: the next start writes it.
    if (!written_any_ || !written_replica_) return;
    if (auto st = write_configuration_locked(s, written_replica_, written_upstream_); !st) {
      spdlog::warn("cannot rewrite the configuration for hot_standby_feedback: {}", st.error());
      enforce_hot_standby_feedback_ = !enforce;  // tried again by the next call
      return;
    }
  }
  spdlog::info("hot_standby_feedback {} (permanent logical slots)", enforce ? "enforced" : "no longer enforced");
  reload();
}

std::map<std::string, int64_t> LocalPostgres::slot_positions() {
  MutexLock lk(conn_mu_);
  auto r = postgres::slot_positions(shared_connection(5s), 5s);
  if (!r) {
    spdlog::warn("cannot read the replication slots' positions: {}", r.error().message);
    return {};
  }
  return r.value();
}

std::vector<TimelineSwitch> LocalPostgres::timeline_history(int64_t timeline) const {
  std::ifstream in(current_settings()->data_dir + "/pg_wal/" + history_file_name(timeline));
  if (!in) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_timeline_history(ss.str());
}

bool LocalPostgres::upstream_has_slot(const Upstream& upstream, const std::string& slot,
                                      std::chrono::milliseconds timeout) {
  const auto settings_now = current_settings();
  const NodeSettings& s = *settings_now;
  ConnectionOptions o;
  o.connect_timeout = timeout;
  o.query_timeout = timeout;
  PgConnection conn(rewind_conninfo(s, upstream), o);
  auto r = conn.query_value("SELECT count(*) FROM pg_catalog.pg_replication_slots WHERE slot_name = $1", {slot}, timeout);
  return r && r.value() && *r.value() != "0";
}

DivergeVerdict LocalPostgres::check_diverged(const Upstream& leader, const std::optional<ServerStatus>& status) {
  const auto settings_now = current_settings();
  const NodeSettings& s = *settings_now;
  LocalTimeline local;
  if (status) {
    local.in_recovery = status->in_recovery;
    local.timeline = status->timeline;
    local.lsn = local.in_recovery ? status->replay_lsn.value_or(0) : status->flush_lsn.value_or(0);
  } else {
    auto cd = controldata();
    if (!cd) return DivergeVerdict::unknown;
    const auto st = cd->cluster_state();
    if (st == ClusterState::ShutDownInRecovery || st == ClusterState::InArchiveRecovery) {
      local.lsn = cd->min_recovery_lsn().value_or(0);
      local.timeline = cd->min_recovery_timeline().value_or(0);
      if (local.lsn == 0) {
        local.in_recovery = false;
        local.lsn = cd->checkpoint_lsn().value_or(0);
        local.timeline = cd->checkpoint_timeline().value_or(0);
      }
    } else if (st == ClusterState::ShutDown) {
      local.in_recovery = false;
      local.lsn = cd->checkpoint_lsn().value_or(0);
      local.timeline = cd->checkpoint_timeline().value_or(0);
    } else {
      return DivergeVerdict::unknown;
    }
  }
  if (local.timeline <= 0) return DivergeVerdict::unknown;
  ConnectionOptions o;
  o.connect_timeout = 3s;
  o.query_timeout = 5s;
  PgConnection conn(rewind_conninfo(s, leader), o);
  // A primary: the timeline of its current WAL file; 0 while still in recovery (promoting). A
  // standby source: the newest timeline it knows (history files; 1 without any).
  const std::string in_recovery_tl =
      leader.standby ? "(SELECT COALESCE(max(('x' || pg_catalog.substr(f, 1, 8))::bit(32)::int), 1) FROM "
                       "pg_catalog.pg_ls_dir('pg_wal', false, false) AS f WHERE f ~ '^[0-9A-F]{8}\\.history$')"
                     : std::string("0");
  auto tl = conn.query_value(
      "SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN " + in_recovery_tl + " ELSE "
      "('x' || pg_catalog.substr(pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()), 1, 8))::bit(32)::int END");
  if (!tl || !tl.value()) {
    spdlog::info("diverged check: cannot read the leader's timeline: {}", tl ? "NULL" : tl.error().message);
    return DivergeVerdict::unknown;
  }
  int64_t leader_tl = 0;
  try {
    leader_tl = std::stoll(*tl.value());
  } catch (...) {
    return DivergeVerdict::unknown;
  }
  if (leader_tl == 0) return DivergeVerdict::unknown;  // the leader is still in recovery
  std::vector<TimelineSwitch> history;
  if (leader_tl > local.timeline) {
    const std::string name = history_file_name(leader_tl);
    auto hist = conn.query_value("SELECT pg_catalog.convert_from(pg_catalog.pg_read_binary_file($1), 'UTF8')",
                                 {std::string("pg_wal/") + name});
    if (!hist || !hist.value()) {
      spdlog::info("diverged check: cannot read {} on the leader: {}", name, hist ? "NULL" : hist.error().message);
      return DivergeVerdict::unknown;
    }
    history = parse_timeline_history(*hist.value());
  }
  const DivergeVerdict v = diverge_verdict(local, leader_tl, history);
  spdlog::info("diverged check: local timeline {} lsn {}, leader timeline {}: {}", local.timeline,
               format_lsn(local.lsn), leader_tl, to_string(v));
  return v;
}

}  // namespace custos::postgres
