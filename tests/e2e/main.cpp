// Entry point of the end-to-end tests. PostgreSQL and the custos agent refuse to run as root,
// so when started as root this process first becomes the `postgres` user (before any temp dir
// exists, so that everything the tests create belongs to postgres). It also becomes a child
// subreaper that reaps orphans: a postmaster orphaned by `kill -9` of its agent is re-parented
// to this process instead of PID 1 (which does not reap here) and must not stay a zombie that
// still "holds" postmaster.pid.
// With CUSTOS_TEST_NET_CAPS=1 in its environment (CTest sets it for the vip-manager test only),
// it keeps CAP_NET_ADMIN and CAP_NET_RAW across that switch, as ambient capabilities that the
// programs it starts inherit (`ip`, vip-manager): the test makes network interfaces of its own.
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>

#include "child_process.h"

namespace {

// After setuid with PR_SET_KEEPCAPS: CAP_NET_ADMIN and CAP_NET_RAW only (permitted, effective,
// inheritable) and both raised as ambient, so that exec'd programs get them too.
bool keep_only_net_caps() {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  __user_cap_data_struct data[2]{};
  const uint32_t bits = (1u << CAP_NET_ADMIN) | (1u << CAP_NET_RAW);
  data[0].permitted = data[0].effective = data[0].inheritable = bits;
  if (::syscall(SYS_capset, &header, data) != 0) return false;
  return ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_ADMIN, 0, 0) == 0 &&
         ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0) == 0 &&
         ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* net_caps = std::getenv("CUSTOS_TEST_NET_CAPS");
  const bool keep_net_caps = net_caps != nullptr && std::strcmp(net_caps, "1") == 0;
  if (::geteuid() == 0) {
    if (keep_net_caps && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
      std::perror("prctl(PR_SET_KEEPCAPS)");
      return 1;
    }
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
    if (keep_net_caps && !keep_only_net_caps()) {
      std::perror("cannot keep CAP_NET_ADMIN and CAP_NET_RAW");
      return 1;
    }
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
