// Entry point of the end-to-end tests. PostgreSQL and the custos agent refuse to run as root,
// so when started as root this process first becomes the `postgres` user (before any temp dir
// exists, so that everything the tests create belongs to postgres). It also becomes a child
// subreaper that reaps orphans: a postmaster orphaned by `kill -9` of its agent is re-parented
// to this process instead of PID 1 (which does not reap here) and must not stay a zombie that
// still "holds" postmaster.pid.
#include <grp.h>
#include <pwd.h>
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
      std::fprintf(stderr, "running as root and there is no 'postgres' user (install postgresql-15)\n");
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
  // Temp dirs under a directory the postgres user may write (root's TMPDIR may not be).
  if (const char* tmp = std::getenv("TMPDIR"); tmp != nullptr && ::access(tmp, W_OK) != 0) ::setenv("TMPDIR", "/tmp", 1);
  custos::test::become_subreaper();
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  custos::test::reap_orphans();
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  return rc;
}
