"""A private etcd and clusters of three agents (custos or Patroni) on 127.0.0.1, each agent with
its own PostgreSQL 15, all from one identical Patroni-style YAML template. Everything started
here is stopped by PID in stop()."""

import base64
import tempfile
import json
import re
import os
import socket
import sys
import signal
import threading
import time
import urllib.error
import urllib.request

import psycopg2

from . import procs

PG_BIN = "/usr/lib/postgresql/15/bin"
SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "bench-super-pw"


class BenchError(RuntimeError):
    pass


def wait_until(what, timeout, probe, interval=0.05):
    """Calls probe() until it returns a truthy value; raises BenchError naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            v = probe()
            if v:
                return v
        except BenchError:
            raise  # the probe saw a definite failure
        except Exception as e:  # noqa: BLE001 - every other probe failure means "not yet"
            last_error = e
        time.sleep(interval)
    raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}" +
                     (f" (last error: {last_error})" if last_error else ""))


# ------------------------------------------------------------------------------------------------
class Etcd:
    """etcd for the agents: its v3 API (section `etcd3`), or with `v2` its v2 API (section
    `etcd`, etcd started with --enable-v2)."""

    def __init__(self, base_dir, v2=False):
        self.dir = tempfile.mkdtemp(prefix="etcd-", dir=base_dir)
        self.port = procs.free_port()
        self.peer_port = procs.free_port()
        self.proc = None
        self.v2 = v2

    @property
    def label(self):
        return "etcd v2" if self.v2 else "etcd v3"

    def section_yaml(self):
        return f"{'etcd' if self.v2 else 'etcd3'}:\n  hosts:\n    - {self.host_port}\n"

    def watch_key(self, key):
        return EtcdV2Watch(self, key) if self.v2 else KeyWatch(self, key)

    @property
    def host_port(self):
        return f"127.0.0.1:{self.port}"

    @property
    def url(self):
        return f"http://{self.host_port}"

    def start(self):
        peer = f"http://127.0.0.1:{self.peer_port}"
        argv = ["/usr/bin/etcd", "--name", "bench", "--data-dir", os.path.join(self.dir, "data"),
                "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", f"bench={peer}", "--initial-cluster-state", "new",
                "--logger", "zap", "--log-level", "warn"] + (["--enable-v2=true"] if self.v2 else [])
        self.proc = procs.spawn(argv, os.path.join(self.dir, "etcd.log"), as_postgres=False)
        wait_until("etcd to answer", 30, lambda: self._get("/health").get("health") == "true")

    def stop(self):
        procs.stop_popen(self.proc)

    def _get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=2) as r:
            return json.loads(r.read())

    def post(self, path, body, timeout=5):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def get_key(self, key):
        if self.v2:
            try:
                return self._get("/v2/keys" + key).get("node", {}).get("value")
            except urllib.error.HTTPError as e:
                if e.code == 404:
                    return None
                raise
        r = self.post("/v3/kv/range", {"key": base64.b64encode(key.encode()).decode()})
        kvs = r.get("kvs") or []
        return base64.b64decode(kvs[0]["value"]).decode() if kvs and "value" in kvs[0] else None

    def requests_by_method(self):
        """Requests so far by kind: v3, gRPC requests started by method (Range, Txn, Put,
        LeaseKeepAlive, Watch, ...: the JSON gateway forwards every HTTP call as one); v2, HTTP
        requests received by HTTP method."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as r:
            text = r.read().decode()
        prefix, label = ("etcd_http_received_total{", "method") if self.v2 else ("grpc_server_started_total{", "grpc_method")
        out = {}
        for line in text.splitlines():
            if not line.startswith(prefix):
                continue
            m = re.search(label + r'="([^"]*)"', line)
            name = m.group(1) if m else "?"
            out[name] = out.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
        return out

    def requests_total(self):
        return sum(self.requests_by_method().values())

    def pid(self):
        return self.proc.pid


