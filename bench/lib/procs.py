"""Process plumbing shared by the benchmark: privilege drop to `postgres` when run as root,
child-subreaper setup and reaping of orphaned postmasters, free ports, /proc readings."""

import ctypes
import os
import pwd
import signal
import socket
import subprocess
import threading
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
    """Reaps exited children that no Popen object owns (orphans adopted as subreaper)."""

    def __init__(self):
        self._owned = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reaper", daemon=True)
        self._thread.start()

    def own(self, pid):
        with self._lock:
            self._owned.add(pid)

    def _run(self):
        while not self._stop.wait(0.2):
            while True:
                try:
                    info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
                except ChildProcessError:
                    break
                if info is None:
                    break
                with self._lock:
                    owned = info.si_pid in self._owned
                if owned:
                    break  # its Popen object reaps it
                try:
                    os.waitpid(info.si_pid, os.WNOHANG)
                except ChildProcessError:
                    pass

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=2)


REAPER = None


def init():
    global REAPER
    become_subreaper()
    REAPER = Reaper()


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
    for root, dirs, files in os.walk(path):
        os.chown(root, *ids)
        for f in files:
            os.chown(os.path.join(root, f), *ids)


def spawn(argv, log_path, env=None, cwd=None, as_postgres=True):
    ids = run_as() if as_postgres else None

    def drop():
        os.setsid()
        if ids:
            os.setgid(ids[1])
            os.setgroups([])
            os.setuid(ids[0])

    log = open(log_path, "ab")
    full_env = dict(os.environ)
    if ids:
        full_env.update({"HOME": "/var/lib/postgresql", "USER": "postgres", "LOGNAME": "postgres"})
    if env:
        full_env.update(env)
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env=full_env, cwd=cwd, preexec_fn=drop)
    log.close()
    if REAPER:
        REAPER.own(p.pid)
    return p


def stop_popen(p, sig=signal.SIGTERM, timeout=30.0):
    if p is None or p.poll() is not None:
        return
    try:
        p.send_signal(sig)
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=10)


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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
