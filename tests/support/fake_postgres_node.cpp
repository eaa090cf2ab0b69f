#include "fake_postgres_node.h"

#include <unistd.h>

#include <stdexcept>

namespace custos::test {

using postgres::ClusterState;

FakePostgresNode::FakePostgresNode(postgres::NodeSettings settings) : settings_(std::move(settings)) {}

// ---- test controls ------------------------------------------------------------------------------

FakePostgresNode::Server FakePostgresNode::server() const {
  std::lock_guard lk(mu_);
  return server_;
}

void FakePostgresNode::set_server(const Server& s) {
  std::lock_guard lk(mu_);
  server_ = s;
}

void FakePostgresNode::make_primary(int64_t timeline, int64_t lsn) {
  std::lock_guard lk(mu_);
  server_.data_present = true;
  server_.running = true;
  server_.accepting = true;
  server_.in_recovery = false;
  server_.timeline = timeline;
  server_.lsn = lsn;
  server_.upstream.reset();
  server_.recovery_signal = false;
  server_.control_state = ClusterState::InProduction;
}

void FakePostgresNode::make_replica(const std::optional<postgres::Upstream>& upstream, int64_t lsn) {
  std::lock_guard lk(mu_);
  server_.data_present = true;
  server_.running = true;
  server_.accepting = true;
  server_.in_recovery = true;
  server_.lsn = lsn;
  server_.upstream = upstream;
  server_.recovery_signal = true;
  server_.control_state = ClusterState::InArchiveRecovery;
}

void FakePostgresNode::crash() {
  std::lock_guard lk(mu_);
  server_.running = false;
  server_.control_state = server_.in_recovery ? ClusterState::InArchiveRecovery : ClusterState::InProduction;
}

void FakePostgresNode::fail(const std::string& op, std::string error) {
  std::lock_guard lk(mu_);
  failures_[op] = std::move(error);
}

void FakePostgresNode::clear_failure(const std::string& op) {
  std::lock_guard lk(mu_);
  failures_.erase(op);
}

void FakePostgresNode::throw_once(const std::string& op) {
  std::lock_guard lk(mu_);
  throw_once_.insert(op);
}

void FakePostgresNode::block(const std::string& op) {
  std::lock_guard lk(mu_);
  blocked_.insert(op);
}

void FakePostgresNode::release(const std::string& op) {
  {
    std::lock_guard lk(mu_);
    blocked_.erase(op);
  }
  cv_.notify_all();
}

bool FakePostgresNode::blocked_in(const std::string& op) const {
  std::lock_guard lk(mu_);
  return waiting_in_.count(op) > 0;
}

void FakePostgresNode::refuse_stop(bool refuse) {
  std::lock_guard lk(mu_);
  refuse_stop_ = refuse;
}

std::vector<std::string> FakePostgresNode::calls() const {
  std::lock_guard lk(mu_);
  return calls_;
}

bool FakePostgresNode::called(const std::string& prefix) const {
  std::lock_guard lk(mu_);
  for (const auto& c : calls_)
    if (c.rfind(prefix, 0) == 0) return true;
  return false;
}

void FakePostgresNode::clear_calls() {
  std::lock_guard lk(mu_);
  calls_.clear();
}

void FakePostgresNode::on_call(std::function<void(const std::string&)> hook) {
  std::lock_guard lk(mu_);
  hook_ = std::move(hook);
}

void FakePostgresNode::on_query(QueryHook hook) {
  std::lock_guard lk(mu_);
  query_hook_ = std::move(hook);
}

int FakePostgresNode::moves_while_running() const {
  std::lock_guard lk(mu_);
  return moves_while_running_;
}

void FakePostgresNode::set_diverge_verdict(postgres::DivergeVerdict v) {
  std::lock_guard lk(mu_);
  verdict_ = v;
}

std::optional<std::string> FakePostgresNode::enter(const std::string& op) const {
  std::function<void(const std::string&)> hook;
  {
    std::unique_lock lk(mu_);
    calls_.push_back(op);
    hook = hook_;
  }
  if (hook) hook(op);
  std::unique_lock lk(mu_);
  const std::string name = op.substr(0, op.find('('));
  if (throw_once_.erase(name)) throw std::runtime_error("simulated exception in " + name);
  if (blocked_.count(name)) {
    waiting_in_.insert(name);
    cv_.wait(lk, [&] { return !blocked_.count(name); });
    waiting_in_.erase(name);
  }
  auto it = failures_.find(name);
  if (it != failures_.end()) return it->second;
  return std::nullopt;
}

// ---- PostgresNode -------------------------------------------------------------------------------

void FakePostgresNode::set_settings(postgres::NodeSettings settings) {
  std::lock_guard lk(mu_);
  settings_ = std::move(settings);
}

postgres::NodeSettings FakePostgresNode::settings() const {
  std::lock_guard lk(mu_);
  return settings_;
}

postgres::DataDirState FakePostgresNode::data_dir_state(std::string* why_inaccessible) const {
  std::lock_guard lk(mu_);
  if (!server_.data_dir_error.empty()) {
    if (why_inaccessible) *why_inaccessible = server_.data_dir_error;
    return postgres::DataDirState::inaccessible;
  }
  return server_.data_present ? postgres::DataDirState::present : postgres::DataDirState::empty;
}

std::optional<postgres::ControlData> FakePostgresNode::controldata() const {
  if (enter("controldata")) return std::nullopt;
  std::lock_guard lk(mu_);
  if (!server_.data_present) return std::nullopt;
  std::string state;
  switch (server_.control_state) {
    case ClusterState::ShutDown: state = "shut down"; break;
    case ClusterState::ShutDownInRecovery: state = "shut down in recovery"; break;
    case ClusterState::InProduction: state = "in production"; break;
    case ClusterState::InArchiveRecovery: state = "in archive recovery"; break;
    case ClusterState::InCrashRecovery: state = "in crash recovery"; break;
    default: state = "shut down"; break;
  }
  return postgres::ControlData::parse("Database system identifier:           " + server_.sysid +
                                      "\nDatabase cluster state:               " + state +
                                      "\nLatest checkpoint location:           0/3000028"
                                      "\nwal_log_hints setting:                " +
                                      std::string(server_.wal_log_hints ? "on" : "off") + "\n");
}

postgres::ServerProcess FakePostgresNode::process_state() {
  std::lock_guard lk(mu_);
  if (!server_.running) return postgres::ServerProcess::stopped;
  return server_.accepting ? postgres::ServerProcess::running : postgres::ServerProcess::starting;
}

std::optional<pid_t> FakePostgresNode::postmaster_pid() {
  std::lock_guard lk(mu_);
  // The test process itself: alive for as long as the test, so a death watcher never fires.
  if (!server_.running) return std::nullopt;
  return ::getpid();
}

bool FakePostgresNode::recovery_signal_present() const {
  std::lock_guard lk(mu_);
  return server_.recovery_signal;
}

bool FakePostgresNode::can_rewind(const std::optional<postgres::ControlData>& cd) const {
  std::lock_guard lk(mu_);
  return settings_.use_pg_rewind && cd && server_.wal_log_hints;
}

Result<postgres::ServerStatus, std::string> FakePostgresNode::query_status(std::chrono::milliseconds) {
  if (auto e = enter("query_status")) return make_error(*e);
  std::lock_guard lk(mu_);
  if (!server_.running || !server_.accepting) return make_error(std::string("connection refused"));
  postgres::ServerStatus st;
  st.in_recovery = server_.in_recovery;
  st.timeline = server_.timeline;
  if (server_.in_recovery) {
    st.receive_lsn = server_.upstream ? std::optional<int64_t>(server_.lsn) : std::nullopt;
    st.receiver_streaming = server_.upstream.has_value();
    st.replay_lsn = server_.lsn;
  } else {
    st.flush_lsn = server_.lsn;
  }
  st.postmaster_start_time = "2026-12-02 05:00:00.000000+00:00";
  st.server_version = 150004;
  return st;
}

Result<postgres::QueryResult, std::string> FakePostgresNode::query(const std::string& sql, const postgres::Params&,
                                                                   std::chrono::milliseconds) {
  if (auto e = enter("query(" + sql.substr(0, 40) + ")")) return make_error(*e);
  QueryHook hook;
  {
    std::lock_guard lk(mu_);
    hook = query_hook_;
  }
  if (hook)
    if (auto r = hook(sql)) return *r;
  return postgres::QueryResult{};
}

Result<std::vector<postgres::ReplicationConnection>, std::string> FakePostgresNode::replication_connections(
    std::chrono::milliseconds) {
  if (auto e = enter("replication_connections")) return make_error(*e);
  return std::vector<postgres::ReplicationConnection>{};
}

std::vector<std::string> FakePostgresNode::pending_restart_parameters() {
  enter("pending_restart_parameters");
  return {};
}

Status<std::string> FakePostgresNode::checkpoint(std::chrono::milliseconds) {
  if (auto e = enter("checkpoint")) return make_error(*e);
  return Unit{};
}

Status<std::string> FakePostgresNode::rewrite_configuration() {
  if (auto e = enter("rewrite_configuration")) return make_error(*e);
  return Unit{};
}

Status<std::string> FakePostgresNode::write_primary_configuration() {
  if (auto e = enter("write_primary_configuration")) return make_error(*e);
  std::lock_guard lk(mu_);
  server_.upstream.reset();
  server_.recovery_signal = false;
  return Unit{};
}

Status<std::string> FakePostgresNode::start(bool replica, const std::optional<postgres::Upstream>& upstream,
                                            const CancelToken& cancel) {
  if (auto e = enter(std::string("start(") + (replica ? "replica" : "primary") + ")")) return make_error(*e);
  std::lock_guard lk(mu_);
  if (cancel.cancelled()) return make_error(std::string("cancelled: PostgreSQL is not started"));
  if (!server_.data_present) return make_error(std::string("no data directory"));
  if (server_.running) return Unit{};
  server_.running = true;
  server_.accepting = true;
  server_.in_recovery = replica;
  server_.recovery_signal = replica;
  server_.upstream = replica ? upstream : std::nullopt;
  server_.control_state = replica ? ClusterState::InArchiveRecovery : ClusterState::InProduction;
  return Unit{};
}

postgres::ServerProcess FakePostgresNode::wait_ready(std::chrono::milliseconds, const CancelToken&) {
  enter("wait_ready");
  return process_state();
}

bool FakePostgresNode::stop(postgres::StopMode mode, std::chrono::milliseconds) {
  if (enter(std::string("stop(") + postgres::to_string(mode) + ")")) return false;
  std::lock_guard lk(mu_);
  if (!server_.running) return true;
  if (refuse_stop_) return false;
  server_.running = false;
  server_.control_state = mode == postgres::StopMode::Immediate
                              ? (server_.in_recovery ? ClusterState::InArchiveRecovery : ClusterState::InProduction)
                              : (server_.in_recovery ? ClusterState::ShutDownInRecovery : ClusterState::ShutDown);
  return true;
}

bool FakePostgresNode::stop_now(std::chrono::milliseconds) {
  // Never gated: the fence must not wait behind an operation in flight.
  std::lock_guard lk(mu_);
  calls_.push_back("stop_now");
  if (!server_.running) return true;
  server_.running = false;
  server_.control_state = server_.in_recovery ? ClusterState::InArchiveRecovery : ClusterState::InProduction;
  return true;
}

bool FakePostgresNode::reload() {
  enter("reload");
  std::lock_guard lk(mu_);
  return server_.running;
}

Result<postgres::FollowOutcome, std::string> FakePostgresNode::follow(const std::optional<postgres::Upstream>& upstream) {
  if (auto e = enter("follow(" + (upstream ? upstream->name : std::string("none")) + ")")) return make_error(*e);
  std::lock_guard lk(mu_);
  if (server_.in_recovery && server_.recovery_signal && server_.upstream == upstream)
    return postgres::FollowOutcome::unchanged;
  server_.upstream = upstream;
  server_.recovery_signal = true;
  return postgres::FollowOutcome::reconfigured;
}

Status<std::string> FakePostgresNode::bootstrap(const CancelToken&) {
  if (auto e = enter("bootstrap")) return make_error(*e);
  std::lock_guard lk(mu_);
  server_.data_present = true;
  server_.running = true;
  server_.accepting = true;
  server_.in_recovery = false;
  server_.timeline = 1;
  server_.control_state = ClusterState::InProduction;
  return Unit{};
}

Status<std::string> FakePostgresNode::post_bootstrap() {
  if (auto e = enter("post_bootstrap")) return make_error(*e);
  return Unit{};
}

Status<std::string> FakePostgresNode::clone(const std::optional<postgres::Upstream>& from, const CancelToken& cancel,
                                            CloneMethods methods) {
  last_clone_methods = methods;
  if (auto e = enter("clone(" + (from ? from->name : std::string()) + ")")) return make_error(*e);
  if (cancel.cancelled()) return make_error(std::string("cancelled"));
  std::lock_guard lk(mu_);
  server_.data_present = true;
  server_.running = true;
  server_.accepting = true;
  server_.in_recovery = true;
  server_.recovery_signal = true;
  server_.upstream = from;
  server_.control_state = ClusterState::InArchiveRecovery;
  return Unit{};
}

Status<std::string> FakePostgresNode::promote(std::chrono::milliseconds) {
  if (auto e = enter("promote")) return make_error(*e);
  std::lock_guard lk(mu_);
  if (!server_.running) return make_error(std::string("not running"));
  server_.in_recovery = false;
  server_.recovery_signal = false;
  server_.upstream.reset();
  ++server_.timeline;
  server_.control_state = ClusterState::InProduction;
  return Unit{};
}

Status<std::string> FakePostgresNode::rewind(const postgres::Upstream& from, const CancelToken&) {
  if (auto e = enter("rewind(" + from.name + ")")) return make_error(*e);
  std::lock_guard lk(mu_);
  server_.running = false;
  server_.recovery_signal = true;
  server_.upstream = from;
  server_.control_state = ClusterState::ShutDownInRecovery;
  return Unit{};
}

Status<std::string> FakePostgresNode::crash_recovery(const CancelToken&) {
  if (auto e = enter("crash_recovery")) return make_error(*e);
  std::lock_guard lk(mu_);
  server_.control_state = ClusterState::ShutDown;
  server_.recovery_signal = false;
  return Unit{};
}

Result<std::string, std::string> FakePostgresNode::move_data_dir_aside(const std::string& suffix) {
  if (auto e = enter("move_data_dir_aside(" + suffix + ")")) return make_error(*e);
  std::lock_guard lk(mu_);
  if (server_.running) {
    ++moves_while_running_;
    return make_error(std::string("PostgreSQL is still running: the data directory stays where it is"));
  }
  server_.data_present = false;
  return "/data." + suffix;
}

std::vector<std::string> FakePostgresNode::sync_slots(const postgres::SlotSyncRequest& request) {
  enter("sync_slots");
  std::lock_guard lk(mu_);
  last_slot_request_ = request;
  last_expected_slots_.clear();
  for (const auto& [name, slot] : request.expected) last_expected_slots_[name] = slot.lsn;
  return request.primary ? std::vector<std::string>() : slots_to_copy_;
}

Status<std::string> FakePostgresNode::copy_logical_slots(const postgres::Upstream& from,
                                                         const std::vector<std::string>& names,
                                                         const std::map<std::string, postgres::ExpectedSlot>&) {
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ",") + n;
  if (auto e = enter("copy_logical_slots(" + from.name + ":" + list + ")")) return make_error(*e);
  std::lock_guard lk(mu_);
  slots_to_copy_.clear();
  return Unit{};
}

