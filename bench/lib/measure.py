"""The measurements: each takes a running Cluster (or several) and returns plain figures."""

import re
import statistics
import subprocess
import threading
import time

import psycopg2

from . import procs
from .cluster import SUPERUSER, SUPERUSER_PASSWORD, BenchError, wait_until

TABLE_DDL = "CREATE TABLE IF NOT EXISTS bench_rows (id bigint PRIMARY KEY, at timestamptz DEFAULT now())"


class Writer:
    """Inserts one row per transaction, continuously, into whichever node accepts writes, and
    records every acknowledged row (id, node index, monotonic time of the acknowledgement)."""

    def __init__(self, cluster, first_id, deadline_s):
        self.cluster = cluster
        self.acked = []
        self._next = first_id
        self._stop = threading.Event()
        self._deadline = time.monotonic() + deadline_s
        self._thread = threading.Thread(target=self._run, name="writer", daemon=True)
        self._thread.start()

    def _connect(self, prefer):
        order = [prefer] + [k for k in range(len(self.cluster.nodes)) if k != prefer]
        for k in order:
            if k is None:
                continue
            try:
                c = self.cluster.connect(k, timeout=1)
                c.cursor().execute("SET statement_timeout = 0")  # a cancel would ack an unreplicated row
                with c.cursor() as cur:
                    cur.execute("SELECT pg_is_in_recovery()")
                    if not cur.fetchone()[0]:
                        return c, k
                c.close()
            except Exception:  # noqa: BLE001 - try the next node
                pass
        return None, None

    def _run(self):
        conn, node = None, None
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            if conn is None:
                conn, node = self._connect(node if node is not None else self.cluster.leader_index())
                if conn is None:
                    time.sleep(0.02)
                    continue
            try:
                with conn.cursor() as cur:
                    cur.execute("INSERT INTO bench_rows (id) VALUES (%s)", (self._next,))
                self.acked.append((self._next, node, time.monotonic()))
                self._next += 1
            except Exception:  # noqa: BLE001 - the node went away or was demoted
                try:
                    conn.close()
                except Exception:  # noqa: BLE001
                    pass
                conn = None
                self._next += 1  # never reuse an id whose fate is unknown
        if conn is not None:
            conn.close()

    def next_id(self):
        return self._next

    def first_ack(self, after, node_not=None, node=None):
        for rid, k, at in list(self.acked):
            if at >= after and (node_not is None or k != node_not) and (node is None or k == node):
                return at, k
        return None

    def count(self):
        return len(self.acked)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=30)

    def missing_on(self, node):
        ids = [rid for rid, _, _ in self.acked]
        if not ids:
            return 0
        found = self.cluster.sql(node, "SELECT count(*) FROM bench_rows WHERE id = ANY(%s)", (ids,), timeout=5)[0][0]
        return len(ids) - found


def prepare_table(cluster, primary):
    cluster.sql(primary, TABLE_DDL)


def bootstrap(cluster, timeout):
    t0 = time.monotonic()
    cluster.start_all()
    primary = cluster.wait_primary(timeout)
    first_primary_s = time.monotonic() - t0
    cluster.wait_streaming(primary, timeout - (time.monotonic() - t0))
    return primary, {"first_primary_s": first_primary_s, "all_streaming_s": time.monotonic() - t0}


class _KillUnderWrites:
    """What a kill under a running writer left behind: the writer (stopped), the leader key's
    watch (closed), when the kill happened, when and where the first row was acknowledged after
    it, and the old primary's name."""

    def __init__(self, writer, watch, t_kill, t_writable, new_primary, old):
        self.writer, self.watch, self.t_kill = writer, watch, t_kill
        self.t_writable, self.new_primary, self.old = t_writable, new_primary, old


