#include "agent/pg_node.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "agent/rewind.h"
#include "dcs/slot_names.h"
#include "postgres/basebackup.h"
#include "postgres/config_files.h"
#include "postgres/conninfo.h"
#include "postgres/initdb.h"
#include "postgres/lsn.h"
#include "postgres/pgpass.h"
#include "postgres/process.h"

namespace custos::agent {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string q(const std::string& v) { return postgres::quote_conninfo_value(v); }

postgres::ConfigLayout layout_of(const PgSettings& s) {
  postgres::ConfigLayout l;
  l.data_dir = s.data_dir;
  l.config_dir = s.config_dir == s.data_dir ? "" : s.config_dir;
  l.config_base_name = s.config_base_name;
  l.custom_conf = s.custom_conf;
  return l;
}

std::string sql_literal(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string sql_ident(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::optional<Upstream> upstream_of(const dcs::Member& member) {
  nlohmann::json kw = member.conn_kwargs();
  if (!kw.is_object() || !kw.contains("host") || !kw["host"].is_string()) return std::nullopt;
  Upstream u;
  u.name = member.name();
  u.host = kw["host"].get<std::string>();
  if (kw.contains("port")) {
    if (kw["port"].is_number_integer()) u.port = kw["port"].get<int>();
    else if (kw["port"].is_string()) {
      try {
        u.port = std::stoi(kw["port"].get<std::string>());
      } catch (...) {
      }
    }
  }
  if (u.host.empty()) return std::nullopt;
  return u;
}

PgNode::PgNode(PgSettings settings) : settings_(std::move(settings)) {
  postmaster_ = std::make_unique<postgres::Postmaster>(settings_.data_dir);
}

PgNode::~PgNode() = default;

void PgNode::set_settings(PgSettings settings) {
  std::lock_guard lk(settings_mu_);
  settings_ = std::move(settings);
}

PgSettings PgNode::settings() const {
  std::lock_guard lk(settings_mu_);
  return settings_;
}

ha::DataDir PgNode::data_dir_state() const {
  const std::string dir = settings().data_dir;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return ec ? ha::DataDir::inaccessible : ha::DataDir::empty;
  if (!fs::is_directory(dir, ec)) return ha::DataDir::inaccessible;
  fs::directory_iterator it(dir, ec);
  if (ec) return ha::DataDir::inaccessible;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return ha::DataDir::inaccessible;
    const std::string n = it->path().filename().string();
    if (n == "lost+found" || n == ".snapshot") continue;
    return ha::DataDir::present;
  }
  return ha::DataDir::empty;
}

std::optional<postgres::ControlData> PgNode::controldata() const {
  const PgSettings s = settings();
  std::error_code ec;
  if (!fs::exists(s.data_dir + "/global/pg_control", ec)) return std::nullopt;
  auto cd = postgres::read_controldata(s.pg_controldata, s.data_dir, 10s);
  if (!cd) {
    spdlog::warn("pg_controldata failed: {}", cd.error());
    return std::nullopt;
  }
  return cd.value();
}

ha::PgProcess PgNode::process_state() {
  std::lock_guard lk(mu_);
  if (!postmaster_->is_running()) {
    if (!postmaster_->adopt()) return ha::PgProcess::stopped;
    spdlog::info("adopted the running postmaster (pid {})", postmaster_->pid().value_or(0));
  }
  auto pf = postmaster_->read_pid_file();
  if (pf && postmaster_->pid() && pf->pid == *postmaster_->pid() && pf->accepting()) {
    // Accepting per the pid file; confirm with a ping (cheap) below only when unsure.
    return ha::PgProcess::running;
  }
  switch (postmaster_->readiness()) {
    case postgres::Readiness::Ready: return ha::PgProcess::running;
    case postgres::Readiness::Starting: return ha::PgProcess::starting;
    case postgres::Readiness::Dead: break;
  }
  return postmaster_->is_running() ? ha::PgProcess::starting : ha::PgProcess::stopped;
}

std::optional<pid_t> PgNode::postmaster_pid() {
  std::lock_guard lk(mu_);
  if (!postmaster_->is_running()) return std::nullopt;
  return postmaster_->pid();
}

Result<postgres::ServerStatus, std::string> PgNode::query_status(std::chrono::milliseconds timeout) {
  std::lock_guard lk(conn_mu_);
  const std::string ci = settings().local_conninfo();
  if (!conn_ || conn_->conninfo() != ci) {
    postgres::ConnectionOptions o;
    o.connect_timeout = std::max<std::chrono::milliseconds>(timeout, 2000ms);
    o.query_timeout = timeout;
    o.application_name = "custos";
    conn_ = std::make_unique<postgres::PgConnection>(ci, o);
  }
  auto r = postgres::query_server_status(*conn_, timeout);
  if (!r) return make_error(r.error().message);
  return r.value();
}

Result<postgres::QueryResult, std::string> PgNode::query(const std::string& sql, const postgres::Params& params,
                                                         std::chrono::milliseconds timeout) {
  std::lock_guard lk(conn_mu_);
  const std::string ci = settings().local_conninfo();
  if (!conn_ || conn_->conninfo() != ci) {
    postgres::ConnectionOptions o;
    o.connect_timeout = 3000ms;
    conn_ = std::make_unique<postgres::PgConnection>(ci, o);
  }
  auto r = conn_->query(sql, params, timeout);
  if (!r) return make_error(r.error().message);
  return r.value();
}

std::map<std::string, std::string> PgNode::recovery_params(const std::optional<Upstream>& upstream) const {
  const PgSettings s = settings();
  postgres::RecoverySettings rs;
  if (upstream) {
    auto& ci = rs.primary_conninfo;
    ci["user"] = s.replication.username;
    ci["passfile"] = s.pgpass;
    ci["host"] = upstream->host;
    ci["port"] = std::to_string(upstream->port);
    ci["sslmode"] = "prefer";
    ci["gssencmode"] = "prefer";
    ci["channel_binding"] = "prefer";
    for (const auto& [k, v] : s.replication.extra) ci[k] = v;
    ci["application_name"] = s.name;
    ci["dbname"] = s.database;
    if (s.use_slots) rs.primary_slot_name = dcs::slot_name_from_member_name(s.name);
  }
  rs.extra = s.recovery_conf;
  return postgres::build_recovery_params(rs);
}

void PgNode::write_pgpass() const {
  const PgSettings s = settings();
  std::vector<postgres::PgpassEntry> entries;
  for (const Credentials* c : {&s.replication, &s.rewind, &s.superuser})
    if (!c->username.empty() && c->password) entries.push_back({"", "", c->username, *c->password});
  postgres::write_pgpass(s.pgpass, entries);
}

void PgNode::write_configuration(bool replica, const std::optional<Upstream>& upstream) {
  const PgSettings s = settings();
  const auto layout = layout_of(s);
  std::map<std::string, std::string> recovery;
  if (replica) recovery = recovery_params(upstream);
  write_pgpass();
  postgres::write_postgresql_conf(layout, s.conf_parameters, recovery);
  if (!s.pg_hba.empty()) postgres::write_pg_hba(layout, s.pg_hba);
  if (!s.pg_ident.empty()) postgres::write_pg_ident(layout, s.pg_ident);
  postgres::sanitize_auto_conf(s.data_dir);
  if (replica) postgres::write_standby_signal(s.data_dir);
  else postgres::remove_recovery_signals(s.data_dir);
  written_recovery_ = recovery;
  written_replica_ = replica;
  written_upstream_ = upstream;
  written_any_ = true;
}

void PgNode::rewrite_configuration() {
  // Nothing written by this process yet (e.g. adopted server): the next follow/start writes it.
  if (!written_any_) return;
  write_configuration(written_replica_, written_upstream_);
}

postgres::PostmasterOptions PgNode::postmaster_options() const {
  const PgSettings s = settings();
  postgres::PostmasterOptions o;
  o.postgres_bin = s.postgres;
  o.data_dir = s.data_dir;
  o.config_file = layout_of(s).conf_path();
  o.parameters = s.command_line;
  o.log_file = s.log_file();
  return o;
}

Status<std::string> PgNode::start(bool replica, const std::optional<Upstream>& upstream) {
  try {
    write_configuration(replica, upstream);
  } catch (const std::exception& e) {
    return make_error(std::string("cannot write the configuration: ") + e.what());
  }
  const auto options = postmaster_options();
  std::lock_guard lk(mu_);
  if (postmaster_->is_running() || postmaster_->adopt()) return Unit{};
  auto r = postmaster_->start(options);
  if (!r) return make_error(r.error());
  spdlog::info("postmaster started (pid {}) as {}", postmaster_->pid().value_or(0),
               replica ? (upstream ? "a replica of " + upstream->name : std::string("a replica without upstream"))
                       : std::string("a primary"));
  return Unit{};
}

ha::PgProcess PgNode::wait_ready(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    ha::PgProcess p = process_state();
    if (p != ha::PgProcess::starting) return p;
    if (std::chrono::steady_clock::now() >= deadline || cancel_) return p;
    std::this_thread::sleep_for(200ms);
  }
}

bool PgNode::stop(postgres::StopMode mode, std::chrono::milliseconds timeout) {
  std::lock_guard lk(mu_);
  if (!postmaster_->is_running() && !postmaster_->adopt()) return true;
  auto r = postmaster_->stop(mode, timeout);
  if (r != postgres::StopResult::TimedOut) return true;
  spdlog::warn("postmaster did not stop in {} mode within {} ms; escalating", postgres::to_string(mode),
               timeout.count());
  if (mode != postgres::StopMode::Immediate &&
      postmaster_->stop(postgres::StopMode::Immediate, 10s) != postgres::StopResult::TimedOut)
    return true;
  return postmaster_->kill_all(5s);
}

bool PgNode::reload() {
  std::lock_guard lk(mu_);
  return postmaster_->signal(SIGHUP);
}

Status<std::string> PgNode::bootstrap() {
  const PgSettings s = settings();
  auto opts = postgres::parse_initdb_options(s.initdb_options.is_null() ? nlohmann::json::array() : s.initdb_options);
  if (!opts) return make_error("bootstrap.initdb: " + opts.error());
  postgres::InitdbRequest req;
  req.initdb_bin = s.initdb;
  req.data_dir = s.data_dir;
  req.options = opts.value();
  req.superuser = s.superuser.username;
  req.superuser_password = s.superuser.password;
  auto r = postgres::run_initdb(req);
  if (!r) return make_error("initdb failed: " + r.error());
  try {
    if (s.pg_hba.empty() && !s.bootstrap_pg_hba.empty())
      postgres::append_lines(layout_of(s).hba_path(), s.bootstrap_pg_hba);
  } catch (const std::exception& e) {
    return make_error(std::string("cannot write pg_hba.conf: ") + e.what());
  }
  auto st = start(false, std::nullopt);
  if (!st) return st;
  if (wait_ready(std::chrono::seconds(s.pg_ctl_timeout)) != ha::PgProcess::running)
    return make_error("PostgreSQL did not start after initdb (see " + s.log_file() + ")");
  return Unit{};
}

Status<std::string> PgNode::post_bootstrap() {
  const PgSettings s = settings();
  postgres::ConnectionOptions o;
  o.connect_timeout = 5s;
  o.query_timeout = 30s;
  postgres::PgConnection conn(s.local_conninfo(), o);
  auto exec = [&](const std::string& sql) -> Status<std::string> {
    auto r = conn.query(sql);
    if (!r) return make_error(sql.substr(0, sql.find(" PASSWORD")) + ": " + r.error().message);
    return Unit{};
  };
  auto create_or_alter = [&](const Credentials& c, const std::string& options) -> Status<std::string> {
    if (c.username.empty()) return Unit{};
    std::string pw = c.password ? " PASSWORD " + sql_literal(*c.password) : "";
    std::string sql = "DO $custos$ BEGIN SET local synchronous_commit = 'local'; "
                      "PERFORM * FROM pg_catalog.pg_authid WHERE rolname = " + sql_literal(c.username) + "; "
                      "IF FOUND THEN ALTER ROLE " + sql_ident(c.username) + " WITH " + options + pw + "; "
                      "ELSE CREATE ROLE " + sql_ident(c.username) + " WITH " + options + pw + "; END IF; END;$custos$";
    return exec(sql);
  };
  if (s.superuser.password) {
    auto r = exec("ALTER ROLE " + sql_ident(s.superuser.username) + " WITH PASSWORD " + sql_literal(*s.superuser.password));
    if (!r) return r;
  }
  if (!s.post_bootstrap.empty()) {
    write_pgpass();
    postgres::RunOptions ro;
    ro.timeout = std::chrono::hours(1);
    ro.env["PGPASSFILE"] = s.pgpass;
    ro.env["PGOPTIONS"] = "-c synchronous_commit=local -c statement_timeout=0";
    std::map<std::string, std::string> dsn = {{"dbname", s.database}, {"user", s.superuser.username},
                                              {"host", s.local_host()}, {"port", std::to_string(s.listen.port)}};
    auto r = postgres::run_command({"/bin/sh", "-c", s.post_bootstrap + " \"$0\"", postgres::format_dsn(dsn)}, ro);
    if (!r) return make_error("post_bootstrap: " + r.error());
    if (!r->success()) return make_error("post_bootstrap script " + r->describe() + ": " + r->err);
  }
  if (s.replication.username != s.superuser.username) {
    auto r = create_or_alter(s.replication, "REPLICATION LOGIN");
    if (!r) return r;
  }
  if (s.has_rewind_user && s.rewind.username != s.superuser.username) {
    auto r = create_or_alter(s.rewind, "LOGIN");
    if (!r) return r;
    for (const char* f : {"pg_catalog.pg_ls_dir(text, boolean, boolean)", "pg_catalog.pg_stat_file(text, boolean)",
                          "pg_catalog.pg_read_binary_file(text)",
                          "pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)"}) {
      auto g = exec(std::string("GRANT EXECUTE ON function ") + f + " TO " + sql_ident(s.rewind.username));
      if (!g) return g;
    }
  }
  return Unit{};
}

std::string PgNode::source_conninfo(const Upstream& from, const Credentials& creds, const std::string& dbname) const {
  std::string ci = "host=" + q(from.host) + " port=" + std::to_string(from.port) + " user=" + q(creds.username);
  if (!dbname.empty()) ci += " dbname=" + q(dbname);
  for (const auto& [k, v] : creds.extra) ci += " " + k + "=" + q(v);
  return ci;
}

Status<std::string> PgNode::clone(const Upstream& from) {
  const PgSettings s = settings();
  write_pgpass();
  auto opts = postgres::parse_initdb_options(s.basebackup_options.is_null() ? nlohmann::json::array()
                                                                             : s.basebackup_options);
  if (!opts) return make_error("postgresql.basebackup: " + opts.error());
  std::string last_error;
  for (int attempt = 1; attempt <= 2; ++attempt) {
    if (cancel_) return make_error("cancelled");
    std::error_code ec;
    fs::remove_all(s.data_dir, ec);
    postgres::BasebackupRequest req;
    req.pg_basebackup_bin = s.pg_basebackup;
    req.data_dir = s.data_dir;
    req.conninfo = source_conninfo(from, s.replication, "");
    req.options = opts.value();
    req.env["PGPASSFILE"] = s.pgpass;
    auto r = postgres::run_basebackup(req);
    if (r) {
      std::error_code ec2;
      fs::permissions(s.data_dir, fs::perms::owner_all, fs::perm_options::replace, ec2);
      auto st = start(true, from);
      if (!st) return st;
      return Unit{};
    }
    last_error = r.error();
    spdlog::error("pg_basebackup from {} failed (attempt {}): {}", from.name, attempt, last_error);
    if (attempt == 1) std::this_thread::sleep_for(5s);
  }
  std::error_code ec;
  fs::remove_all(s.data_dir, ec);
  return make_error("clone from " + from.name + " failed: " + last_error);
}

Status<std::string> PgNode::promote(std::chrono::milliseconds wait) {
  const PgSettings s = settings();
  auto r = postgres::promote_with_pg_ctl(s.pg_ctl, s.data_dir);
  if (!r) return make_error("pg_ctl promote failed: " + r.error());
  postgres::ConnectionOptions o;
  o.connect_timeout = 3s;
  o.query_timeout = 5s;
  postgres::PgConnection conn(s.local_conninfo(), o);
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
  try {
    write_configuration(false, std::nullopt);
  } catch (const std::exception& e) {
    spdlog::warn("cannot rewrite postgresql.conf after promote: {}", e.what());
  }
  auto cp = conn.query("CHECKPOINT", {}, std::chrono::milliseconds(60000));
  if (!cp) spdlog::warn("post-promote CHECKPOINT failed: {}", cp.error().message);
  return Unit{};
}

Status<std::string> PgNode::rewind(const Upstream& from) {
  const PgSettings s = settings();
  if (!stop(postgres::StopMode::Fast, std::chrono::seconds(s.pg_ctl_timeout)))
    return make_error("cannot stop PostgreSQL before pg_rewind");
  write_pgpass();
  RewindRequest req;
  req.pg_rewind_bin = s.pg_rewind;
  req.data_dir = s.data_dir;
  req.source_conninfo = source_conninfo(from, s.rewind, s.database) + " target_session_attrs=" + q("read-write");
  req.pgpass = s.pgpass;
  if (s.config_dir != s.data_dir) req.config_file = layout_of(s).conf_path();
  auto r = run_pg_rewind(req);
  if (!r) return r;
  try {
    write_configuration(true, from);
  } catch (const std::exception& e) {
    return make_error(std::string("cannot write the configuration after pg_rewind: ") + e.what());
  }
  return Unit{};
}

Status<std::string> PgNode::crash_recovery() {
  const PgSettings s = settings();
  postgres::remove_recovery_signals(s.data_dir);
  std::vector<std::string> argv = {s.postgres, "--single", "-D", s.data_dir,
                                   "--config-file=" + layout_of(s).conf_path()};
  for (const auto& [k, v] : s.command_line) {
    if (k == "listen_addresses" || k == "port") continue;
    argv.push_back("-c");
    argv.push_back(k + "=" + v);
  }
  for (const char* extra : {"archive_mode=on", "archive_command=false"}) {
    argv.push_back("-c");
    argv.push_back(extra);
  }
  argv.push_back("template1");
  postgres::RunOptions ro;
  ro.timeout = std::chrono::hours(1);
  ro.stdin_data = std::string();
  auto r = postgres::run_command(argv, ro);
  if (!r) return make_error("crash recovery: " + r.error());
  if (!r->success()) return make_error("crash recovery " + r->describe() + ": " + r->err);
  return Unit{};
}

Result<std::string, std::string> PgNode::move_data_dir_aside(const std::string& suffix) {
  const PgSettings s = settings();
  std::string d = s.data_dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  std::string target = d + "." + suffix;
  std::error_code ec;
  for (int i = 1; fs::exists(target, ec); ++i) target = d + "." + suffix + "." + std::to_string(i);
  fs::rename(d, target, ec);
  if (ec) return make_error("cannot rename " + d + " to " + target + ": " + ec.message());
  spdlog::warn("moved the data directory {} aside to {}", d, target);
  return target;
}

void PgNode::sync_physical_slots(const std::vector<std::string>& expected) {
  auto r = query("SELECT slot_name, slot_type, active::text, temporary::text FROM pg_catalog.pg_replication_slots");
  if (!r) {
    spdlog::warn("cannot list replication slots: {}", r.error());
    return;
  }
  std::set<std::string> have;
  for (const auto& row : r->rows) {
    if (row.size() < 4 || !row[0]) continue;
    const std::string name = *row[0];
    have.insert(name);
    const bool physical = row[1] && *row[1] == "physical";
    const bool active = row[2] && *row[2] == "true";
    const bool temporary = row[3] && *row[3] == "true";
    if (physical && !active && !temporary &&
        std::find(expected.begin(), expected.end(), name) == expected.end()) {
      auto d = query("SELECT pg_catalog.pg_drop_replication_slot($1)", {name});
      if (d) spdlog::info("dropped unknown replication slot '{}'", name);
      else spdlog::warn("cannot drop replication slot '{}': {}", name, d.error());
    }
  }
  for (const auto& name : expected) {
    if (have.count(name)) continue;
    auto c = query("SELECT pg_catalog.pg_create_physical_replication_slot($1, true)", {name});
    if (c) spdlog::info("created physical replication slot '{}'", name);
    else spdlog::warn("cannot create replication slot '{}': {}", name, c.error());
  }
}

bool PgNode::can_rewind() const {
  const PgSettings s = settings();
  if (!s.use_pg_rewind) return false;
  if (!postgres::find_executable(s.pg_rewind)) return false;
  auto cd = controldata();
  if (!cd) return true;  // decided again once controldata is readable
  return cd->wal_log_hints() || cd->data_checksums();
}

std::string PgNode::read_history_file(int64_t timeline) const {
  char name[32];
  std::snprintf(name, sizeof name, "%08llX.history", static_cast<unsigned long long>(timeline));
  std::ifstream in(settings().data_dir + "/pg_wal/" + name);
  if (!in) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> PgNode::pending_restart_parameters() {
  std::vector<std::string> out;
  auto r = query("SELECT name FROM pg_catalog.pg_settings WHERE pending_restart");
  if (!r) return out;
  for (const auto& row : r->rows)
    if (!row.empty() && row[0]) out.push_back(*row[0]);
  return out;
}

DivergeVerdict PgNode::check_diverged(const Upstream& leader, bool running, const postgres::ServerStatus* status) {
  const PgSettings s = settings();
  // Local timeline and LSN.
  int64_t local_tl = 0, local_lsn = 0;
  bool local_in_recovery = true;
  if (running && status) {
    local_in_recovery = status->in_recovery;
    local_tl = status->timeline;
    local_lsn = local_in_recovery ? status->replay_lsn.value_or(0) : status->flush_lsn.value_or(0);
  } else {
    auto cd = controldata();
    if (!cd) return DivergeVerdict::unknown;
    auto st = cd->cluster_state();
    if (st == postgres::ClusterState::ShutDownInRecovery || st == postgres::ClusterState::InArchiveRecovery) {
      local_lsn = cd->min_recovery_lsn().value_or(0);
      local_tl = cd->min_recovery_timeline().value_or(0);
      if (local_lsn == 0) {
        local_in_recovery = false;
        local_lsn = cd->checkpoint_lsn().value_or(0);
        local_tl = cd->checkpoint_timeline().value_or(0);
      }
    } else if (st == postgres::ClusterState::ShutDown) {
      local_in_recovery = false;
      local_lsn = cd->checkpoint_lsn().value_or(0);
      local_tl = cd->checkpoint_timeline().value_or(0);
    } else {
      return DivergeVerdict::unknown;
    }
  }
  if (local_tl <= 0) return DivergeVerdict::unknown;
  postgres::ConnectionOptions o;
  o.connect_timeout = 3s;
  o.query_timeout = 5s;
  postgres::PgConnection conn(source_conninfo(leader, s.rewind, s.database) + (s.rewind.password ? " password=" + q(*s.rewind.password) : ""), o);
  auto tl = conn.query_value(
      "SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN 0 ELSE "
      "('x' || pg_catalog.substr(pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()), 1, 8))::bit(32)::int END");
  if (!tl || !tl.value()) {
    spdlog::info("diverged check: cannot read the leader's timeline: {}", tl ? "NULL" : tl.error().message);
    return DivergeVerdict::unknown;
  }
  int64_t leader_tl = std::stoll(*tl.value());
  if (leader_tl == 0) return DivergeVerdict::unknown;  // leader still in recovery
  if (local_tl > leader_tl) return DivergeVerdict::need_rewind;
  if (local_tl == leader_tl) return DivergeVerdict::not_needed;
  char name[32];
  std::snprintf(name, sizeof name, "%08llX.history", static_cast<unsigned long long>(leader_tl));
  auto hist = conn.query_value("SELECT pg_catalog.convert_from(pg_catalog.pg_read_binary_file($1), 'UTF8')",
                               {std::string("pg_wal/") + name});
  if (!hist || !hist.value()) {
    spdlog::info("diverged check: cannot read {} on the leader: {}", name, hist ? "NULL" : hist.error().message);
    return DivergeVerdict::unknown;
  }
  std::istringstream in(*hist.value());
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    int64_t parent = 0;
    std::string lsn_text;
    if (!(ls >> parent >> lsn_text)) continue;
    if (parent != local_tl) continue;
    auto switchpoint = postgres::parse_lsn(lsn_text);
    if (!switchpoint) return DivergeVerdict::need_rewind;
    const bool need = local_in_recovery ? local_lsn > *switchpoint : local_lsn >= *switchpoint;
    spdlog::info("diverged check: local timeline {} lsn {}, leader timeline {} switched at {}: {}", local_tl,
                 postgres::format_lsn(local_lsn), leader_tl, lsn_text, need ? "rewind needed" : "no rewind needed");
    return need ? DivergeVerdict::need_rewind : DivergeVerdict::not_needed;
  }
  return DivergeVerdict::need_rewind;
}

}  // namespace custos::agent
