#!/usr/bin/python3
"""Tests of the benchmark's process plumbing (bench/lib/procs.py) that a full run depends on and
that a short run does not exercise: the reaper of orphaned children and the port reservation.

The reaper once stopped reaping after the pid space wrapped: killed postmasters stayed zombies,
which Debian's Patroni took for running servers, and three of its sections were lost. Each test
here fails on that defect or on one like it. Run: /usr/bin/python3 bench/test_procs.py"""

import os
import subprocess
import sys
import time
import unittest
import weakref

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lib import procs  # noqa: E402


def exists(pid):
    """True while the pid exists at all, zombie included (a reaped child's pid is gone)."""
    return os.path.exists(f"/proc/{pid}")


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def make_orphan(seconds):
    """Starts a shell that starts `sleep seconds` in the background and exits at once: the sleep
    is re-parented to this process (a child subreaper). Returns the sleep's pid."""
    out = subprocess.run(["/bin/sh", "-c", f"sleep {seconds} >/dev/null 2>&1 & echo $!"],
                         check=True, capture_output=True, text=True).stdout
    return int(out.strip())


class ReaperTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        procs.become_subreaper()

    def setUp(self):
        self.reaper = procs.Reaper()

    def tearDown(self):
        self.reaper.stop()

    def test_an_orphan_that_exits_is_reaped(self):
        pid = make_orphan(0.1)
        self.assertIn(pid, procs.Reaper._children(), "the orphan was not re-parented to us")
        self.assertTrue(wait_until(lambda: not exists(pid)), f"orphan {pid} was left a zombie")

    def test_an_owned_child_is_left_to_its_popen(self):
        p = subprocess.Popen(["/bin/sh", "-c", "exit 7"])
        self.reaper.own(p)
        # Several reaper rounds pass while the child is an unpolled zombie.
        self.assertTrue(wait_until(lambda: not procs.pid_alive(p.pid)))
        time.sleep(0.6)
        # Had the reaper taken it, Popen would find no child and report 0.
        self.assertEqual(p.wait(timeout=5), 7)

    def test_an_unpolled_owned_zombie_does_not_hide_an_orphan_behind_it(self):
        owned = subprocess.Popen(["/bin/sh", "-c", "exit 3"])
        self.reaper.own(owned)
        self.assertTrue(wait_until(lambda: not procs.pid_alive(owned.pid)))
        orphan = make_orphan(0.1)
        self.assertTrue(wait_until(lambda: not exists(orphan)), f"orphan {orphan} was left a zombie")
        self.assertTrue(exists(owned.pid), "the owned zombie was reaped behind its Popen's back")
        self.assertEqual(owned.wait(timeout=5), 3)

    def test_a_reused_pid_of_a_finished_popen_is_reaped(self):
        # The pid space wraps in a full run: an orphaned postmaster can be given the pid of an
        # agent whose Popen finished long ago. That Popen no longer owns the pid.
        done = subprocess.Popen(["/bin/true"])
        self.reaper.own(done)
        done.wait(timeout=5)
        orphan = make_orphan(0.3)
        with self.reaper._lock:
            self.reaper._owned[orphan] = weakref.ref(done)  # as if the kernel had reused the pid
        self.assertTrue(wait_until(lambda: not exists(orphan)), f"orphan {orphan} was left a zombie")

    def test_a_collected_popen_owns_nothing(self):
        p = subprocess.Popen(["/bin/true"])
        self.reaper.own(p)
        pid = p.pid
        p.wait(timeout=5)
        del p
        self.assertFalse(self.reaper._is_owned(pid))


class FreePortTest(unittest.TestCase):
    def test_ports_are_never_handed_out_twice_and_stay_below_the_ephemeral_range(self):
        ports = [procs.free_port() for _ in range(40)]
        self.assertEqual(len(ports), len(set(ports)))
        low = procs._ephemeral_low()
        for port in ports:
            self.assertGreaterEqual(port, 10000)
            self.assertLess(port, low)

    def test_a_handed_out_port_is_reserved_against_other_processes(self):
        port = procs.free_port()
        path = os.path.join(procs.PORT_RESERVATION_DIR, str(port))
        # Another process (as tests/support/child_process.cpp would) cannot take the lock.
        code = ("import fcntl, os, sys\n"
                f"fd = os.open({path!r}, os.O_RDONLY)\n"
                "try:\n"
                "    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
                "except OSError:\n"
                "    sys.exit(3)\n"
                "sys.exit(0)\n")
        result = subprocess.run([sys.executable, "-c", code], timeout=30)
        self.assertEqual(result.returncode, 3, f"port {port} was not reserved")


if __name__ == "__main__":
    unittest.main(verbosity=2)