def _kill_under_writes(cluster, primary, next_id, timeout, kill, while_waiting=None):
    """Starts a writer and a watch on the leader key, waits for 20 commits, calls kill(), and
    waits (bounded) until another node than `primary` acknowledges a row, calling
    while_waiting() at every probe (a measurement taken meanwhile)."""
    watch = cluster.etcd.watch_key(cluster.key("leader"))
    writer = Writer(cluster, next_id, timeout + 60)
    try:
        wait_until("the writer to commit on the primary", 20, lambda: writer.count() >= 20, 0.02)
        t_kill = time.monotonic()
        kill()
        def probe():
            if while_waiting:
                while_waiting()
            return writer.first_ack(t_kill, node_not=primary)

        t_writable, new_primary = wait_until("another node to accept writes", timeout, probe, 0.02)
        time.sleep(0.5)
    finally:
        writer.stop()
        watch.close()
    return _KillUnderWrites(writer, watch, t_kill, t_writable, new_primary, cluster.nodes[primary].name)


def failover(cluster, next_id, timeout):
    """kill -9 of the primary's agent and postmaster; the killed node is started again and must
    stream from the new primary before this returns."""
    primary = cluster.wait_primary(60)
    cluster.wait_streaming(primary, 120)
    if cluster.profile.synchronous_mode:
        # Without a synchronous standby (e.g. right after the previous round's rejoin) a
        # non-strict synchronous_mode commits asynchronously: wait until one is in place.
        cluster.wait_sync_standby(primary, 120)
    k = _kill_under_writes(cluster, primary, next_id, timeout, lambda: cluster.kill_node(primary))
    t_expired = k.watch.first("DELETE", k.t_kill)
    t_new_leader = k.watch.first("PUT", k.t_kill, value_not=k.old)
    lost = k.writer.missing_on(k.new_primary)
    t_restart = time.monotonic()
    cluster.start(primary)
    cluster.wait_streaming(k.new_primary, 180)
    return k.writer.next_id(), {
        "failover_s": k.t_writable - k.t_kill,
        "reaction_s": (k.t_writable - t_expired) if t_expired else None,
        "lock_expired_after_kill_s": (t_expired - k.t_kill) if t_expired else None,
        "new_leader_key_after_expiry_s": (t_new_leader - t_expired) if (t_expired and t_new_leader) else None,
        "acked_rows": k.writer.count(),
        "lost_rows": lost,
        "old_primary_rejoined_s": time.monotonic() - t_restart,
    }


def postmaster_death(cluster, next_id, timeout):
    """kill -9 of the primary's postmaster alone (its agent lives; primary_start_timeout 0 in the
    profile): seconds until the lock is released and until another node acknowledges a row; the
    old primary must then stream from the new one by itself (its agent rejoins it)."""
    primary = cluster.wait_primary(60)
    cluster.wait_streaming(primary, 120)
    k = _kill_under_writes(cluster, primary, next_id, timeout, lambda: cluster.kill_postmaster(primary))
    t_released = k.watch.first("DELETE", k.t_kill)
    lost = k.writer.missing_on(k.new_primary)
    wait_until(f"{k.old} to stream from {cluster.nodes[k.new_primary].name}", 180,
               lambda: k.old in cluster.streaming_from(k.new_primary), 0.2)
    return k.writer.next_id(), {
        "writable_s": k.t_writable - k.t_kill,
        "lock_released_s": (t_released - k.t_kill) if t_released else None,
        "lost_rows": lost,
    }