void FakePostgresNode::set_enforce_hot_standby_feedback(bool enforce) {
  enter(std::string("set_enforce_hot_standby_feedback(") + (enforce ? "on" : "off") + ")");
  std::lock_guard lk(mu_);
  hot_standby_feedback_ = enforce;
}

postgres::SlotSyncRequest FakePostgresNode::last_slot_request() const {
  std::lock_guard lk(mu_);
  return last_slot_request_;
}

void FakePostgresNode::set_slots_to_copy(std::vector<std::string> names) {
  std::lock_guard lk(mu_);
  slots_to_copy_ = std::move(names);
}

bool FakePostgresNode::hot_standby_feedback_enforced() const {
  std::lock_guard lk(mu_);
  return hot_standby_feedback_;
}

std::map<std::string, int64_t> FakePostgresNode::slot_positions() {
  enter("slot_positions");
  std::lock_guard lk(mu_);
  std::map<std::string, int64_t> out;
  for (const auto& [name, lsn] : last_expected_slots_) out[name] = lsn > 0 ? lsn : server_.lsn;
  return out;
}

std::map<std::string, int64_t> FakePostgresNode::last_expected_slots() const {
  std::lock_guard lk(mu_);
  return last_expected_slots_;
}

bool FakePostgresNode::upstream_has_slot(const postgres::Upstream& upstream, const std::string&,
                                         std::chrono::milliseconds) {
  enter("upstream_has_slot(" + upstream.name + ")");
  return true;
}

postgres::DivergeVerdict FakePostgresNode::check_diverged(const postgres::Upstream& leader,
                                                          const std::optional<postgres::ServerStatus>&) {
  enter("check_diverged(" + leader.name + ")");
  std::lock_guard lk(mu_);
  return verdict_;
}

std::vector<postgres::TimelineSwitch> FakePostgresNode::timeline_history(int64_t timeline) const {
  enter("timeline_history");
  std::vector<postgres::TimelineSwitch> out;
  for (int64_t tl = 1; tl < timeline; ++tl) out.push_back({tl, 0x3000000 + tl, "no recovery target specified"});
  return out;
}

}  // namespace custos::test
