#include "postgres/postmaster.h"

#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/process.h"

namespace custos::postgres {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const std::vector<std::string> kCommandLineParameters = {
    "listen_addresses",          "port",                   "cluster_name",
    "wal_level",                 "hot_standby",            "max_connections",
    "max_wal_senders",           "max_prepared_transactions", "max_locks_per_transaction",
    "track_commit_timestamp",    "max_replication_slots",  "max_worker_processes",
    "wal_log_hints"};

const char* to_string(StopMode mode) {
  switch (mode) {
    case StopMode::Smart: return "smart";
    case StopMode::Fast: return "fast";
    case StopMode::Immediate: return "immediate";
  }
  return "?";
}

const char* to_string(Readiness r) {
  switch (r) {
    case Readiness::Ready: return "ready";
    case Readiness::Starting: return "starting";
    case Readiness::Dead: return "dead";
  }
  return "?";
}

Postmaster::Postmaster(std::string data_dir, ProcessRunner& runner) : data_dir_(std::move(data_dir)), runner_(runner) {}

Postmaster::~Postmaster() { forget(); }

std::vector<std::string> Postmaster::command_line(const PostmasterOptions& o) {
  std::vector<std::string> argv{o.postgres_bin, "-D", o.data_dir.empty() ? std::string(".") : o.data_dir};
  if (!o.config_file.empty()) argv.push_back("--config-file=" + o.config_file);
  for (const auto& [k, v] : o.parameters) argv.push_back("--" + k + "=" + v);
  return argv;
}

void Postmaster::track(pid_t pid) {
  forget();
  pid_ = pid;
  pidfd_ = open_pidfd(pid);
  start_time_ = process_start_time(pid).value_or(0);
}

void Postmaster::forget() {
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
  pid_ = 0;
  start_time_ = 0;
}

std::optional<pid_t> Postmaster::pid() const {
  if (pid_ <= 0) return std::nullopt;
  return pid_;
}

bool Postmaster::is_running() {
  if (pid_ <= 0) return false;
  if (pidfd_ >= 0) {
    pollfd p{pidfd_, POLLIN, 0};
    if (::poll(&p, 1, 0) == 1) {  // terminated
      try_reap(pid_);
      return false;
    }
    return true;
  }
  return process_alive(pid_);
}

namespace {
std::string read_link(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<size_t>(n));
}

std::string canonical_or_self(const std::string& p) {
  std::error_code ec;
  auto c = std::filesystem::canonical(p, ec);
  return ec ? p : c.string();
}
}  // namespace

bool Postmaster::verify(const PostmasterPidFile& pf) const {
  if (pf.pid <= 0 || pf.pid == ::getpid() || pf.pid == ::getppid()) return false;
  if (!process_alive(pf.pid)) return false;
  const std::string proc = "/proc/" + std::to_string(pf.pid);
  std::string exe = read_link(proc + "/exe");
  std::string name;
  if (!exe.empty()) {
    name = std::filesystem::path(exe).filename().string();
  } else {
    std::ifstream comm(proc + "/comm");
    std::getline(comm, name);
  }
  if (name != "postgres" && name != "postmaster") return false;
  // The postmaster chdir()s into its data directory.
  std::string cwd = read_link(proc + "/cwd");
  if (!cwd.empty() && cwd != canonical_or_self(data_dir_)) return false;
  if (pf.start_time > 0) {
    auto started = process_start_time(pf.pid);
    if (started && std::llabs(*started - pf.start_time) > 3) return false;
  }
  return true;
}

bool Postmaster::adopt() {
  auto pf = read_pid_file();
  if (!pf || !verify(*pf)) return false;
  track(pf->pid);
  // Re-check after opening the pidfd: the pid must not have been recycled in between.
  if (!is_running() || !verify(*pf)) {
    forget();
    return false;
  }
  return true;
}

Status<std::string> Postmaster::start(const PostmasterOptions& options) {
  if (is_running()) return make_error("postmaster already running with pid " + std::to_string(pid_));
  if (auto pf = read_pid_file(); pf && verify(*pf))
    return make_error("a postmaster is already running for " + data_dir_ + " with pid " + std::to_string(pf->pid));
  PostmasterOptions o = options;
  if (o.data_dir.empty()) o.data_dir = data_dir_;
  SpawnOptions so;
  so.env = o.env;
  so.log_file = o.log_file;
  auto pid = runner_.spawn(command_line(o), so);
  if (!pid) return make_error(pid.error());
  track(pid.value());
  return Unit{};
}

Readiness Postmaster::readiness() {
  if (!is_running()) return Readiness::Dead;
  auto pf = read_pid_file();
  if (!pf || pf->pid != pid_ || !pf->accepting() || pf->port <= 0) return Readiness::Starting;
  std::string host = pf->socket_dir;
  if (host.empty()) {
    host = pf->listen_addr;
    if (host.empty() || host == "*" || host == "0.0.0.0") host = "127.0.0.1";
    else if (host == "::") host = "::1";
  }
  std::string port = std::to_string(pf->port);
  const char* keys[] = {"host", "port", "dbname", "connect_timeout", nullptr};
  const char* values[] = {host.c_str(), port.c_str(), "postgres", "2", nullptr};
  PGPing ping = PQpingParams(keys, values, 0);
  if (ping == PQPING_OK) return Readiness::Ready;
  return is_running() ? Readiness::Starting : Readiness::Dead;
}

Readiness Postmaster::wait_until_ready(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    Readiness r = readiness();
    if (r != Readiness::Starting) return r;
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Readiness::Starting;
    // Sleep up to 100 ms, waking at once if the postmaster dies.
    wait_for_death(std::min(left, milliseconds(100)));
  }
}

bool Postmaster::wait_for_death(milliseconds timeout) {
  if (pid_ <= 0) return true;
  if (pidfd_ >= 0) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      if (!is_running()) return true;
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{pidfd_, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
    }
  }
  return wait_for_exit(pid_, timeout);
}

bool Postmaster::signal(int sig) {
  if (!is_running()) return false;
  return ::kill(pid_, sig) == 0;
}

StopResult Postmaster::stop(StopMode mode, milliseconds timeout) {
  if (!is_running()) {
    forget();
    return StopResult::NotRunning;
  }
  int sig = mode == StopMode::Smart ? SIGTERM : mode == StopMode::Fast ? SIGINT : SIGQUIT;
  if (::kill(pid_, sig) != 0 && errno == ESRCH) {
    try_reap(pid_);
    forget();
    return StopResult::Stopped;
  }
  if (!wait_for_death(timeout)) return StopResult::TimedOut;
  forget();
  return StopResult::Stopped;
}

bool Postmaster::kill_all(milliseconds timeout) {
  if (!is_running()) {
    forget();
    return true;
  }
  auto children = process_children(pid_);
  ::kill(pid_, SIGKILL);
  for (pid_t c : children) ::kill(c, SIGKILL);
  bool gone = wait_for_death(timeout);
  if (gone) forget();
  return gone;
}

}  // namespace custos::postgres