def start_timeout(cluster, next_id, timeout):
    """kill -9 of the primary's postmaster alone, its next start held (by the bench's wrapper of
    the `postgres` binary) well past the profile's primary_start_timeout: a PostgreSQL that
    cannot be restarted in time. Seconds from the kill until the leader key is deleted; how
    long after kill + primary_start_timeout that was (the agent's time to notice the death and
    start PostgreSQL included) and how long after the held start's own beginning +
    primary_start_timeout (the agent's timer alone); until another node acknowledges a row.
    The old primary must then stream from the new one by itself. The delete comes seconds
    before the lease could expire (ttl 20 or more), so it is the agent's release."""
    limit = cluster.profile.primary_start_timeout
    primary = cluster.wait_primary(60)
    cluster.wait_streaming(primary, 120)
    hold = limit + cluster.profile.loop_wait + 60
    held = {}

    def kill():
        cluster.hold_next_start(primary, hold)
        cluster.kill_postmaster(primary)

    def note_hold():
        h = cluster.held_start(primary)
        if h and "began" not in held:
            # The wrapper's wall-clock time on this process's monotonic clock.
            held["began"] = h[1] - time.time() + time.monotonic()
        return "began" in held

    try:
        k = _kill_under_writes(cluster, primary, next_id, timeout, kill, while_waiting=note_hold)
    finally:
        never_started = cluster.clear_held_start(primary)
    if never_started:
        raise BenchError(f"{cluster.nodes[primary].name}'s agent did not start PostgreSQL again after the kill")
    if "began" not in held:
        raise BenchError("the held start was not seen (start-held file)")
    t_released = k.watch.first("DELETE", k.t_kill)
    if t_released is None:
        raise BenchError("the leader key was not deleted after the start timeout")
    lost = k.writer.missing_on(k.new_primary)
    wait_until(f"{k.old} to stream from {cluster.nodes[k.new_primary].name}", 180,
               lambda: k.old in cluster.streaming_from(k.new_primary), 0.2)
    return k.writer.next_id(), {
        "lock_released_s": t_released - k.t_kill,
        "released_after_timeout_s": t_released - k.t_kill - limit,
        "released_after_held_start_timeout_s": t_released - held["began"] - limit,
        "writable_s": k.t_writable - k.t_kill,
        "lost_rows": lost,
    }


def switchover(cluster, next_id, timeout):
    primary = cluster.wait_primary(60)
    cluster.wait_streaming(primary, 120)
    candidate = next(k for k in range(len(cluster.nodes)) if k != primary)
    body = {"leader": cluster.nodes[primary].name, "candidate": cluster.nodes[candidate].name}
    writer = Writer(cluster, next_id, timeout + 60)
    reply = {}
    try:
        wait_until("the writer to commit on the primary", 20, lambda: writer.count() >= 20, 0.02)
        t0 = time.monotonic()

        def post():
            reply["answer"] = cluster.rest(primary, "POST", "/switchover", body, timeout=timeout)
            reply["at"] = time.monotonic()

        poster = threading.Thread(target=post, daemon=True)
        poster.start()

        def candidate_writable():
            answer = reply.get("answer")
            if answer and answer[0] != 200:
                raise BenchError(f"POST /switchover answered {answer[0]}: {answer[1].strip()[:200]}")
            return writer.first_ack(t0, node=candidate)

        t_writable, _ = wait_until(f"{body['candidate']} to accept writes", timeout, candidate_writable, 0.02)
        old_name = body["leader"]
        wait_until(f"{old_name} to stream from {body['candidate']}", timeout,
                   lambda: old_name in cluster.streaming_from(candidate), 0.05)
        t_streaming = time.monotonic()
        poster.join(timeout=timeout)
        time.sleep(0.3)
    finally:
        writer.stop()
    code, text = reply.get("answer", (0, "no reply"))
    if code != 200:
        raise BenchError(f"POST /switchover answered {code}: {text.strip()[:200]}")
    return writer.next_id(), {
        "candidate_writable_s": t_writable - t0,
        "old_primary_streaming_s": t_streaming - t0,
        "reply_s": reply["at"] - t0,
        "lost_rows": writer.missing_on(candidate),
    }


