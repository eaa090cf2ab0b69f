#include "common/process.h"
#include "common/process_runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

namespace custos {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string RunResult::describe() const {
  if (cancelled) return "cancelled after " + std::to_string(elapsed.count()) + " ms";
  if (timed_out) return "timed out after " + std::to_string(elapsed.count()) + " ms";
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "exited with code " + std::to_string(exit_code);
}

std::optional<std::string> find_executable(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos) return name;
  const char* path = ::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

namespace {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    reset(o.release());
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

std::string errno_text(const char* what, int err) { return std::string(what) + ": " + std::strerror(err); }

std::vector<std::string> build_env(const std::map<std::string, std::string>& add, const std::vector<std::string>& unset) {
  std::vector<std::string> out;
  std::set<std::string> drop(unset.begin(), unset.end());
  // systemd's notification channel belongs to the agent (the unit's main process): a child,
  // such as PostgreSQL (built with systemd support), must not report READY/STOPPING for it.
  drop.insert({"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"});
  for (const auto& [k, v] : add) drop.insert(k);
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    std::string key = entry.substr(0, eq);
    if (!drop.count(key)) out.push_back(std::move(entry));
  }
  for (const auto& [k, v] : add) out.push_back(k + "=" + v);
  return out;
}

struct ChildSpec {
  std::string path;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  bool new_session = false;  // else: new process group
};

// The spec of a child running `argv` (resolved to `path`) with the environment and working
// directory of `options` (RunOptions or SpawnOptions) and the given standard descriptors.
template <class Options>
ChildSpec child_spec(const std::string& path, const std::vector<std::string>& argv, const Options& options,
                     int stdin_fd, int stdout_fd, int stderr_fd, bool new_session) {
  ChildSpec spec;
  spec.path = path;
  spec.argv = argv;
  spec.env = build_env(options.env, options.env_unset);
  spec.cwd = options.cwd;
  spec.stdin_fd = stdin_fd;
  spec.stdout_fd = stdout_fd;
  spec.stderr_fd = stderr_fd;
  spec.new_session = new_session;
  return spec;
}

// fork + exec; between them only async-signal-safe calls. Exec failure is reported through a
// close-on-exec pipe.
Result<pid_t, std::string> fork_exec(const ChildSpec& spec) {
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int errpipe[2];
  if (::pipe2(errpipe, O_CLOEXEC) != 0) return make_error(errno_text("pipe2", errno));
  Fd err_r(errpipe[0]), err_w(errpipe[1]);

  pid_t pid = ::fork();
  if (pid < 0) return make_error(errno_text("fork", errno));
  if (pid == 0) {
    // Child.
    auto fail = [&](int stage_errno) {
      int e = stage_errno;
      ssize_t ignored = ::write(err_w.get(), &e, sizeof e);
      (void)ignored;
      ::_exit(127);
    };
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) {
      if (s == SIGKILL || s == SIGSTOP) continue;
      ::sigaction(s, &dfl, nullptr);
    }
    if (spec.new_session) {
      if (::setsid() < 0) fail(errno);
    } else {
      if (::setpgid(0, 0) < 0) fail(errno);
    }
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) fail(errno);
    const int targets[3] = {spec.stdin_fd, spec.stdout_fd, spec.stderr_fd};
    for (int i = 0; i < 3; ++i) {
      if (targets[i] == i) {
        ::fcntl(i, F_SETFD, 0);  // dup2 onto itself would keep close-on-exec
      } else if (::dup2(targets[i], i) < 0) {
        fail(errno);
      }
    }
    // Close everything else but the error pipe (close-on-exec anyway).
    int keep = err_w.get();
    if (keep > 3) ::syscall(SYS_close_range, 3u, static_cast<unsigned>(keep - 1), 0u);
    ::syscall(SYS_close_range, static_cast<unsigned>(keep + 1), ~0u, 0u);
    ::execve(spec.path.c_str(), argv.data(), envp.data());
    fail(errno);
  }
  err_w.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_r.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return make_error(errno_text(("cannot execute " + spec.path).c_str(), child_errno));
  }
  return pid;
}

