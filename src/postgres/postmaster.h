// Postmaster: the PostgreSQL server process of one data directory. Starts `postgres` directly
// as a detached child (own session, output to a log file), adopts an already running one from
// postmaster.pid, checks readiness, stops it in smart/fast/immediate mode, and reports its death.
//
// Death detection: a pidfd (pidfd_open, Linux >= 5.3) is opened for the postmaster whenever it
// is started or adopted; it becomes readable the moment the process terminates
// (common/death_watcher.h watches it for the agent).
//
// Not thread-safe: its owner (LocalPostgres) serializes calls; the waits (stop, wait_for_death)
// are done by the owner on a duplicate of death_fd() without holding its lock.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/process_runner.h"
#include "common/result.h"
#include "postgres/postmaster_pid.h"

namespace custos::postgres {

// The parameters Patroni passes on the postgres command line (config.md §6.1), in its order.
// wal_keep_segments / wal_keep_size are written to postgresql.conf instead.
extern const std::vector<std::string> kCommandLineParameters;

struct PostmasterOptions {
  std::string postgres_bin = "postgres";
  std::string data_dir;
  std::string config_file;  // --config-file=<path> (omitted when empty)
  // Passed as --name=value, in this order.
  std::vector<std::pair<std::string, std::string>> parameters;
  std::string log_file;  // stdout+stderr of the postmaster (appended); /dev/null when empty
  std::map<std::string, std::string> env;
};

enum class StopMode { Smart, Fast, Immediate };  // SIGTERM, SIGINT, SIGQUIT
const char* to_string(StopMode mode);

enum class Readiness {
  Ready,     // accepting connections (pid file says ready/standby and a ping got an answer)
  Starting,  // alive, not (yet) accepting connections: starting up, recovering, or rejecting
  Dead,      // no postmaster process
};
const char* to_string(Readiness r);

enum class StopResult { Stopped, NotRunning, TimedOut };

class Postmaster {
 public:
  explicit Postmaster(std::string data_dir, ProcessRunner& runner = system_process_runner());
  ~Postmaster();  // leaves the server running
  Postmaster(const Postmaster&) = delete;
  Postmaster& operator=(const Postmaster&) = delete;

  // argv for `postgres -D <data> [--config-file=...] --name=value...`.
  static std::vector<std::string> command_line(const PostmasterOptions& options);

  // Spawns the postmaster. Refused if this object already tracks a live one or if
  // postmaster.pid names a live postmaster of this data dir (adopt() it instead). Does not wait.
  Status<std::string> start(const PostmasterOptions& options);

  // One bounded readiness check (a ping with a 2 s connect timeout at most).
  Readiness readiness();
  // Polls readiness every 100 ms until Ready or Dead or the timeout (then Starting).
  Readiness wait_until_ready(std::chrono::milliseconds timeout);

  // Takes over a postmaster that is already running for this data dir: postmaster.pid is read,
  // and its pid must be alive, be a postgres/postmaster executable, have its working directory
  // in the data dir (when /proc lets us see it) and have started within 3 s of the pid file's
  // start time. Returns false (and tracks nothing) otherwise.
  bool adopt();

  // Cheap, non-blocking: the tracked pid exists and is not a zombie (reaped if it is our child).
  bool is_running();
  std::optional<pid_t> pid() const;
  // Start time of the tracked postmaster (seconds since the epoch), 0 if none.
  int64_t start_time() const { return start_time_; }
  std::optional<PostmasterPidFile> read_pid_file() const { return read_postmaster_pid(data_dir_); }
  const std::string& data_dir() const { return data_dir_; }

  // Sends the mode's signal and waits until the process is gone. TimedOut leaves it running.
  StopResult stop(StopMode mode, std::chrono::milliseconds timeout);
  // SIGKILL to the postmaster and its direct children; waits up to `timeout` for the postmaster.
  bool kill_all(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Sends a signal (e.g. SIGHUP for reload) to the postmaster. False if none tracked / gone.
  bool signal(int sig);

  // pidfd of the tracked postmaster (readable once it terminates), -1 if none/unsupported.
  // Owned by this object; valid until the postmaster is forgotten.
  int death_fd() const { return pidfd_; }
  // Waits (pidfd, else 50 ms polling) for the tracked postmaster to terminate.
  bool wait_for_death(std::chrono::milliseconds timeout);

 private:
  bool verify(const PostmasterPidFile& pf) const;
  void track(pid_t pid);
  void forget();

  std::string data_dir_;
  ProcessRunner& runner_;
  pid_t pid_ = 0;
  int pidfd_ = -1;
  int64_t start_time_ = 0;
};

}  // namespace custos::postgres