class ZooKeeper:
    """Debian's ZooKeeper (one server, tickTime 1 s: session timeouts 2..120 s granted as asked)
    for the agents' `zookeeper` section; the bench reads keys through python3-kazoo."""

    label = "ZooKeeper"

    def __init__(self, base_dir):
        self.dir = tempfile.mkdtemp(prefix="zookeeper-", dir=base_dir)
        self.port = procs.free_port()
        self.proc = None
        self.client = None

    @property
    def host_port(self):
        return f"127.0.0.1:{self.port}"

    def section_yaml(self):
        return f"zookeeper:\n  hosts:\n    - {self.host_port}\n"

    def start(self):
        cfg = os.path.join(self.dir, "zoo.cfg")
        with open(cfg, "w") as f:
            f.write(f"tickTime=1000\ninitLimit=10\nsyncLimit=5\ndataDir={self.dir}/data\n"
                    f"clientPort={self.port}\nclientPortAddress=127.0.0.1\nmaxSessionTimeout=120000\n"
                    "admin.enableServer=false\n4lw.commands.whitelist=srvr,ruok\n")
        argv = ["/usr/bin/java", "-Xmx256m", f"-Dzookeeper.log.dir={self.dir}", "-cp",
                "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar",
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg]
        self.proc = procs.spawn(argv, os.path.join(self.dir, "zookeeper.log"), as_postgres=False)
        wait_until("ZooKeeper to serve", 60, lambda: "Mode:" in self._four_letters("srvr"))
        from kazoo.client import KazooClient  # python3-kazoo, as Patroni uses it
        self.client = KazooClient(self.host_port, timeout=10)
        self.client.start(timeout=20)

    def stop(self):
        if self.client is not None:
            try:
                self.client.stop()
                self.client.close()
            except Exception:  # noqa: BLE001
                pass
            self.client = None
        procs.stop_popen(self.proc)

    def _four_letters(self, word):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(word.encode())
                out = b""
                while True:
                    chunk = sock.recv(4096)
                    if not chunk:
                        return out.decode(errors="replace")
                    out += chunk
        except OSError:
            return ""

    def get_key(self, key):
        from kazoo.exceptions import NoNodeError
        try:
            return self.client.get(key)[0].decode()
        except NoNodeError:
            return None

    def requests_total(self):
        """Packets the server received so far (requests and session pings)."""
        for line in self._four_letters("srvr").splitlines():
            if line.startswith("Received:"):
                return float(line.split(":", 1)[1])
        raise BenchError("ZooKeeper srvr gave no Received count")

    def watch_key(self, key):
        return ZkDataWatch(self, key)

    def pid(self):
        return self.proc.pid


class _Events:
    """(monotonic time, "PUT"/"DELETE", value) of a key's changes, as KeyWatch records them."""

    def __init__(self):
        self.events = []

    def first(self, kind, after, value_not=None):
        for at, t, v in list(self.events):
            if at >= after and t == kind and (value_not is None or v != value_not):
                return at
        return None


class ZkDataWatch(_Events):
    """One-shot ZooKeeper watches on one znode, re-armed after each event (kazoo's DataWatch
    would re-read the node and hide a deletion followed at once by a new creation). A creation
    is recorded as a PUT without its value."""

    def __init__(self, store, key):
        super().__init__()
        self._client, self._key = store.client, key
        self._closed = False
        self._client.exists(key, watch=self._on_event)

    def _on_event(self, event):
        if self._closed:
            return
        kind = {"DELETED": "DELETE", "CREATED": "PUT", "CHANGED": "PUT"}.get(event.type)
        if kind:
            self.events.append((time.monotonic(), kind, None))
        self._client.exists_async(self._key, watch=self._on_event)  # no blocking call in a watcher

    def close(self):
        self._closed = True


class EtcdV2Watch(_Events):
    """Long polls (wait=true&waitIndex) on one key of etcd's v2 API in a thread."""

    def __init__(self, store, key):
        super().__init__()
        self._url = store.url + "/v2/keys" + key
        self._stop = threading.Event()
        try:
            with urllib.request.urlopen(self._url, timeout=2) as r:
                self._index = int(r.headers.get("X-Etcd-Index", "0")) + 1
        except urllib.error.HTTPError as e:
            self._index = int(e.headers.get("X-Etcd-Index", "0")) + 1
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                with urllib.request.urlopen(f"{self._url}?wait=true&waitIndex={self._index}", timeout=1) as r:
                    msg = json.loads(r.read())
            except Exception:  # noqa: BLE001 - a quiet second (timeout) or a hiccup: poll again
                continue
            at = time.monotonic()
            node = msg.get("node") or {}
            self._index = int(node.get("modifiedIndex", self._index)) + 1
            gone = msg.get("action") in ("delete", "expire", "compareAndDelete")
            self.events.append((at, "DELETE" if gone else "PUT", None if gone else node.get("value")))

    def close(self):
        self._stop.set()
        self._thread.join(timeout=3)


