// HostResolver: host name lookups with a deadline, on threads made once at start-up. A lookup
// (getaddrinfo) can block for the system resolver's timeouts (seconds per name server and
// attempt); the HTTP client must not wait past its request's deadline for it, and must not start
// a thread per lookup either. The agent's main installs one resolver for the process; without
// one (custosctl, tests) lookups run synchronously on the calling thread.
//
// Answers are cached for 30 s; concurrent lookups of one name share one getaddrinfo call.
// Thread: any. Blocking: resolve() until the answer or `deadline`. Errors: text naming the name.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/thread_annotations.h"
#include "common/thread_pool.h"

namespace custos::net {

class HostResolver {
 public:
  // Where a lookup stands (shared by the callers waiting for it and the pool task).
  struct Lookup;

  explicit HostResolver(std::size_t threads = 1);
  ~HostResolver();

  // The numeric addresses of `host`, before `deadline`; "timeout" in the error when it passed.
  Result<std::vector<std::string>, std::string> resolve(const std::string& host,
                                                        std::chrono::steady_clock::time_point deadline)
      EXCLUDES(mu_);

  // The resolver the HTTP clients of this process use (nullptr: resolve synchronously).
  static void install(HostResolver* resolver);
  static HostResolver* installed();

  // getaddrinfo on the calling thread.
  static Result<std::vector<std::string>, std::string> resolve_now(const std::string& host);

 private:
  Mutex mu_;
  std::map<std::string, std::shared_ptr<Lookup>> lookups_ GUARDED_BY(mu_);
  ThreadPool pool_;
};

}  // namespace custos::net