void set_nonblock(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Reads what is available; returns false at EOF (or error).
// Hands complete lines of one output stream to RunOptions::on_output_line as they arrive.
class LineSplitter {
 public:
  LineSplitter(const std::function<void(std::string_view, bool)>* callback, bool from_stderr)
      : callback_(callback && *callback ? callback : nullptr), from_stderr_(from_stderr) {}
  void feed(const char* data, size_t n) {
    if (!callback_) return;
    for (size_t i = 0; i < n; ++i) {
      if (data[i] == '\n' || partial_.size() >= kMaxLine) {
        if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
        (*callback_)(partial_, from_stderr_);
        partial_.clear();
        if (data[i] == '\n') continue;
      }
      partial_.push_back(data[i]);
    }
  }
  void finish() {
    if (callback_ && !partial_.empty()) (*callback_)(partial_, from_stderr_);
    partial_.clear();
  }

 private:
  static constexpr size_t kMaxLine = 64 * 1024;
  const std::function<void(std::string_view, bool)>* callback_;
  const bool from_stderr_;
  std::string partial_;
};

bool drain(int fd, std::string& into, size_t limit, LineSplitter& lines) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      size_t room = into.size() < limit ? limit - into.size() : 0;
      into.append(buf, std::min(room, static_cast<size_t>(n)));
      lines.feed(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    return false;
  }
}

void fill_status(RunResult& r, int status) {
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
}

}  // namespace

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  if (pid <= 0) return -1;
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd >= 0) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
#else
  (void)pid;
  return -1;
#endif
}

bool send_signal(pid_t pid, int pidfd, int sig) {
#ifdef SYS_pidfd_send_signal
  if (pidfd >= 0) return ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) == 0;
#endif
  (void)pidfd;
  return ::kill(pid, sig) == 0;
}