def idle(clusters, etcd, seconds, settle):
    """CPU seconds and memory (RSS, RssAnon, PSS) of every agent, and the store's requests (in
    all and, where the store tells, by kind), over `seconds` of idle."""
    time.sleep(settle)
    pids = [p for c in clusters for p in c.agent_pids()]
    if any(p is None for p in pids):
        raise BenchError("an agent is not running at the start of the idle window")
    by_method = getattr(etcd, "requests_by_method", None)

    def requests():
        """(total, by kind): one read of the store's counters (etcd: one /metrics fetch)."""
        if by_method:
            kinds = by_method()
            return sum(kinds.values()), kinds
        return etcd.requests_total(), {}

    cpu0 = {p: procs.cpu_seconds(p) for p in pids}
    etcd_cpu0 = procs.cpu_seconds(etcd.pid())
    req0, kinds0 = requests()
    t0 = time.monotonic()
    time.sleep(seconds)
    window = time.monotonic() - t0
    req1, kinds1 = requests()
    etcd_cpu1 = procs.cpu_seconds(etcd.pid())
    per_agent = []
    for p in pids:
        c1 = procs.cpu_seconds(p)
        if c1 is None:
            raise BenchError(f"agent pid {p} exited during the idle window")
        per_agent.append({"pid": p, "cpu_s_per_min": (c1 - cpu0[p]) * 60 / window, "rss_mib": procs.rss_mib(p),
                          "rss_anon_mib": procs.rss_anon_mib(p), "pss_mib": procs.pss_mib(p)})
    pss = [a["pss_mib"] for a in per_agent if a["pss_mib"] is not None]
    return {
        "window_s": window,
        "agents": per_agent,
        "agent_cpu_s_per_min": statistics.mean(a["cpu_s_per_min"] for a in per_agent),
        "agent_rss_mib": statistics.mean(a["rss_mib"] for a in per_agent),
        "agent_rss_anon_mib": statistics.mean(a["rss_anon_mib"] for a in per_agent),
        "agent_pss_mib": statistics.mean(pss) if len(pss) == len(per_agent) else None,
        "etcd_requests_per_min": (req1 - req0) * 60 / window,
        "etcd_requests_by_kind_per_min": {k: (v - kinds0.get(k, 0.0)) * 60 / window for k, v in kinds1.items()
                                          if v - kinds0.get(k, 0.0) > 0},
        "etcd_cpu_s_per_min": (etcd_cpu1 - etcd_cpu0) * 60 / window,
        "etcd_rss_mib": procs.rss_mib(etcd.pid()),
    }


def memory_detail(clusters):
    """The agents' memory now, mean over every agent of `clusters`: RSS, private RssAnon and
    proportional PSS (MiB)."""
    pids = [p for c in clusters for p in c.agent_pids()]
    if not pids or any(p is None for p in pids):
        raise BenchError("an agent is not running")
    figures = {"rss_mib": procs.rss_mib, "rss_anon_mib": procs.rss_anon_mib, "pss_mib": procs.pss_mib}
    out = {}
    for name, read in figures.items():
        values = [read(p) for p in pids]
        if any(v is None for v in values):
            raise BenchError(f"{name} of an agent could not be read from /proc")
        out[name] = statistics.mean(values)
    return out


def memory_sample(clusters):
    """RSS and PSS (MiB) of every agent now, by pid."""
    out = {}
    for c in clusters:
        for p in c.agent_pids():
            if p is not None:
                out[p] = (procs.rss_mib(p), procs.pss_mib(p))
    return out


_LAT = re.compile(r"^\s*(50|99)%\s+([\d.]+)(us|ms|s)\s*$")


def _ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def rest_load(cluster, node, path, seconds, connections):
    url = f"http://127.0.0.1:{cluster.nodes[node].api_port}{path}"
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise BenchError(f"wrk failed: {out.stderr.strip()}")
    rps = p50 = p99 = None
    errors = 0
    for line in out.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            rps = float(line.split()[1])
        m = _LAT.match(line)
        if m:
            if m.group(1) == "50":
                p50 = _ms(m.group(2), m.group(3))
            else:
                p99 = _ms(m.group(2), m.group(3))
        if "Non-2xx or 3xx responses:" in line:
            errors += int(line.split(":")[1])
        if line.strip().startswith("Socket errors:"):
            errors += sum(int(x) for x in re.findall(r"\d+", line))
    if rps is None or p50 is None or p99 is None:
        raise BenchError(f"cannot read wrk's output:\n{out.stdout}")
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "errors": errors}


