// Entry point of the agent integration tests. PostgreSQL refuses to run as root, so when
// started as root the process first becomes the `postgres` user (before any temp dir exists).
// It also becomes a child subreaper so that orphaned server processes are re-parented to it and
// can be reaped (PID 1 of the container does not reap).
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <gtest/gtest.h>

#include "child_process.h"

int main(int argc, char** argv) {
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      std::fprintf(stderr, "running as root and there is no 'postgres' user\n");
      return 1;
    }
    if (::setgid(pw->pw_gid) != 0 || ::initgroups(pw->pw_name, pw->pw_gid) != 0 || ::setuid(pw->pw_uid) != 0) {
      std::perror("cannot switch to the postgres user");
      return 1;
    }
    ::setenv("HOME", pw->pw_dir, 1);
    ::setenv("USER", pw->pw_name, 1);
    ::setenv("LOGNAME", pw->pw_name, 1);
  }
  custos::test::become_subreaper();
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  // Reap whatever is left (bounded: children that are still running are not waited for).
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  return rc;
}