bool wait_for_exit(pid_t pid, int pidfd, std::chrono::milliseconds timeout) {
  if (pidfd < 0) return wait_for_exit(pid, timeout);
  const auto deadline = Clock::now() + timeout;
  while (true) {
    pollfd p{pidfd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    const int r = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, std::min<long long>(left, 60'000))));
    if (r > 0) {
      try_reap(pid);
      return true;
    }
    if (r < 0 && errno != EINTR) return wait_for_exit(pid, std::chrono::milliseconds(std::max<long long>(0, left)));
    if (left <= 0) return false;
  }
}

Result<RunResult, std::string> run_command(const std::vector<std::string>& argv, const RunOptions& options) {
  if (argv.empty()) return make_error(std::string("empty command"));
  auto path = find_executable(argv[0]);
  if (!path) return make_error(argv[0] + ": command not found");

  Fd in;
  if (options.stdin_data) {
    in.reset(::memfd_create("custos-stdin", MFD_CLOEXEC));
    if (in.get() < 0) return make_error(errno_text("memfd_create", errno));
    const std::string& d = *options.stdin_data;
    size_t off = 0;
    while (off < d.size()) {
      ssize_t n = ::write(in.get(), d.data() + off, d.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return make_error(errno_text("write stdin", errno));
      }
      off += static_cast<size_t>(n);
    }
    ::lseek(in.get(), 0, SEEK_SET);
  } else {
    in.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  }
  int outp[2], errp[2];
  if (::pipe2(outp, O_CLOEXEC) != 0) return make_error(errno_text("pipe2", errno));
  Fd out_r(outp[0]), out_w(outp[1]);
  if (::pipe2(errp, O_CLOEXEC) != 0) return make_error(errno_text("pipe2", errno));
  Fd err_r(errp[0]), err_w(errp[1]);

  const ChildSpec spec = child_spec(*path, argv, options, in.get(), out_w.get(), err_w.get(), false);

  const auto started = Clock::now();
  auto pid_r = fork_exec(spec);
  if (!pid_r) return make_error(pid_r.error());
  pid_t pid = pid_r.value();
  in.reset();
  out_w.reset();
  err_w.reset();
  set_nonblock(out_r.get());
  set_nonblock(err_r.get());
  Fd pidfd(open_pidfd(pid));

  RunResult result;
  const auto deadline = started + options.timeout;
  bool out_open = true, err_open = true;
  LineSplitter out_lines(&options.on_output_line, false), err_lines(&options.on_output_line, true);
  std::optional<int> status;
  while (!status) {
    pollfd fds[3];
    int n = 0;
    int out_i = -1, err_i = -1;
    if (out_open) { fds[n] = {out_r.get(), POLLIN, 0}; out_i = n++; }
    if (err_open) { fds[n] = {err_r.get(), POLLIN, 0}; err_i = n++; }
    if (pidfd.get() >= 0) fds[n++] = {pidfd.get(), POLLIN, 0};
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    const bool cancelled = options.cancel && options.cancel->cancelled();
    if (left <= 0 || cancelled) {
      if (cancelled) result.cancelled = true;
      else result.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      int st = 0;
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      status = st;
      break;
    }
    // Without a pidfd (or with both pipes closed) the exit is noticed by polling waitpid.
    int wait_ms = static_cast<int>(std::min<long long>(left, (pidfd.get() >= 0) ? (options.cancel ? 100 : 60'000) : 50));
    int r = n > 0 ? ::poll(fds, static_cast<nfds_t>(n), wait_ms) : (std::this_thread::sleep_for(milliseconds(wait_ms)), 0);
    if (r < 0 && errno != EINTR) break;
    if (out_i >= 0 && (fds[out_i].revents & (POLLIN | POLLHUP | POLLERR)))
      out_open = drain(out_r.get(), result.out, options.max_output, out_lines);
    if (err_i >= 0 && (fds[err_i].revents & (POLLIN | POLLHUP | POLLERR)))
      err_open = drain(err_r.get(), result.err, options.max_output, err_lines);
    int st = 0;
    pid_t w = ::waitpid(pid, &st, WNOHANG);
    if (w == pid) status = st;
    if (pidfd.get() < 0 && !out_open && !err_open && !status) {
      // fall through: keep polling waitpid at 50 ms
    }
  }
  // The child is gone: take what it left in the pipes without waiting for grandchildren that
  // might still hold them open.
  if (out_open) drain(out_r.get(), result.out, options.max_output, out_lines);
  if (err_open) drain(err_r.get(), result.err, options.max_output, err_lines);
  out_lines.finish();
  err_lines.finish();
  if (status) fill_status(result, *status);
  result.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
  return result;
}

Result<pid_t, std::string> spawn_detached(const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) return make_error(std::string("empty command"));
  auto path = find_executable(argv[0]);
  if (!path) return make_error(argv[0] + ": command not found");
  Fd in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  Fd out;
  if (options.log_file.empty()) {
    out.reset(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  } else {
    out.reset(::open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (out.get() < 0) return make_error(errno_text(("cannot open " + options.log_file).c_str(), errno));
  }
  return fork_exec(child_spec(*path, argv, options, in.get(), out.get(), out.get(), true));
}

std::optional<int> try_reap(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid) return status;
  return std::nullopt;
}

namespace {
// Fields of /proc/PID/stat after the "(comm)" part: index 0 = state (field 3).
std::optional<std::vector<std::string>> stat_fields(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  if (!f) return std::nullopt;
  std::string line;
  std::getline(f, line);
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> out;
  std::string tok;
  while (rest >> tok) out.push_back(tok);
  if (out.empty()) return std::nullopt;
  return out;
}
}  // namespace

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  try_reap(pid);
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  auto st = stat_fields(pid);
  if (!st) return false;  // vanished between the two checks
  return (*st)[0] != "Z" && (*st)[0] != "X";
}

std::optional<pid_t> process_parent(pid_t pid) {
  auto st = stat_fields(pid);
  if (!st || st->size() < 2) return std::nullopt;
  return static_cast<pid_t>(std::stol((*st)[1]));
}

std::optional<int64_t> process_start_time(pid_t pid) {
  auto st = stat_fields(pid);
  // starttime is field 22 of /proc/PID/stat, i.e. index 22 - 3 = 19 here.
  if (!st || st->size() < 20) return std::nullopt;
  long long ticks = std::stoll((*st)[19]);
  std::ifstream f("/proc/stat");
  std::string key;
  long long btime = -1;
  while (f >> key) {
    if (key == "btime") {
      f >> btime;
      break;
    }
    std::string skip;
    std::getline(f, skip);
  }
  if (btime < 0) return std::nullopt;
  long hz = ::sysconf(_SC_CLK_TCK);
  if (hz <= 0) hz = 100;
  return btime + ticks / hz;
}

std::vector<pid_t> process_children(pid_t pid) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long p = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || p <= 0) continue;
    auto parent = process_parent(static_cast<pid_t>(p));
    if (parent && *parent == pid) out.push_back(static_cast<pid_t>(p));
  }
  ::closedir(d);
  return out;
}

bool wait_for_exit(pid_t pid, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  Fd pidfd(open_pidfd(pid));
  for (;;) {
    if (!process_alive(pid)) return true;
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    if (pidfd.get() >= 0) {
      pollfd p{pidfd.get(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
    } else {
      std::this_thread::sleep_for(milliseconds(std::min<long long>(left, 50)));
    }
  }
}

ProcessRunner& system_process_runner() {
  static SystemProcessRunner runner;
  return runner;
}

}  // namespace custos