def citus_switchover(coordinator, worker, timeout):
    """A worker group switches over while a client inserts through the coordinator every 10 ms
    on one connection: the longest time one INSERT took, how many failed, and how long until
    the coordinator's pg_dist_node names the new primary."""
    primary = worker.wait_primary(60)
    candidate = next(k for k in range(len(worker.nodes)) if k != primary)
    worker.wait_streaming(primary, 120)
    worker.wait_sync_standby(primary, 120)
    c = coordinator.wait_primary(60)

    def registered_port():
        return _registered_primary_port(coordinator, c, worker.citus_group)

    wait_until("the worker's primary in pg_dist_node", 60,
               lambda: registered_port() == worker.nodes[primary].pg_port, 0.1)
    stats = {"ok": 0, "failed": 0, "longest": 0.0, "error": ""}
    stop = threading.Event()

    def write():
        conn = psycopg2.connect(host="127.0.0.1", port=coordinator.nodes[c].pg_port, user=SUPERUSER,
                                password=SUPERUSER_PASSWORD, dbname="postgres", connect_timeout=5)
        conn.autocommit = True
        with conn.cursor() as cur:
            while not stop.is_set():
                t = time.monotonic()
                try:
                    cur.execute("INSERT INTO public.bench_d (v) VALUES ('x')")
                    stats["ok"] += 1
                except Exception as e:  # noqa: BLE001 - a failed statement is what is counted
                    stats["failed"] += 1
                    stats["error"] = stats["error"] or str(e).strip()[:200]
                stats["longest"] = max(stats["longest"], time.monotonic() - t)
                time.sleep(0.01)
        conn.close()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        wait_until("the client to write through the coordinator", 30, lambda: stats["ok"] >= 20, 0.02)
        t0 = time.monotonic()
        body = {"leader": worker.nodes[primary].name, "candidate": worker.nodes[candidate].name}
        code, text = worker.rest(primary, "POST", "/switchover", body, timeout=timeout)
        if code != 200:
            raise BenchError(f"POST /switchover answered {code}: {text.strip()[:200]}")
        wait_until("the coordinator to name the new primary", timeout,
                   lambda: registered_port() == worker.nodes[candidate].pg_port, 0.05)
        t_registered = time.monotonic() - t0
        before = stats["ok"]
        wait_until("writes after the switchover", 30, lambda: stats["ok"] >= before + 20, 0.02)
    finally:
        stop.set()
        writer.join(timeout=70)
    return {"longest_statement_s": stats["longest"], "failed_statements": stats["failed"],
            "registered_s": t_registered, "first_error": stats["error"]}


def _registered_primary_port(coordinator, c, group):
    rows = coordinator.sql(c, "SELECT nodeport FROM pg_catalog.pg_dist_node WHERE groupid = %s AND "
                              "noderole = 'primary' AND nodename NOT LIKE '%%-demoted'", (group,))
    return rows[0][0] if rows else None


def prepare_distributed_table(coordinator, primary, worker):
    w = worker.wait_primary(60)
    wait_until("the worker group in pg_dist_node", 60,
               lambda: _registered_primary_port(coordinator, primary, worker.citus_group) == worker.nodes[w].pg_port,
               0.1)
    coordinator.sql(primary, "CREATE TABLE public.bench_d (id bigserial PRIMARY KEY, v text)")
    coordinator.sql(primary, "SELECT create_distributed_table('public.bench_d', 'id')", timeout=30)
