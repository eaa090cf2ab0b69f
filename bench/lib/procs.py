"""Process plumbing shared by the benchmark: privilege drop to `postgres` when run as root,
child-subreaper setup and reaping of orphaned postmasters, free ports, /proc readings."""

import ctypes
import fcntl
import os
import pwd
import random
import resource
import signal
import socket
import subprocess
import threading
import weakref
import time

PR_SET_CHILD_SUBREAPER = 36
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def become_subreaper():
    """Orphaned postmasters (their agent killed with -9) are re-parented to us, not to PID 1,
    which does not reap them here; a zombie would keep holding postmaster.pid."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


class Reaper:
    """Reaps exited children that no Popen object owns (orphans adopted as subreaper).

    A pid counts as owned only while its Popen has not reaped it: pids are reused (the kernel's
    pid_max is 32768 here, and a full run wraps it), and an orphaned postmaster given the pid
    of a long-gone agent must still be reaped, or its agent takes the zombie for a running
    PostgreSQL (Patroni 3.0.2 then never fails over)."""

    def __init__(self):
        self._owned = {}  # pid -> weak reference to the Popen that started it
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reaper", daemon=True)
        self._thread.start()

    def own(self, popen):
        with self._lock:
            self._owned[popen.pid] = weakref.ref(popen)

    def _is_owned(self, pid):
        with self._lock:
            ref = self._owned.get(pid)
            if ref is None:
                return False
            popen = ref()
            # Collected, or reaped by its Popen: the pid, if alive, is another process now. (A
            # Popen collected before its child was reaped stays alive in subprocess's own list.)
            if popen is None or popen.returncode is not None:
                del self._owned[pid]
                return False
            return True

    @staticmethod
    def _children():
        pids = set()
        try:
            tasks = os.listdir("/proc/self/task")
        except OSError:
            return pids
        for task in tasks:
            try:
                with open(f"/proc/self/task/{task}/children") as f:
                    pids.update(int(x) for x in f.read().split())
            except (OSError, ValueError):
                pass
        return pids

    def reap_once(self):
        """Reaps every exited child that no Popen owns, also those behind an owned one."""
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None:
                return
            if not self._is_owned(info.si_pid):
                try:
                    os.waitpid(info.si_pid, os.WNOHANG)
                except ChildProcessError:
                    pass
                continue
            # An owned child that its Popen has not polled yet is first in line: look past it.
            for pid in self._children():
                if pid != info.si_pid and not self._is_owned(pid):
                    try:
                        os.waitpid(pid, os.WNOHANG)
                    except ChildProcessError:
                        pass
            return

    def _run(self):
        while not self._stop.wait(0.2):
            self.reap_once()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=2)


REAPER = None


def init():
    global REAPER
    become_subreaper()
    REAPER = Reaper()
    # One open, flock'ed file per port handed out (a full run hands out several hundred).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else max(soft, 65536), hard))


def run_as():
    """(uid, gid) to run PostgreSQL-owning children as: `postgres` when we are root."""
    if os.geteuid() != 0:
        return None
    pw = pwd.getpwnam("postgres")
    return pw.pw_uid, pw.pw_gid


def chown_tree(path):
    ids = run_as()
    if not ids:
        return
    # Links are changed themselves, never what they point to (a cluster's bin_dir links to the
    # system's PostgreSQL binaries, which must stay root's).
    for root, dirs, files in os.walk(path):
        os.chown(root, *ids)
        for f in files:
            os.chown(os.path.join(root, f), *ids, follow_symlinks=False)


def spawn(argv, log_path, env=None, cwd=None, as_postgres=True):
    """Starts argv in a session of its own (a Ctrl-C of the bench does not reach it), as the
    postgres user when run as root; output appended to log_path. Safe to call from several
    threads: no Python code runs in the child between fork and exec."""
    ids = run_as() if as_postgres else None
    log = open(log_path, "ab")
    full_env = dict(os.environ)
    if ids:
        full_env.update({"HOME": "/var/lib/postgresql", "USER": "postgres", "LOGNAME": "postgres"})
    if env:
        full_env.update(env)
    creds = {"user": ids[0], "group": ids[1], "extra_groups": []} if ids else {}
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env=full_env, cwd=cwd, start_new_session=True, **creds)
    log.close()
    if REAPER:
        REAPER.own(p)
    return p


def stop_popen(p, sig=signal.SIGTERM, timeout=30.0):
    """Sends `sig` and waits up to `timeout`, then kills. True when it had to kill."""
    if p is None or p.poll() is not None:
        return False
    try:
        p.send_signal(sig)
        p.wait(timeout=timeout)
        return False
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=10)
        return True


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def kill_pid(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def wait_pid_gone(pid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def children_of(pid):
    """Pids whose parent is `pid` (from /proc/*/stat)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        if ppid == pid:
            out.append(int(entry))
    return out


# The test suite's port reservations (tests/support/child_process.cpp): one flock'ed file per port.
PORT_RESERVATION_DIR = "/tmp/custos-test-ports"
_given_ports = set()
_port_lock = threading.Lock()
_reservations = []  # open, flock'ed files: held for the life of this process


def _reserve(port):
    """The test suite's cross-process reservation (tests/support/child_process.cpp): an
    exclusive flock on /tmp/custos-test-ports/<port>, so a bench run beside the tests never
    takes a port a test was handed. False when another process holds it."""
    d = PORT_RESERVATION_DIR
    try:
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o1777)
    except OSError:
        pass
    path = os.path.join(d, str(port))
    try:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except PermissionError:
        return False
    except OSError:
        return True  # only the bind check is left
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _reservations.append(fd)
    return True


def _ephemeral_low():
    """The low end of the kernel's ephemeral range; 32768 when that leaves too few ports below
    it (as tests/support/child_process.cpp decides)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768
    return low if low > 12000 else 32768


def free_port():
    """A port on 127.0.0.1 that nothing listens on now and that this run has not handed out
    before: below the kernel's ephemeral range (so no outgoing connection takes it before its
    server binds it) and never twice (a server handed a port may not have bound it yet; at 50
    clusters two nodes were once given the same one)."""
    low = _ephemeral_low()
    with _port_lock:
        for _ in range(1000):
            port = random.randrange(10000, low)
            if port in _given_ports:
                continue
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            if not _reserve(port):
                continue
            _given_ports.add(port)
            return port
    raise RuntimeError("no free port below the ephemeral range after 1000 tries")


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (None when gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK
    except (FileNotFoundError, IndexError, ValueError):
        return None


def rss_anon_mib(pid):
    """Private anonymous resident memory (RssAnon: heap, stacks) in MiB, None when gone. Unlike
    RSS it leaves out the pages of shared libraries, which other processes map too."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ValueError):
        return None
    return None


def pss_mib(pid):
    """Proportional set size in MiB (/proc/PID/smaps_rollup: each shared page counted as its share
    among the processes that map it), None when gone or unreadable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, PermissionError, ValueError):
        return None
    return None


def rss_mib(pid):
    """Resident set size in MiB (None when gone)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE / (1 << 20)
    except (FileNotFoundError, IndexError, ValueError):
        return None