class KeyWatch:
    """Streams etcd watch events of one key and records (monotonic time, type, value). Speaks
    HTTP/1.0 on a raw socket with a short timeout so that close() never blocks on a read."""

    def __init__(self, etcd, key):
        self.events = []
        self._stop = threading.Event()
        self._started = threading.Event()
        body = json.dumps({"create_request": {"key": base64.b64encode(key.encode()).decode()}}).encode()
        self._sock = socket.create_connection(("127.0.0.1", etcd.port), timeout=5)
        self._sock.sendall(b"POST /v3/watch HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        wait_until("the etcd watch to start", 10, self._started.is_set)

    def _run(self):
        buf, in_body = b"", False
        while not self._stop.is_set():
            try:
                chunk = self._sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not chunk:
                return
            at = time.monotonic()
            buf += chunk
            if not in_body:
                if b"\r\n\r\n" not in buf:
                    continue
                _, buf = buf.split(b"\r\n\r\n", 1)
                in_body = True
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                self._parse(line, at)

    def _parse(self, line, at):
        try:
            msg = json.loads(line)
        except ValueError:
            return
        result = msg.get("result") or {}
        if result.get("created"):
            self._started.set()
        for ev in result.get("events") or []:
            kv = ev.get("kv") or {}
            value = base64.b64decode(kv["value"]).decode() if "value" in kv else None
            self.events.append((at, ev.get("type", "PUT"), value))

    def first(self, kind, after, value_not=None):
        for at, t, v in list(self.events):
            if at >= after and t == kind and (value_not is None or v != value_not):
                return at
        return None

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()


# ------------------------------------------------------------------------------------------------
class AgentKind:
    def __init__(self, name, argv_prefix):
        self.name = name
        self.argv_prefix = argv_prefix

    def argv(self, config_file):
        return self.argv_prefix + [config_file]


def custos_kind(build_dir):
    # Absolute: agents are started with their own node directory as the working directory.
    binary = os.path.abspath(os.path.join(build_dir, "src", "app", "custos"))
    if not os.access(binary, os.X_OK):
        raise BenchError(f"{binary} not found: build custos first (bench/run.sh does)")
    return AgentKind("custos", [binary])


def patroni_kind():
    if not os.access("/usr/bin/patroni", os.X_OK):
        raise BenchError("/usr/bin/patroni not found: apt-get install patroni (scripts/install-deps.sh)")
    return AgentKind("patroni", ["/usr/bin/python3", "/usr/bin/patroni"])


class Profile:
    """synchronous_mode: False, True or "quorum" (Patroni 4 quorum commit)."""

    def __init__(self, ttl, loop_wait, retry_timeout, synchronous_mode=False, primary_start_timeout=None):
        self.ttl, self.loop_wait, self.retry_timeout = ttl, loop_wait, retry_timeout
        self.synchronous_mode = synchronous_mode
        self.primary_start_timeout = primary_start_timeout  # None: the agents' default (300)

    def start_timeout_yaml(self):
        if self.primary_start_timeout is None:
            return ""
        return f"    primary_start_timeout: {self.primary_start_timeout}\n"

    def mode_name(self):
        return "quorum" if self.synchronous_mode == "quorum" else "sync" if self.synchronous_mode else "async"

    def yaml_mode(self):
        return "quorum" if self.synchronous_mode == "quorum" else "true" if self.synchronous_mode else "false"

    def label(self):
        extra = {"async": "", "sync": ", synchronous_mode", "quorum": ", synchronous_mode: quorum"}[self.mode_name()]
        if self.primary_start_timeout is not None:
            extra += f", primary_start_timeout {self.primary_start_timeout}"
        return f"ttl {self.ttl} / loop_wait {self.loop_wait} / retry_timeout {self.retry_timeout}" + extra


class Node:
    def __init__(self, cluster_dir, name):
        self.name = name
        self.api_port = procs.free_port()
        self.pg_port = procs.free_port()
        self.dir = os.path.join(cluster_dir, name)
        self.data_dir = os.path.join(self.dir, "data")
        self.config_file = os.path.join(self.dir, "agent.yml")
        self.log_file = os.path.join(self.dir, "agent.log")
        self.proc = None
        os.makedirs(self.dir, exist_ok=True)

    def agent_pid(self):
        return self.proc.pid if self.proc and self.proc.poll() is None else None

    def postmaster_pid(self):
        try:
            with open(os.path.join(self.data_dir, "postmaster.pid")) as f:
                pid = int(f.readline().strip())
            return pid if procs.pid_alive(pid) else None
        except (FileNotFoundError, ValueError, PermissionError):
            return None


class Cluster:
    """Three agents of one kind in one scope; `small` makes PostgreSQL lighter (scale runs)."""

    def __init__(self, kind, etcd, base_dir, scope, profile, nodes=3, small=False, citus_group=None,
                 holdable_start=False):
        """holdable_start: the agents run PostgreSQL through a wrapper of the `postgres` binary
        that can hold one server start of a node for a while (hold_next_start)."""
        self.kind, self.etcd, self.scope, self.profile, self.small = kind, etcd, scope, profile, small
        self.citus_group = citus_group
        self._stop_asked_at = None  # when signal_stop first sent SIGTERM (stop()'s grace)
        name = scope if citus_group is None else f"{scope}-g{citus_group}"
        self.dir = os.path.join(base_dir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.bin_dir = self._holding_bin_dir() if holdable_start else PG_BIN
        self.nodes = [Node(self.dir, f"{name}-n{i + 1}") for i in range(nodes)]
        for n in self.nodes:
            self._write_config(n)
        procs.chown_tree(self.dir)

    def _write_config(self, n):
        shared_buffers = "8MB" if self.small else "32MB"
        max_conn = 20 if self.small else 50
        yml = f"""# generated by bench/lib/cluster.py: identical for custos and Patroni
scope: {self.scope}
namespace: /service/
name: {n.name}
log:
  level: INFO
restapi:
  listen: 127.0.0.1:{n.api_port}
  connect_address: 127.0.0.1:{n.api_port}
{self.etcd.section_yaml()}{self._citus_yaml()}bootstrap:
  dcs:
    ttl: {self.profile.ttl}
    loop_wait: {self.profile.loop_wait}
    retry_timeout: {self.profile.retry_timeout}
    maximum_lag_on_failover: 1048576
    synchronous_mode: {self.profile.yaml_mode()}
{self.profile.start_timeout_yaml()}    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: 'on'
        wal_log_hints: 'on'
        max_connections: {max_conn}
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 128MB
  initdb:
    - encoding: UTF8
    - data-checksums
postgresql:
  listen: 127.0.0.1:{n.pg_port}
  connect_address: 127.0.0.1:{n.pg_port}
  data_dir: {n.data_dir}
  bin_dir: {self.bin_dir}
  pgpass: {n.dir}/pgpass
  authentication:
    superuser:
      username: {SUPERUSER}
      password: {SUPERUSER_PASSWORD}
    replication:
      username: replicator
      password: bench-repl-pw
    rewind:
      username: rewinder
      password: bench-rewind-pw
  parameters:
    unix_socket_directories: {n.dir}
    shared_buffers: {shared_buffers}
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 md5
    - host all all 127.0.0.1/32 md5
tags:
  nofailover: false
  noloadbalance: false
"""
        with open(n.config_file, "w") as f:
            f.write(yml)

    # The wrapper run as `postgres`: a server start (-D, not --single, --boot, --check, -C or a
    # version or help query) of a node whose data dir has a file HOLD_FILE beside it sleeps for
    # the seconds that file names (removing it first: one start only) before it becomes the
    # real postmaster, the same process: to its agent it is a PostgreSQL that is starting and
    # not ready, as during a long crash recovery. A stop signal during the hold ends it. While
    # it holds, HELD_FILE beside it names its pid and when the hold began (wall clock).
    HOLD_FILE = "hold-next-start"
    HELD_FILE = "start-held"
    _WRAPPER = """#!/bin/sh
# generated by bench/lib/cluster.py (Cluster._holding_bin_dir)
real={real}
data=
prev=
for a in "$@"; do
  case "$a" in
    --single|--boot|--check|-C|--describe-config|-V|--version|--help|-\\?) exec "$real" "$@" ;;
  esac
  [ "$prev" = "-D" ] && data=$a
  prev=$a
done
if [ -n "$data" ]; then
  node="$(dirname "$data")"
  if [ -f "$node/{hold}" ]; then
    secs=$(cat "$node/{hold}")
    rm -f "$node/{hold}"
    echo "$$ $(date +%s.%N)" > "$node/{held}"
    sleeper=
    trap '[ -n "$sleeper" ] && kill $sleeper 2>/dev/null; rm -f "$node/{held}"; exit 1' TERM INT QUIT
    sleep "$secs" &
    sleeper=$!
    wait $sleeper
    trap - TERM INT QUIT
    rm -f "$node/{held}"
  fi
fi
exec "$real" "$@"
"""

    def _holding_bin_dir(self):
        d = os.path.join(self.dir, "pgbin")
        os.makedirs(d, exist_ok=True)
        for name in os.listdir(PG_BIN):
            if name != "postgres":
                os.symlink(os.path.join(PG_BIN, name), os.path.join(d, name))
        wrapper = os.path.join(d, "postgres")
        with open(wrapper, "w") as f:
            f.write(self._WRAPPER.format(real=os.path.join(PG_BIN, "postgres"), hold=self.HOLD_FILE,
                                         held=self.HELD_FILE))
        os.chmod(wrapper, 0o755)
        return d

    def hold_next_start(self, i, seconds):
        """Node i's next PostgreSQL server start is held for `seconds` (holdable_start only)."""
        if self.bin_dir == PG_BIN:
            raise BenchError("hold_next_start needs a cluster made with holdable_start=True")
        try:  # a marker left by a hold that was killed outright must not be read as this one's
            os.unlink(os.path.join(self.nodes[i].dir, self.HELD_FILE))
        except FileNotFoundError:
            pass
        path = os.path.join(self.nodes[i].dir, self.HOLD_FILE)
        with open(path, "w") as f:
            f.write(f"{seconds}\n")
        os.chmod(path, 0o644)

    def clear_held_start(self, i):
        """Removes a hold not taken yet; True when there was one (no server start came)."""
        try:
            os.unlink(os.path.join(self.nodes[i].dir, self.HOLD_FILE))
            return True
        except FileNotFoundError:
            return False

    def held_start(self, i):
        """(pid, wall-clock time the hold began) of node i's held start, or None."""
        try:
            with open(os.path.join(self.nodes[i].dir, self.HELD_FILE)) as f:
                pid, began = f.read().split()
            return int(pid), float(began)
        except (FileNotFoundError, ValueError):
            return None

    def _end_held_starts(self):
        """A held start whose agent is gone would become a postmaster after the run: ended."""
        for i in range(len(self.nodes)):
            held = self.held_start(i)
            if held and procs.pid_alive(held[0]):
                procs.kill_pid(held[0], signal.SIGTERM)

    def _citus_yaml(self):
        # `postgres` as citus.database: Debian's Patroni 3.0.2 does not create the database.
        if self.citus_group is None:
            return ""
        return f"citus:\n  group: {self.citus_group}\n  database: postgres\n"

    def key(self, relative):
        group = "" if self.citus_group is None else f"{self.citus_group}/"
        return f"/service/{self.scope}/{group}{relative}"

    # ---- agents -------------------------------------------------------------------------------
    def start(self, i):
        n = self.nodes[i]
        n.proc = procs.spawn(self.kind.argv(n.config_file), n.log_file, cwd=n.dir)

    def start_all(self):
        for i in range(len(self.nodes)):
            self.start(i)

    def kill_node(self, i):
        """kill -9 of the agent and its postmaster back to back: a machine dying."""
        n = self.nodes[i]
        pm = n.postmaster_pid()
        children = procs.children_of(pm) if pm else []
        if n.proc:
            procs.kill_pid(n.proc.pid)
        if pm:
            procs.kill_pid(pm)
        if n.proc:
            n.proc.wait(timeout=10)
        if pm and not procs.wait_pid_gone(pm, 10):
            raise BenchError(f"postmaster {pm} of {n.name} survived SIGKILL")
        # The backends exit once they notice the postmaster is gone; until then the old shared
        # memory is in use and PostgreSQL would refuse to start again in that data dir.
        for c in children:
            if not procs.wait_pid_gone(c, 20):
                procs.kill_pid(c)

    def kill_postmaster(self, i):
        """kill -9 of node i's postmaster alone: PostgreSQL dies, the agent and the host live."""
        n = self.nodes[i]
        pm = n.postmaster_pid()
        if not pm:
            raise BenchError(f"{n.name} has no running postmaster to kill")
        procs.kill_pid(pm)
        if not procs.wait_pid_gone(pm, 10):
            raise BenchError(f"postmaster {pm} of {n.name} survived SIGKILL")

    STOP_GRACE_S = 20

    def signal_stop(self):
        """Asks every agent to stop, without waiting (stop() waits)."""
        if self._stop_asked_at is None:
            self._stop_asked_at = time.monotonic()
        for n in self.nodes:
            if n.proc and n.proc.poll() is None:
                n.proc.send_signal(signal.SIGTERM)

    def stop(self):
        self.signal_stop()
        # Read once: another thread stopping the same cluster may reset it when it is done.
        asked_at = self._stop_asked_at or time.monotonic()
        # The grace after SIGTERM is short: Debian's Patroni 3.0.2 often does not exit after a
        # switchover (its PostgreSQL stopped, it keeps asking its stopped peers for /patroni), and
        # a minute per cluster and section added a quarter of an hour to a run. A kill is noted.
        for n in self.nodes:
            # One grace for the whole cluster (and for every cluster signalled at once), counted
            # from the first SIGTERM.
            grace = max(1.0, asked_at + self.STOP_GRACE_S - time.monotonic())
            if procs.stop_popen(n.proc, timeout=grace):
                print(f"note: {self.kind.name} agent {n.name} did not exit within {self.STOP_GRACE_S} s "
                      "of SIGTERM; killed", file=sys.stderr, flush=True)
        self._end_held_starts()
        for n in self.nodes:  # PostgreSQL left behind (pause, kill -9 of an agent, ...)
            pm = n.postmaster_pid()
            if pm:
                procs.kill_pid(pm, signal.SIGQUIT)
                if not procs.wait_pid_gone(pm, 10):
                    procs.kill_pid(pm)
        self._stop_asked_at = None

    # ---- probes -------------------------------------------------------------------------------
    def connect(self, i, timeout=2):
        n = self.nodes[i]
        c = psycopg2.connect(host="127.0.0.1", port=n.pg_port, user=SUPERUSER, password=SUPERUSER_PASSWORD,
                             dbname="postgres", connect_timeout=timeout,
                             options="-c statement_timeout=5000")
        c.autocommit = True
        return c

    def sql(self, i, statement, params=None, timeout=2):
        c = self.connect(i, timeout)
        try:
            with c.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall() if cur.description else None
        finally:
            c.close()

    def is_primary(self, i):
        try:
            return self.sql(i, "SELECT NOT pg_is_in_recovery()")[0][0]
        except Exception:  # noqa: BLE001
            return None

    def rest(self, i, method, path, body=None, timeout=5):
        n = self.nodes[i]
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{n.api_port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read().decode(errors="replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")
        except Exception as e:  # noqa: BLE001
            return 0, str(e)

    def leader_name(self):
        return self.etcd.get_key(self.key("leader"))

    def leader_index(self):
        name = self.leader_name()
        for i, n in enumerate(self.nodes):
            if n.name == name:
                return i
        return None

    def streaming_from(self, primary):
        rows = self.sql(primary, "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'")
        return {r[0] for r in rows or []}

    def wait_primary(self, timeout):
        def probe():
            i = self.leader_index()
            if i is None or not self.is_primary(i):
                return None
            code, _ = self.rest(i, "GET", "/primary", timeout=2)
            return (i,) if code == 200 else None
        return wait_until(f"a primary in {self.scope}", timeout, probe, 0.1)[0]

    def wait_streaming(self, primary, timeout):
        want = {n.name for k, n in enumerate(self.nodes) if k != primary}
        return wait_until(f"{sorted(want)} streaming from {self.nodes[primary].name}", timeout,
                          lambda: want <= self.streaming_from(primary), 0.1)

    def wait_sync_standby(self, primary, timeout):
        """Until /sync names synchronous standbys that the primary reports as `sync` (`quorum` in
        quorum mode: then every other node, as the quorum commit settles with all streaming)."""
        quorum = self.profile.mode_name() == "quorum"

        def probe():
            raw = self.etcd.get_key(self.key("sync"))
            value = (json.loads(raw) or {}) if raw else {}
            names = {n.strip() for n in (value.get("sync_standby") or "").split(",") if n.strip()}
            if not names or value.get("leader") != self.nodes[primary].name:
                return False
            state = "quorum" if quorum else "sync"
            rows = self.sql(primary, f"SELECT application_name FROM pg_stat_replication WHERE sync_state = '{state}'")
            reported = {r[0] for r in rows or []}
            if quorum:
                return names == reported == {n.name for k, n in enumerate(self.nodes) if k != primary}
            return names <= reported
        return wait_until(f"a synchronous standby in {self.scope}", timeout, probe, 0.1)

    def agent_pids(self):
        return [n.agent_pid() for n in self.nodes]

    def log_tail(self, lines=40):
        out = []
        for n in self.nodes:
            try:
                with open(n.log_file, errors="replace") as f:
                    tail = f.readlines()[-lines:]
            except FileNotFoundError:
                tail = []
            out.append(f"---- {n.name} ({n.log_file})\n" + "".join(tail))
        return "\n".join(out)
