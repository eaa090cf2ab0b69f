#!/usr/bin/python3
"""custos benchmark suite: the same measurements against custos and Debian's Patroni, side by
side, in one invocation (bench/README.md). Prints a table and writes it as JSON."""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from typing import Callable, NamedTuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lib import measure, procs, report  # noqa: E402
from lib.cluster import BenchError, Cluster, Etcd, Profile, ZooKeeper, custos_kind, patroni_kind  # noqa: E402

DEFAULT = Profile(30, 10, 10)
FAST = Profile(10, 2, 4)
# Citus groups run in synchronous mode unless told otherwise (Patroni's default for Citus).
CITUS = Profile(10, 2, 4, True)


def say(line):
    """One line to stdout in one write (threads of a concurrent group print too)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Unit(NamedTuple):
    """One section of a concurrent group. `window`: an idle window the soak must not overlap
    with its memory samples (the PSS of a process depends on every process mapping the same
    pages, so the soak's first and last samples must see the same processes)."""
    name: str
    who: str
    fn: Callable[[], None]
    logs: Callable[[], list]
    window: bool = False


class Rendezvous:
    """The units of a concurrent group meet here once every one of them has bootstrapped its
    cluster, so that their idle windows start together and overlap nothing heavier than idle
    clusters and the soak's switchovers (a unit that failed arrives too)."""

    def __init__(self, units, closing):
        self._left = units
        self._closing = closing  # an Event: once set, waits end at once (False)
        self._cv = threading.Condition()

    def arrive(self):
        with self._cv:
            self._left -= 1
            self._cv.notify_all()

    def wait(self, timeout):
        """True once every unit has arrived; False after `timeout` or when the run closes."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._left > 0:
                left = deadline - time.monotonic()
                if left <= 0 or self._closing.is_set():
                    return False
                self._cv.wait(min(left, 1.0))
            return True


class Run:
    # How long a unit of a concurrent group waits for the others to bootstrap before it goes on.
    RENDEZVOUS_TIMEOUT_S = 1200

    def __init__(self, args):
        self.args = args
        self.rows = {}
        self.failures = []
        self.active = []  # clusters and etcds to stop, newest last (every thread's)
        self._every = []  # everything ever tracked: close() stops it all once more
        self.base = tempfile.mkdtemp(prefix="custos-bench-")
        os.chmod(self.base, 0o755)
        self._lock = threading.Lock()      # rows, active, failures
        self._tls = threading.local()      # per thread: the running section's things, next_id, ready hook
        # Clusters of a concurrent group bootstrap two at a time: ten initdbs and base backups
        # at once on 2 cores made Patroni 3.0.2's initialize requests time out.
        self._bootstrap_gate = threading.Semaphore(2)
        self._closing = threading.Event()  # set on interrupt: nothing new may start
        self._threads = []                 # the running concurrent group's threads

    # ---- bookkeeping ---------------------------------------------------------------------------
    @property
    def next_id(self):
        """The next writer row id of this thread (ids are unique per cluster's table, and a
        thread's clusters are used one after another)."""
        return getattr(self._tls, "next_id", 1)

    @next_id.setter
    def next_id(self, value):
        self._tls.next_id = value

    def row(self, section, metric, unit, target=None, note=""):
        key = (section, metric)
        with self._lock:
            if key not in self.rows:
                self.rows[key] = report.Row(section, metric, unit, target, note)
            return self.rows[key]

    def track(self, thing):
        """Registers a started (or starting) cluster or store: stopped when its section ends.
        Refused once the run is closing (a unit thread must not start what nobody will stop)."""
        with self._lock:
            if self._closing.is_set():
                raise BenchError("the run is being stopped")
            self.active.append(thing)
            self._every.append(thing)
        started = getattr(self._tls, "started", None)
        if started is not None:
            started.append(thing)
        return thing

    def _untrack(self, thing):
        with self._lock:
            if thing in self.active:
                self.active.remove(thing)
        started = getattr(self._tls, "started", None)
        if started is not None and thing in started:
            started.remove(thing)

    def etcd(self):
        e = self.track(Etcd(self.base))
        e.start()
        return e

    def cluster(self, kind, etcd, scope, profile, small=False, holdable_start=False):
        return self.track(Cluster(kind, etcd, self.base, scope, profile, small=small, holdable_start=holdable_start))

    def bootstrapped(self, kind, scope, profile, holder, store=None):
        """A private etcd (or `store`, started here) and a bootstrapped three-node cluster of
        `kind` (table prepared on the primary); the cluster goes into `holder` for the logs of a
        failed section. In a concurrent group, then waits until the group's other clusters are
        up too (ready())."""
        while not self._bootstrap_gate.acquire(timeout=1):
            if self._closing.is_set():
                raise BenchError("the run is being stopped")
        try:
            if store is None:
                etcd = self.etcd()
            else:
                etcd = self.track(store)
                store.start()
            c = self.cluster(kind, etcd, scope, profile)
            holder.append(c)
            primary, _ = measure.bootstrap(c, 180)
            measure.prepare_table(c, primary)
        finally:
            self._bootstrap_gate.release()
        self.ready()
        return etcd, c

    def ready(self):
        """Within a concurrent group: this unit's clusters are up; returns once every unit's are
        (bounded). Elsewhere: nothing."""
        hook = getattr(self._tls, "ready", None)
        if hook:
            hook()

    def window_done(self):
        """Within a concurrent group: this unit's idle window is over (see Unit.window)."""
        hook = getattr(self._tls, "window_done", None)
        if hook:
            hook()

    def wait_windows(self):
        """Within a concurrent group: returns once every idle window of the group is over
        (bounded). Elsewhere: at once."""
        hook = getattr(self._tls, "wait_windows", None)
        if hook:
            hook()

    def start_staggered(self, clusters, timeout, batch=5):
        """Starts `clusters` `batch` at a time, each batch's primaries elected and replicas
        streaming before the next starts (Debian's Patroni 3.0.2 did not bootstrap 17 of 50
        clusters started together on 2 cores); returns each cluster's primary index."""
        primaries = []
        for i in range(0, len(clusters), batch):
            group = clusters[i:i + batch]
            for c in group:
                c.start_all()
            firsts = [c.wait_primary(timeout) for c in group]
            for c, p in zip(group, firsts):
                c.wait_streaming(p, timeout)
            primaries.extend(firsts)
        return primaries

    def release(self, *things):
        # Every cluster asked to stop first: an agent that takes its time to stop (Patroni, its
        # peers gone) is waited for once, not once per cluster (50 clusters at the scale section).
        self._signal_all(things)
        for t in things:
            try:
                t.stop()
            finally:
                self._untrack(t)

    def _signal_all(self, things):
        """Asks every cluster among `things` to stop, so that the waits that follow overlap."""
        for t in things:
            if hasattr(t, "signal_stop"):
                try:
                    t.signal_stop()
                except Exception as e:  # noqa: BLE001
                    print(f"warning: cleanup of {t}: {e}", file=sys.stderr)

    def close(self):
        """Stops everything, also what unit threads of an interrupted concurrent group are
        still starting: nothing new may start, what runs is stopped, the threads are waited
        for (bounded), and whatever they started meanwhile is stopped too."""
        self._closing.set()
        self.stop_all()
        # A unit thread may be asleep in an idle window; it starts nothing new (track() refuses)
        # and dies with the process, but what it was starting when stop_all ran is caught below.
        deadline = time.monotonic() + 30
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self.stop_all()
        if self._threads:
            self._stop_each(list(self._every))  # stop() of what already stopped returns at once

    def stop_all(self):
        with self._lock:
            things = list(self.active)
            self.active.clear()
        self._stop_each(things)

    def _stop_each(self, things):
        """Asks every one of `things` to stop, then waits for each, newest first; a failure to
        stop one is a warning, and the others are still stopped. Untracks each."""
        self._signal_all(things)
        for t in reversed(things):
            try:
                t.stop()
            except Exception as e:  # noqa: BLE001
                print(f"warning: cleanup of {t}: {e}", file=sys.stderr)
            self._untrack(t)

    def fail(self, who, name, e, clusters):
        """Records one failed measurement with its error and the agents' log tails."""
        msg = f"{who}: {name}: {e}"
        self.note_failure(msg)
        print(f"FAILED {msg}", file=sys.stderr)
        if not isinstance(e, BenchError):
            traceback.print_exception(e)
        for c in clusters:
            try:
                print(c.log_tail(25), file=sys.stderr)
            except Exception as le:  # noqa: BLE001
                print(f"warning: log tail of {c}: {le}", file=sys.stderr)

    def note_failure(self, msg):
        with self._lock:
            self.failures.append(msg)

    def section(self, name, who, fn, clusters_for_logs):
        """Runs one section (`who`: the agent or agents measured); whatever it started is
        stopped afterwards, also when it fails."""
        say(f"== {who}: {name}")
        t0 = time.monotonic()
        outer = getattr(self._tls, "started", None)
        self._tls.started = []
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - one failed section must not hide the others
            self.fail(who, name, e, clusters_for_logs())
        finally:
            self._stop_each(list(self._tls.started))
            self._tls.started = outer
        say(f"   ({who}: {name}: {time.monotonic() - t0:.0f} s)")

    def concurrently(self, units):
        """Runs Units at the same time, one thread each. Only for what is not timed (idle
        windows, the soak): every unit bootstraps (two at a time) and waits for the others
        (ready()) before it measures; the soak takes its memory samples once every idle window
        is over (wait_windows()). Returns once every unit has ended."""
        if not units:
            return
        started = Rendezvous(len(units), self._closing)
        windows = Rendezvous(sum(1 for u in units if u.window), self._closing)
        limit = self.RENDEZVOUS_TIMEOUT_S

        def run_unit(u):
            state = {"arrived": False, "window_done": False}

            def ready():
                if not state["arrived"]:
                    state["arrived"] = True
                    started.arrive()
                    if not started.wait(limit):
                        if self._closing.is_set():
                            raise BenchError("the run is being stopped")
                        self.note_failure(f"{u.who}: {u.name}: the group's other clusters were not up after {limit} s "
                                          "(measured anyway, beside their bootstraps)")

            def window_done():
                if u.window and not state["window_done"]:
                    state["window_done"] = True
                    windows.arrive()

            def wait_windows():
                if not windows.wait(limit + self.args.idle_seconds):
                    if self._closing.is_set():
                        raise BenchError("the run is being stopped")
                    self.note_failure(f"{u.who}: {u.name}: the group's idle windows were not over after "
                                      f"{limit + self.args.idle_seconds:.0f} s (sampled anyway)")

            self._tls.ready, self._tls.window_done, self._tls.wait_windows = ready, window_done, wait_windows
            try:
                self.section(u.name, u.who, u.fn, u.logs)
            finally:
                if not state["arrived"]:
                    state["arrived"] = True
                    started.arrive()
                window_done()
                self._tls.ready = self._tls.window_done = self._tls.wait_windows = None

        self._threads = [threading.Thread(target=run_unit, args=(u,), name=f"{u.who}: {u.name}", daemon=True)
                         for u in units]
        for t in self._threads:
            t.start()
        for t in self._threads:
            t.join()
        self._threads = []

    @staticmethod
    def at_once(calls):
        """Calls every function of `calls` (name -> fn) in its own thread; name -> its result,
        or the exception it raised."""
        results = {}

        def call(name, fn):
            try:
                results[name] = fn()
            except Exception as e:  # noqa: BLE001 - handed back to the caller
                results[name] = e
        threads = [threading.Thread(target=call, args=(n, f), daemon=True) for n, f in calls.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    # ---- sections ------------------------------------------------------------------------------
    def main_cluster(self, kind):
        """Bootstrap, the agents' memory with this one cluster alone on the machine, REST load,
        switchovers: one cluster (the idle figures: idle_units)."""
        a = self.args
        holder = []

        def body():
            etcd = self.etcd()
            c = self.cluster(kind, etcd, f"{kind.name}-main", DEFAULT)
            holder.append(c)
            primary, b = measure.bootstrap(c, 180)
            self.row("bootstrap", "first primary", "s").add(kind.name, b["first_primary_s"])
            self.row("bootstrap", "primary + 2 streaming replicas", "s").add(kind.name, b["all_streaming_s"])
            measure.prepare_table(c, primary)
            # PSS shares library pages among every process that maps them, so the footprint is
            # taken here, where nothing but this cluster runs (the idle windows run as a group).
            time.sleep(a.settle_seconds)
            mem = measure.memory_detail([c])
            sec = f"footprint: one cluster alone, {a.settle_seconds:g} s after bootstrap, {DEFAULT.label()}"
            self.row(sec, "agent RSS (mean of 3)", "MiB").add(kind.name, mem["rss_mib"])
            self.row(sec, "agent private memory, RssAnon (mean of 3)", "MiB").add(kind.name, mem["rss_anon_mib"])
            self.row(sec, "agent PSS (mean of 3)", "MiB", ("le_ratio", 1 / 8)).add(kind.name, mem["pss_mib"])
            primary = c.wait_primary(30)
            for path in ("/primary", "/patroni"):
                r = measure.rest_load(c, primary, path, a.rest_seconds, 8)
                note = "wrk -t2 -c8" + (f"; {r['errors']} errors" if r["errors"] else "")
                self.row("rest api", f"GET {path} throughput", "req/s", ("ge_ratio", 10), note).add(kind.name, r["rps"])
                self.row("rest api", f"GET {path} p50", "ms").add(kind.name, r["p50_ms"])
                self.row("rest api", f"GET {path} p99", "ms", ("le_ratio", 1 / 10)).add(kind.name, r["p99_ms"])
            for _ in range(a.rounds):
                self.next_id, s = measure.switchover(c, self.next_id, 120)
                print(f"   switchover: {s}", flush=True)
                self.row("switchover", "candidate accepts writes", "s", ("le_ratio", 1 / 3)).add(
                    kind.name, s["candidate_writable_s"])
                self.row("switchover", "old primary streams again", "s").add(kind.name, s["old_primary_streaming_s"])
                self.row("switchover", "acknowledged rows lost", "rows").add(kind.name, s["lost_rows"])
            self.release(c, etcd)

        self.section("bootstrap, REST, switchover", kind.name, body, lambda: holder)

    # etcd v3 request kinds shown one by one in the idle sections (the rest: "other").
    REQUEST_KINDS = ("LeaseKeepAlive", "Txn", "Put", "Range", "Watch", "LeaseGrant", "DeleteRange", "LeaseRevoke")

    def idle_units(self, kind):
        """An idle three-node cluster at loop_wait 10 (Patroni's defaults) and at loop_wait 2: the
        agents' CPU and memory (RSS, private RssAnon, proportional PSS) and etcd's requests, in
        all and by kind, over --idle-seconds (5 minutes by default: /proc counts CPU in ticks of
        10 ms, which a short window of a mostly sleeping agent cannot resolve). Units of the
        concurrent group (each cluster has its own etcd; CPU is counted per process)."""
        a = self.args
        units = []
        for prof in ([FAST] if a.smoke else [DEFAULT, FAST]):
            holder = []

            def body(prof=prof, holder=holder):
                etcd, c = self.bootstrapped(kind, f"{kind.name}-idle-{prof.loop_wait}", prof, holder)
                idle = measure.idle([c], etcd, a.idle_seconds, settle=a.settle_seconds)
                self.window_done()
                sec = f"idle, {prof.label()}"
                self.row(sec, "agent CPU (mean of 3)", "s/min", ("le_ratio", 1 / 10)).add(
                    kind.name, idle["agent_cpu_s_per_min"])
                self.row(sec, "agent RSS (mean of 3)", "MiB").add(kind.name, idle["agent_rss_mib"])
                self.row(sec, "agent private memory, RssAnon (mean of 3)", "MiB").add(
                    kind.name, idle["agent_rss_anon_mib"])
                self.row(sec, "etcd requests (cluster)", "req/min", ("le_ratio", 1 / 2)).add(
                    kind.name, idle["etcd_requests_per_min"])
                by_kind = idle["etcd_requests_by_kind_per_min"]
                for k in self.REQUEST_KINDS:
                    self.row(sec, f"etcd requests: {k}", "req/min").add(kind.name, by_kind.get(k, 0.0))
                self.row(sec, "etcd requests: other", "req/min").add(
                    kind.name, sum(v for k, v in by_kind.items() if k not in self.REQUEST_KINDS))
                self.row(sec, "etcd CPU", "s/min").add(kind.name, idle["etcd_cpu_s_per_min"])
                self.release(c, etcd)

            units.append(Unit(f"idle ({prof.label()})", kind.name, body, lambda holder=holder: holder, window=True))
        return units

    def soak_unit(self, kind):
        """--soak-minutes of a switchover every minute (loop_wait 2 profile); every agent's RSS and
        PSS sampled after each minute: the growth from the first sample to the last, the largest
        of the three agents (a leak shows as steady growth). A unit of the concurrent group: it
        measures memory only, which the other units' load does not change."""
        a = self.args
        holder = []

        def body():
            etcd, c = self.bootstrapped(kind, f"{kind.name}-soak", FAST, holder)
            self.wait_windows()
            samples = []
            for minute in range(a.soak_minutes):
                started = time.monotonic()
                self.next_id, _ = measure.switchover(c, self.next_id, 120)
                time.sleep(max(0.0, 60 - (time.monotonic() - started)))
                samples.append(measure.memory_sample([c]))
                say(f"   {kind.name} soak minute {minute + 1}: " + ", ".join(
                    f"{pid}: RSS {r:.1f} PSS {p:.1f}" for pid, (r, p) in samples[-1].items()
                    if r is not None and p is not None))
            first, last = samples[0], samples[-1]
            pids = [p for p in first if p in last]
            if len(pids) != len(first):
                raise BenchError("an agent restarted during the soak")
            if any(None in first[p] or None in last[p] for p in pids):
                raise BenchError("an agent's RSS or PSS could not be read (/proc/PID/smaps_rollup)")

            def growth(i):
                return max(last[p][i] - first[p][i] for p in pids)

            sec = f"soak, {a.soak_minutes} min, a switchover every minute, {FAST.label()}"
            self.row(sec, "agent RSS growth, first to last minute (largest of 3)", "MiB", ("le_abs", 1)).add(
                kind.name, growth(0))
            self.row(sec, "agent PSS growth, first to last minute (largest of 3)", "MiB", ("le_abs", 1)).add(
                kind.name, growth(1))
            self.row(sec, "agent PSS at the end (mean of 3)", "MiB", ("le_ratio", 1 / 8)).add(
                kind.name, sum(last[p][1] for p in pids) / len(pids))
            self.release(c, etcd)

        return Unit(f"soak ({a.soak_minutes} min)", kind.name, body, lambda: holder)

    def failovers(self, kind):
        a = self.args
        profiles = [FAST] if a.smoke else [DEFAULT, FAST]
        modes = [False] if a.smoke else [False, True, "quorum"]
        for p in profiles:
            for sync in modes:
                prof = Profile(p.ttl, p.loop_wait, p.retry_timeout, sync)
                if sync == "quorum" and kind.name == "patroni":
                    # Debian's Patroni 3.0.2 reads synchronous_mode: quorum as off (quorum commit
                    # came with Patroni 4.0): its column stays empty, the sync rows compare.
                    print(f"== {kind.name}: failover ({prof.label()}): skipped, Patroni 3.0.2 has no quorum commit",
                          flush=True)
                    continue
                holder = []

                def body(prof=prof, holder=holder):
                    etcd, c = self.bootstrapped(kind, f"{kind.name}-fo-{prof.ttl}-{prof.mode_name()}", prof, holder)
                    label = prof.label()
                    for _ in range(a.rounds):
                        self.next_id, f = measure.failover(c, self.next_id, prof.ttl + prof.loop_wait + 120)
                        print(f"   failover: {f}", flush=True)
                        self.row(f"failover, {label}", "another node accepts writes after kill -9", "s",
                                 ("le_ratio", 1)).add(kind.name, f["failover_s"])
                        self.row(f"failover, {label}", "lock expired after kill -9 (effective ttl)", "s").add(
                            kind.name, f["lock_expired_after_kill_s"])
                        self.row(f"failover, {label}", "reaction after the lock expired", "ms",
                                 ("lt_abs", 300)).add(kind.name, None if f["reaction_s"] is None else f["reaction_s"] * 1000)
                        self.row(f"failover, {label}", "acknowledged rows lost", "rows",
                                 ("eq_abs", 0) if prof.synchronous_mode else None).add(kind.name, f["lost_rows"])
                        self.row(f"failover, {label}", "old primary streams again after restart", "s").add(
                            kind.name, f["old_primary_rejoined_s"])
                    self.release(c, etcd)

                self.section(f"failover ({prof.label()})", kind.name, body, lambda holder=holder: holder)

    def postmaster_deaths(self, kind):
        """Failover where the host survives: kill -9 of the primary's postmaster alone, with
        primary_start_timeout 0 (fail over instead of restarting), at loop_wait 10 and 2."""
        a = self.args
        for p in ([FAST] if a.smoke else [DEFAULT, FAST]):
            prof = Profile(p.ttl, p.loop_wait, p.retry_timeout, primary_start_timeout=0)
            holder = []

            def body(prof=prof, holder=holder):
                etcd, c = self.bootstrapped(kind, f"{kind.name}-pmdeath-{prof.loop_wait}", prof, holder)
                sec = f"postmaster killed, agent alive, {prof.label()}"
                for _ in range(a.rounds):
                    self.next_id, f = measure.postmaster_death(c, self.next_id, prof.ttl + prof.loop_wait + 60)
                    print(f"   postmaster death: {f}", flush=True)
                    self.row(sec, "another node accepts writes after kill -9 of the postmaster", "s",
                             ("lt_abs", 1)).add(kind.name, f["writable_s"])
                    self.row(sec, "lock released after the kill", "s").add(kind.name, f["lock_released_s"])
                    self.row(sec, "acknowledged rows lost", "rows").add(kind.name, f["lost_rows"])
                self.release(c, etcd)

            self.section(f"postmaster death ({prof.label()})", kind.name, body, lambda holder=holder: holder)

    def start_timeouts(self, kind):
        """A primary whose PostgreSQL cannot be restarted within primary_start_timeout (5 s): its
        postmaster killed alone, the restart held; the lock should go the moment the timeout is
        up (custos: a timer; Patroni: its next cycle), at loop_wait 10 and 2."""
        a = self.args
        for p in ([FAST] if a.smoke else [DEFAULT, FAST]):
            prof = Profile(p.ttl, p.loop_wait, p.retry_timeout, primary_start_timeout=5)
            holder = []

            def body(prof=prof, holder=holder):
                etcd = self.etcd()
                c = self.cluster(kind, etcd, f"{kind.name}-pst-{prof.loop_wait}", prof, holdable_start=True)
                holder.append(c)
                primary, _ = measure.bootstrap(c, 180)
                measure.prepare_table(c, primary)
                sec = f"restart held past primary_start_timeout, {prof.label()}"
                for _ in range(a.rounds):
                    self.next_id, f = measure.start_timeout(c, self.next_id, prof.primary_start_timeout + 60)
                    print(f"   start timeout: {f}", flush=True)
                    self.row(sec, "lock released after the kill", "s").add(kind.name, f["lock_released_s"])
                    self.row(sec, "lock released after kill + primary_start_timeout", "s",
                             ("lt_abs", 0.5)).add(kind.name, f["released_after_timeout_s"])
                    self.row(sec, "lock released after the held start began + primary_start_timeout", "s").add(
                        kind.name, f["released_after_held_start_timeout_s"])
                    self.row(sec, "another node accepts writes after the kill", "s").add(kind.name, f["writable_s"])
                    self.row(sec, "acknowledged rows lost", "rows").add(kind.name, f["lost_rows"])
                self.release(c, etcd)

            self.section(f"start timeout ({prof.label()})", kind.name, body, lambda holder=holder: holder)

    def citus(self, kind):
        """A Citus coordinator (one node) and a worker group (two nodes) on one etcd; the worker
        group switches over while a client writes through the coordinator."""
        a = self.args
        if not os.path.exists("/usr/lib/postgresql/15/lib/citus.so"):
            print(f"== {kind.name}: citus: skipped, Citus is not installed (../shared/citus/install.sh)", flush=True)
            return
        holder = []

        def body():
            etcd = self.etcd()
            scope = f"{kind.name}-citus"
            coordinator = Cluster(kind, etcd, self.base, scope, CITUS, nodes=1, citus_group=0)
            worker = Cluster(kind, etcd, self.base, scope, CITUS, nodes=2, citus_group=1)
            for c in (coordinator, worker):
                self.track(c)
                holder.append(c)
                c.start_all()
            c0 = coordinator.wait_primary(180)
            w = worker.wait_primary(180)
            worker.wait_streaming(w, 180)
            measure.prepare_distributed_table(coordinator, c0, worker)
            for _ in range(a.rounds):
                s = measure.citus_switchover(coordinator, worker, 120)
                print(f"   citus worker switchover: {s}", flush=True)
                section = f"citus worker switchover, {CITUS.label()}"
                self.row(section, "longest wait of one INSERT through the coordinator", "s").add(
                    kind.name, s["longest_statement_s"])
                self.row(section, "failed statements", "statements", ("eq_abs", 0)).add(
                    kind.name, s["failed_statements"])
                self.row(section, "until pg_dist_node names the new primary", "s").add(kind.name, s["registered_s"])
            self.release(worker, coordinator, etcd)

        self.section("citus worker switchover", kind.name, body, lambda: holder)

    BACKEND_STORES = ((lambda base: Etcd(base, v2=True)), (lambda base: ZooKeeper(base)))

    @staticmethod
    def _backend_section(store):
        return f"{store.label}, {FAST.label()}"

    def backend_idle_units(self, kind):
        """The idle figures on etcd's v2 API and on ZooKeeper (etcd v3: the idle section), one
        cluster per store in the ttl 10 profile: units of the concurrent group."""
        a = self.args
        units = []
        for make_store in self.BACKEND_STORES:
            holder = []
            store = make_store(self.base)

            def body(store=store, holder=holder):
                section = self._backend_section(store)
                _, c = self.bootstrapped(kind, f"{kind.name}-{store.label.replace(' ', '')}-idle", FAST, holder,
                                         store=store)
                idle = measure.idle([c], store, a.idle_seconds, settle=a.settle_seconds)
                self.window_done()
                self.row(section, "agent RSS (mean of 3)", "MiB").add(kind.name, idle["agent_rss_mib"])
                self.row(section, "agent CPU while idle (mean of 3)", "s/min", ("le_ratio", 1 / 10)).add(
                    kind.name, idle["agent_cpu_s_per_min"])
                what = "HTTP requests" if isinstance(store, Etcd) else "packets received (requests and pings)"
                self.row(section, f"store load while idle: {what}", "/min", ("le_ratio", 1)).add(
                    kind.name, idle["etcd_requests_per_min"])
                self.release(c, store)

            units.append(Unit(f"{store.label} (idle)", kind.name, body, lambda holder=holder: holder, window=True))
        return units

    def backends(self, kind):
        """The bootstrap, switchover and failover figures on etcd's v2 API and on ZooKeeper (etcd
        v3: the main and failover sections), one cluster per store in the ttl 10 profile; their
        idle figures come from backend_idle_units."""
        a = self.args
        for make_store in self.BACKEND_STORES:
            holder = []
            store = make_store(self.base)

            def body(store=store, holder=holder):
                self.track(store)
                store.start()
                section = self._backend_section(store)
                c = self.cluster(kind, store, f"{kind.name}-{store.label.replace(' ', '')}", FAST)
                holder.append(c)
                primary, b = measure.bootstrap(c, 180)
                self.row(section, "bootstrap: primary + 2 streaming replicas", "s").add(kind.name, b["all_streaming_s"])
                measure.prepare_table(c, primary)
                for _ in range(a.rounds):
                    self.next_id, s = measure.switchover(c, self.next_id, 120)
                    print(f"   switchover: {s}", flush=True)
                    self.row(section, "switchover: candidate accepts writes", "s", ("le_ratio", 1 / 3)).add(
                        kind.name, s["candidate_writable_s"])
                    self.row(section, "switchover: acknowledged rows lost", "rows").add(kind.name, s["lost_rows"])
                for _ in range(a.rounds):
                    self.next_id, f = measure.failover(c, self.next_id, FAST.ttl + FAST.loop_wait + 120)
                    print(f"   failover: {f}", flush=True)
                    self.row(section, "failover: another node accepts writes after kill -9", "s", ("le_ratio", 1)).add(
                        kind.name, f["failover_s"])
                    self.row(section, "failover: lock gone after kill -9 (effective ttl)", "s").add(
                        kind.name, f["lock_expired_after_kill_s"])
                    self.row(section, "failover: reaction after the lock was gone", "ms", ("lt_abs", 300)).add(
                        kind.name, None if f["reaction_s"] is None else f["reaction_s"] * 1000)
                self.release(c, store)

            self.section(f"{store.label} (bootstrap, switchover, failover)", kind.name, body,
                         lambda holder=holder: holder)

    def scale(self, kinds):
        """For each of --scale-levels (1, 10, 50): that many clusters of 3 agents (PostgreSQL with
        8 MB shared buffers) on one etcd per agent kind, ttl 10 / loop_wait 2 / retry_timeout 4,
        started five clusters at a time. The kinds' idle windows run together (each kind has its
        own etcd; CPU is counted per process): the idle figures per agent and for etcd. Then a
        switchover in each kind's first cluster, one kind after the other, timed while the other
        clusters of both kinds idle."""
        a = self.args
        who = "+".join(k.name for k in kinds)
        for level in a.scale_levels:
            holder = []
            name = f"scale ({level} clusters)"

            def body(level=level, holder=holder, name=name):
                sec = f"scale, {level} x 3 agents on one etcd, {FAST.label()}"
                up = {}  # kind name -> (kind, etcd, clusters)
                for kind in kinds:
                    started = []  # this kind's etcd and clusters, as they are made
                    try:
                        etcd = self.etcd()
                        started.append(etcd)
                        clusters = []
                        for k in range(level):
                            clusters.append(self.cluster(kind, etcd, f"{kind.name}-s{level}-{k + 1}", FAST, small=True))
                            started.append(clusters[-1])
                        holder.append(clusters[0])
                        self.start_staggered(clusters, 900)
                        # The first batch's primary may have changed while the others bootstrapped.
                        measure.prepare_table(clusters[0], clusters[0].wait_primary(60))
                        up[kind.name] = (kind, etcd, clusters)
                    except Exception as e:  # noqa: BLE001 - the other kind is still measured
                        self.fail(kind.name, name, e, [c for c in started[1:2]])
                        try:
                            self.release(*reversed(started))
                        except Exception as re:  # noqa: BLE001 - the section's cleanup stops the rest
                            print(f"warning: cleanup after {kind.name}'s failure: {re}", file=sys.stderr)
                idles = self.at_once({n: (lambda e=e, cs=cs: measure.idle(cs, e, a.idle_seconds,
                                                                          settle=a.settle_seconds))
                                      for n, (_, e, cs) in up.items()})
                for n, (kind, etcd, clusters) in up.items():
                    idle = idles[n]
                    if isinstance(idle, Exception):
                        self.fail(n, name, idle, clusters[:1])
                        continue
                    self.row(sec, "agent CPU while idle (mean)", "s/min", ("le_ratio", 1 / 10)).add(
                        n, idle["agent_cpu_s_per_min"])
                    self.row(sec, "agent RSS (mean)", "MiB").add(n, idle["agent_rss_mib"])
                    self.row(sec, "agent PSS (mean)", "MiB", ("le_ratio", 1 / 8)).add(n, idle["agent_pss_mib"])
                    self.row(sec, "etcd requests while idle (all)", "req/min", ("le_ratio", 1 / 2)).add(
                        n, idle["etcd_requests_per_min"])
                    self.row(sec, "etcd requests per agent", "req/min", ("le_ratio", 1 / 2)).add(
                        n, idle["etcd_requests_per_min"] / (3 * level))
                    self.row(sec, "etcd CPU while idle", "s/min").add(n, idle["etcd_cpu_s_per_min"])
                    self.row(sec, "etcd RSS", "MiB").add(n, idle["etcd_rss_mib"])
                for n, (kind, etcd, clusters) in up.items():
                    try:
                        self.next_id, sw = measure.switchover(clusters[0], self.next_id, 120)
                        print(f"   {n}: switchover in one of {level} clusters: {sw}", flush=True)
                        self.row(sec, "switchover in one cluster: candidate accepts writes", "s",
                                 ("le_ratio", 1 / 3)).add(n, sw["candidate_writable_s"])
                    except Exception as e:  # noqa: BLE001 - the other kind is still measured
                        self.fail(n, name, e, clusters[:1])
                self.release(*[c for (_, _, cs) in up.values() for c in cs], *[e for (_, e, _) in up.values()])

            self.section(name, who, body, lambda holder=holder: holder)


# The table's order of sections (by the start of their names); rows of one section keep the
# order they were made in. Sections of the concurrent group end in any order.
SECTION_ORDER = ("bootstrap", "footprint", "rest api", "switchover", "idle, ttl 30", "idle, ttl 10", "soak",
                 "failover, ttl 30", "failover, ttl 10", "postmaster killed", "restart held", "citus", "etcd v2",
                 "ZooKeeper", "scale")


def ordered_rows(rows):
    def rank(row):
        ranks = [i for i, prefix in enumerate(SECTION_ORDER) if row.section.startswith(prefix)]
        return ranks[0] if ranks else len(SECTION_ORDER)
    made = list(rows.values())
    return sorted(made, key=lambda r: (rank(r), made.index(r)))


def version_of(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except Exception as e:  # noqa: BLE001
        return f"unknown ({e})"


def machine_facts(kinds, build_dir):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (FileNotFoundError, StopIteration):
        pass
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    facts = {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kib / (1 << 20), 1),
             "kernel": platform.release(), "os": platform.freedesktop_os_release().get("PRETTY_NAME", "?"),
             "postgresql": version_of(["/usr/lib/postgresql/15/bin/postgres", "--version"]),
             "etcd": version_of(["/usr/bin/etcd", "--version"])}
    for k in kinds:
        if k.name == "custos":
            facts["custos"] = version_of([k.argv_prefix[0], "--version"])
        else:
            facts["patroni"] = version_of(["/usr/bin/python3", "/usr/bin/patroni", "--version"])
    return facts


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--agents", default="custos,patroni", help="comma-separated: custos, patroni")
    p.add_argument("--rounds", type=int, default=3, help="failover/switchover rounds per profile")
    p.add_argument("--idle-seconds", type=float, default=300)
    p.add_argument("--soak-minutes", type=int, default=30)
    p.add_argument("--settle-seconds", type=float, default=15)
    p.add_argument("--rest-seconds", type=int, default=10)
    p.add_argument("--scale-levels", default="1,10,50",
                   help="comma-separated numbers of 3-node clusters on one etcd for the scale section")
    p.add_argument("--scale-clusters", type=int, default=None, help="one scale level (the same as --scale-levels N)")
    p.add_argument("--skip", default="",
                   help="comma-separated sections to skip: main, idle, soak, failover, pmdeath, starttimeout, citus, "
                   "backends, scale")
    p.add_argument("--smoke", action="store_true",
                   help="one short round against custos only (what CI runs)")
    p.add_argument("--build-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
    p.add_argument("--json", default=None, help="where to write the JSON (default: bench/results/latest.json, "
                   "or <build-dir>/bench-smoke.json with --smoke)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs) afterwards")
    a = p.parse_args(argv)
    if a.smoke:
        a.agents, a.rounds, a.idle_seconds, a.settle_seconds, a.rest_seconds = "custos", 1, 5, 3, 2
        a.skip = ",".join(filter(None, [a.skip, "scale", "citus", "backends", "soak"]))
    try:
        a.scale_levels = ([a.scale_clusters] if a.scale_clusters is not None else
                          [int(x) for x in a.scale_levels.split(",") if x.strip()])
    except ValueError:
        p.error(f"--scale-levels must be comma-separated numbers, not {a.scale_levels!r}")
    if a.rounds < 1 or a.idle_seconds <= 0 or a.rest_seconds < 1 or a.soak_minutes < 2 or not a.scale_levels or \
            min(a.scale_levels) < 1:
        p.error("--rounds, --idle-seconds, --rest-seconds and the scale levels must be positive, --soak-minutes >= 2")
    agents = [x for x in a.agents.split(",") if x]
    bad = [x for x in agents if x not in ("custos", "patroni")]
    if bad:
        p.error(f"unknown agent(s) in --agents: {', '.join(bad)}")
    if not agents or len(set(agents)) != len(agents):
        p.error(f"--agents must name each agent once: {a.agents!r}")
    sections = ("main", "idle", "soak", "failover", "pmdeath", "starttimeout", "citus", "backends", "scale")
    bad = [x for x in a.skip.split(",") if x and x not in sections]
    if bad:
        p.error(f"unknown section(s) in --skip: {', '.join(bad)}")
    if a.json is None:
        a.json = (os.path.join(a.build_dir, "bench-smoke.json") if a.smoke else
                  os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "latest.json"))
    return a


def main(argv):
    a = parse_args(argv)
    try:
        kinds = [custos_kind(a.build_dir) if x == "custos" else patroni_kind() for x in a.agents.split(",")]
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    procs.init()
    run = Run(a)
    skip = set(a.skip.split(","))
    started = time.time()
    print(f"bench: temp dir {run.base}", flush=True)
    try:
        # Timed sections run alone, one agent after the other; what is not timed (the idle
        # windows and the soak, which measures memory) runs as one concurrent group.
        for k in kinds:
            if "main" not in skip:
                run.main_cluster(k)
        group = []
        for k in kinds:
            if "idle" not in skip:
                group.extend(run.idle_units(k))
            if "soak" not in skip:
                group.append(run.soak_unit(k))
            if "backends" not in skip:
                group.extend(run.backend_idle_units(k))
        run.concurrently(group)
        for k in kinds:
            if "failover" not in skip:
                run.failovers(k)
            if "pmdeath" not in skip:
                run.postmaster_deaths(k)
            if "starttimeout" not in skip:
                run.start_timeouts(k)
            if "citus" not in skip:
                run.citus(k)
            if "backends" not in skip:
                run.backends(k)
        if "scale" not in skip:
            run.scale(kinds)
    except KeyboardInterrupt:
        run.note_failure("interrupted")
    finally:
        run.close()
        if not a.keep and not run.failures:
            shutil.rmtree(run.base, ignore_errors=True)
        elif os.path.isdir(run.base):
            print(f"bench: logs kept in {run.base}", file=sys.stderr)
    agents = [k.name for k in kinds]
    rows = ordered_rows(run.rows)
    print()
    print(report.render(rows, agents))
    facts = machine_facts(kinds, a.build_dir)
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    report.write_json(a.json, facts, rows, {"agents": agents, "smoke": a.smoke, "started": started,
                                            "duration_s": time.time() - started, "failures": run.failures})
    print(f"\nmachine: {facts['cpu']}, {facts['cores']} cores, {facts['memory_gib']} GiB; written to {a.json}")
    missed = [f"{r.section}: {r.metric}" for r in rows if r.verdict() is False]
    if missed:
        print("targets missed: " + "; ".join(missed))
    for f in run.failures:
        print(f"FAILED: {f}", file=sys.stderr)
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
