#include "child_process.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace custos::test {

namespace {

// PIDs owned by live ChildProcess objects: the orphan reaper leaves them alone. The mutex is
// held across fork() and registration so that the reaper never sees an unregistered child.
std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
std::set<pid_t>& registry() {
  static std::set<pid_t> s;
  return s;
}

void unregister_pid(pid_t pid) {
  std::lock_guard lock(registry_mutex());
  registry().erase(pid);
}

}  // namespace

void reap_orphans() {
  std::lock_guard lock(registry_mutex());
  const pid_t self = getpid();
  DIR* proc = opendir("/proc");
  if (!proc) return;
  while (dirent* e = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (!end || *end != '\0' || pid <= 0) continue;
    std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid != self || state != 'Z') continue;
    if (registry().count(static_cast<pid_t>(pid))) continue;
    int status = 0;
    waitpid(static_cast<pid_t>(pid), &status, WNOHANG);
  }
  closedir(proc);
}

void become_subreaper() {
  static std::once_flag once;
  std::call_once(once, [] {
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    std::thread([] {
      for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        reap_orphans();
      }
    }).detach();
  });
}

ChildProcess::ChildProcess(const SpawnOptions& options) {
  if (options.argv.empty()) throw std::runtime_error("ChildProcess: empty argv");
  // Prepare everything the child needs before fork (no allocation after fork).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos && options.env.count(kv.substr(0, eq))) continue;
    env_strings.push_back(std::move(kv));
  }
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = options.argv;
  std::vector<char*> argv;
  for (auto& s : argv_copy) argv.push_back(s.data());
  argv.push_back(nullptr);

  int out_fd = options.output_file.empty()
                   ? open("/dev/null", O_WRONLY | O_CLOEXEC)
                   : open(options.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out_fd < 0) throw std::runtime_error("ChildProcess: cannot open " + options.output_file + ": " + std::strerror(errno));
  int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);

  std::lock_guard lock(registry_mutex());
  pid_t pid = fork();
  if (pid < 0) {
    close(out_fd);
    close(null_in);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Child: new process group so that signals to the test do not hit it and vice versa.
    setpgid(0, 0);
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(null_in, 0);
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(127);
    execvpe(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out_fd);
  close(null_in);
  pid_ = pid;
  registry().insert(pid);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) stop();
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_), status_(other.status_) {
  other.pid_ = -1;
  other.status_.reset();
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !status_) stop();
    pid_ = other.pid_;
    status_ = other.status_;
    other.pid_ = -1;
    other.status_.reset();
  }
  return *this;
}

void ChildProcess::release() { unregister_pid(pid_); }

bool ChildProcess::running() {
  if (pid_ <= 0 || status_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    release();
    return false;
  }
  if (r < 0 && errno == ECHILD) {  // reaped elsewhere
    status_ = -1;
    release();
    return false;
  }
  return true;
}

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status_;
}

void ChildProcess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

void ChildProcess::stop(std::chrono::milliseconds grace) {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  if (wait_for(grace)) return;
  kill();
}

void ChildProcess::kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  status_ = status;
  release();
}

RunResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                      const std::map<std::string, std::string>& env) {
  char path[] = "/tmp/custos-run-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  close(fd);
  RunResult result;
  {
    SpawnOptions o;
    o.argv = argv;
    o.env = env;
    o.output_file = path;
    ChildProcess child(o);
    auto status = child.wait_for(timeout);
    if (!status) {
      child.kill();
    } else if (WIFEXITED(*status)) {
      result.exit_code = WEXITSTATUS(*status);
    }
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  result.output = ss.str();
  unlink(path);
  return result;
}

std::string make_temp_dir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  return buf.data();
}

namespace {

// The lowest port of the kernel's ephemeral range (the ports outgoing connections take): test
// ports are picked below it, so that no client connection can take one between its pick and
// the server's bind. A range starting at 12000 or lower (not Linux's default 32768) is not
// honoured: the picks then come from [20768, 32768) and only the bind check guards them.
int ephemeral_low() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0, high = 0;
  if (in >> low >> high && low > 12000) return low;
  return 32768;
}

// Reserves `port` for this process against other test processes on this machine (tests run in
// parallel): an exclusive flock on /tmp/custos-test-ports/<port>, held until this process
// exits (the kernel drops it then, whatever the exit). False when another process holds it.
bool reserve_across_processes(int port) {
  static const std::string dir = [] {
    const std::string d = "/tmp/custos-test-ports";
    ::mkdir(d.c_str(), 01777);
    ::chmod(d.c_str(), 01777);  // root and the postgres user share it (umask would narrow it)
    return d;
  }();
  const std::string path = dir + "/" + std::to_string(port);
  // Open an existing file without O_CREAT: with fs.protected_regular, O_CREAT on another
  // user's file in a sticky directory fails even for reading. A file that cannot be opened
  // for a permission reason counts as taken; other failures (no fds left, read-only /tmp)
  // leave only the bind check.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno != EACCES && errno != EPERM;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return false;
  }
  return true;  // fd stays open (and locked) for the life of the process
}

// True when nothing listens on or is bound to 127.0.0.1:port right now.
bool bindable(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

int free_port() {
  static std::mutex mu;
  static std::set<int> handed_out;
  static std::mt19937 random(static_cast<unsigned>(::getpid()) ^ static_cast<unsigned>(std::random_device{}()));
  std::lock_guard lock(mu);
  const int high = ephemeral_low();  // exclusive
  const int low = high - 12000;
  std::uniform_int_distribution<int> pick(low, high - 1);
  for (int attempt = 0; attempt < 2000; ++attempt) {
    const int port = pick(random);
    if (handed_out.count(port) != 0) continue;
    if (!reserve_across_processes(port)) continue;
    handed_out.insert(port);  // reserved now either way: never handed out twice
    if (bindable(port)) return port;
  }
  throw std::runtime_error("free_port: no free port below " + std::to_string(high) + " after 2000 tries");
}

}  // namespace custos::test
