#!/usr/bin/env bash
# The README's first command: a local three-node custos cluster that fails over when its
# primary dies.
#
#   bash scripts/demo.sh                 installs what is missing, builds, starts etcd and three
#                                        custos nodes (PostgreSQL 15) on 127.0.0.1 in a temp dir,
#                                        prints `custosctl list`, kills the primary (agent and
#                                        postmaster, kill -9), prints the list again once a new
#                                        primary is up, and keeps the cluster running until Ctrl-C
#   bash scripts/demo.sh --once          the same, but stops and cleans up after the failover
#   --build-dir DIR                      use (and only incrementally build) that build tree
#                                        instead of ./build
#   --keep                               leave the temp dir (configs, data, logs) behind
#
# Run as root, the servers run as the `postgres` user (PostgreSQL refuses root). Every process
# started here is stopped by PID on exit, Ctrl-C or error, and the temp dir is removed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ONCE=0
KEEP=0
BUILD_DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --once) ONCE=1 ;;
    --keep) KEEP=1 ;;
    --build-dir) BUILD_DIR=${2:?--build-dir needs a directory}; shift ;;
    --build-dir=*) BUILD_DIR=${1#--build-dir=} ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$BUILD_DIR" ] || BUILD_DIR="$ROOT/build"

# Timings of the demo cluster (bootstrap.dcs): a dead primary's lock expires after TTL seconds.
TTL=20
LOOP_WAIT=2
RETRY_TIMEOUT=3
SCOPE=demo
NODES=(node1 node2 node3)
PG_BIN=/usr/lib/postgresql/15/bin

if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD="" PLAIN=""; fi
say() { printf '\n%sdemo: %s%s\n' "$BOLD" "$*" "$PLAIN"; }
info() { printf 'demo: %s\n' "$*"; }
err() { printf 'demo: ERROR: %s\n' "$*" >&2; }

DEMO_DIR=""
ETCD_PID=""
declare -A AGENT_PID=()
declare -A API_PORT=()
declare -A PG_PORT=()

# ------------------------------------------------------------------ clean-up (always, by PID)
postmaster_pid_of() {  # pid from <data_dir>/postmaster.pid, if that process is alive
  local f="$DEMO_DIR/$1/data/postmaster.pid" pid
  [ -r "$f" ] || return 1
  pid=$(head -n 1 "$f" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  echo "$pid"
}

alive() {  # running and not a zombie
  local state
  state=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

wait_gone() {  # wait_gone SECONDS PID... : until none is alive
  local deadline=$((SECONDS + $1)) p any
  shift
  while :; do
    any=0
    for p in "$@"; do alive "$p" && any=1; done
    [ $any -eq 0 ] && return 0
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}

leftover_pids() {  # our processes still running in the demo dir (postmasters, backends, ...)
  local p cwd cmd
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = "$$" ] && continue
    cwd=$(readlink "/proc/$p/cwd" 2>/dev/null) || cwd=""
    cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || cmd=""
    if [[ "$cwd" == "$DEMO_DIR"/* || "$cmd" == *"$DEMO_DIR/"* ]] && alive "$p"; then echo "$p"; fi
  done
}

CLEANED=0
cleanup() {
  local rc=$?
  [ $CLEANED -eq 1 ] && return
  CLEANED=1
  trap - INT TERM
  [ -n "$DEMO_DIR" ] || exit $rc
  say "stopping the cluster"
  local n pids=() pms=()
  for n in "${!AGENT_PID[@]}"; do
    if alive "${AGENT_PID[$n]}"; then kill -TERM "${AGENT_PID[$n]}" 2>/dev/null && pids+=("${AGENT_PID[$n]}"); fi
  done
  if [ ${#pids[@]} -gt 0 ] && ! wait_gone 20 "${pids[@]}"; then
    info "agents still running after 20 s, killing them"
    kill -KILL "${pids[@]}" 2>/dev/null
  fi
  for n in "${NODES[@]}"; do
    local pm
    pm=$(postmaster_pid_of "$n") && pms+=("$pm")
  done
  if [ ${#pms[@]} -gt 0 ]; then
    kill -QUIT "${pms[@]}" 2>/dev/null
    wait_gone 5 "${pms[@]}" || kill -KILL "${pms[@]}" 2>/dev/null
  fi
  local left
  left=$(leftover_pids)
  if [ -n "$left" ]; then
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null
    # shellcheck disable=SC2086
    wait_gone 5 $left
  fi
  if [ -n "$ETCD_PID" ] && alive "$ETCD_PID"; then
    kill -TERM "$ETCD_PID" 2>/dev/null
    wait_gone 5 "$ETCD_PID" || kill -KILL "$ETCD_PID" 2>/dev/null
  fi
  if [ $KEEP -eq 1 ]; then
    info "kept $DEMO_DIR (configs, data directories, logs)"
  else
    rm -rf "$DEMO_DIR"
    info "removed $DEMO_DIR"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'echo; info "interrupted"; exit 130' INT
trap 'exit 143' TERM

show_logs() {  # the end of every log, for error messages
  local n
  for n in "${NODES[@]}"; do
    [ -f "$DEMO_DIR/$n/custos.log" ] || continue
    echo "----- $n: last 25 lines of $DEMO_DIR/$n/custos.log -----" >&2
    tail -n 25 "$DEMO_DIR/$n/custos.log" >&2
  done
  if [ -f "$DEMO_DIR/etcd.log" ]; then
    echo "----- etcd: last 10 lines of $DEMO_DIR/etcd.log -----" >&2
    tail -n 10 "$DEMO_DIR/etcd.log" >&2
  fi
}

fail() {
  err "$*"
  show_logs
  exit 1
}

# ------------------------------------------------------------------ 1. dependencies and build
say "installing what is missing (scripts/install-deps.sh)"
bash "$ROOT/scripts/install-deps.sh" || { err "install-deps.sh failed"; exit 1; }

say "building custos and custosctl in $BUILD_DIR"
BUILD_LOG=$(mktemp /tmp/custos-demo-build-XXXXXX.log)
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD_LOG" 2>&1 \
    || { tail -n 40 "$BUILD_LOG" >&2; rm -f "$BUILD_LOG"; err "cmake configure failed"; exit 1; }
fi
if ! cmake --build "$BUILD_DIR" --target custos custosctl -j"$(nproc)" >>"$BUILD_LOG" 2>&1; then
  grep -E "error|Error" "$BUILD_LOG" | head -n 30 >&2
  rm -f "$BUILD_LOG"
  err "build failed (cmake --build $BUILD_DIR --target custos custosctl)"
  exit 1
fi
rm -f "$BUILD_LOG"
CUSTOS_SRC="$BUILD_DIR/src/app/custos"
CUSTOSCTL_SRC="$BUILD_DIR/src/ctl/custosctl"
[ -x "$CUSTOS_SRC" ] || { err "no custos binary at $CUSTOS_SRC"; exit 1; }
[ -x "$CUSTOSCTL_SRC" ] || { err "no custosctl binary at $CUSTOSCTL_SRC"; exit 1; }
info "$("$CUSTOS_SRC" --version 2>&1 | head -n 1)"

# ------------------------------------------------------------------ 2. the temp dir and the user
DEMO_DIR=$(mktemp -d /tmp/custos-demo-XXXXXX) || { err "mktemp failed"; exit 1; }
RUN_AS=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || { err "running as root and there is no postgres user (install postgresql-15)"; exit 1; }
  # setpriv execs the command itself (no intermediate process), so $! is the server's own pid.
  RUN_AS=(setpriv --reuid=postgres --regid=postgres --init-groups --
          env HOME="$(getent passwd postgres | cut -d: -f6)" USER=postgres LOGNAME=postgres)
  chown postgres:postgres "$DEMO_DIR"
  info "running the servers as the postgres user"
fi
chmod 700 "$DEMO_DIR"
# The binaries are copied into the demo dir so that the postgres user can run them wherever the
# build tree lives.
mkdir -p "$DEMO_DIR/bin"
cp "$CUSTOS_SRC" "$CUSTOSCTL_SRC" "$DEMO_DIR/bin/"
CUSTOS="$DEMO_DIR/bin/custos"
CUSTOSCTL="$DEMO_DIR/bin/custosctl"

# A function would put a subshell between $! and the server: background commands expand
# "${RUN_AS[@]}" directly instead, so that $! is the server's pid.
as_server_user() { "${RUN_AS[@]}" "$@"; }

# Free 127.0.0.1 ports, picked as the test suite and the bench pick theirs
# (tests/support/child_process.cpp, bench/lib/procs.py):
# - below the kernel's ephemeral range, so that no outgoing connection (an agent's to etcd, a
#   replica's to its primary) takes a port between its pick and its server's bind;
# - reserved by an flock on /tmp/custos-test-ports/<port>, held by this shell (and the servers
#   it starts, which inherit the descriptor), so that tests running beside the demo never pick
#   it either;
# - not answering a connect now.
# Sets PORT.
PORT_RESERVATION_DIR=/tmp/custos-test-ports
EPHEMERAL_LOW=32768
read -r _low _ < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
if [[ "${_low:-}" =~ ^[0-9]+$ ]] && [ "$_low" -gt 12000 ]; then EPHEMERAL_LOW=$_low; fi
mkdir -p "$PORT_RESERVATION_DIR" 2>/dev/null && chmod 1777 "$PORT_RESERVATION_DIR" 2>/dev/null
# A folder that cannot be used (read-only /tmp, another owner's folder without write rights)
# leaves only the connect check, as in the tests and the bench.
RESERVE_PORTS=false
[ -d "$PORT_RESERVATION_DIR" ] && [ -w "$PORT_RESERVATION_DIR" ] && RESERVE_PORTS=true
USED_PORTS=" "
PORT=""
# True when this shell now holds the port's reservation (or reservations are off). The file is
# opened without creating it when it exists: with fs.protected_regular, O_CREAT on another
# user's file in a sticky directory fails; a file that cannot be opened counts as taken.
reserve_port() {
  $RESERVE_PORTS || return 0
  local path="$PORT_RESERVATION_DIR/$1" fd
  [ -e "$path" ] || : 2>/dev/null >>"$path"
  # The braces keep the 2>/dev/null to the open: on a bare `exec` it would last for the shell.
  { exec {fd}<"$path"; } 2>/dev/null || return 1
  if ! flock -n "$fd"; then
    exec {fd}<&-
    return 1
  fi
  return 0  # the descriptor stays open, and the lock held, until the demo exits
}
pick_port() {
  local p tries=0
  while [ $tries -lt 2000 ]; do
    p=$((EPHEMERAL_LOW - 12000 + RANDOM % 12000))
    tries=$((tries + 1))
    [[ "$USED_PORTS" == *" $p "* ]] && continue
    reserve_port "$p" || continue
    USED_PORTS+="$p "  # reserved by this shell now: never picked twice
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      PORT=$p
      return 0
    fi
  done
  err "no free port found below $EPHEMERAL_LOW"
  exit 1
}
pick_port; ETCD_PORT=$PORT
pick_port; ETCD_PEER_PORT=$PORT
for n in "${NODES[@]}"; do
  pick_port; API_PORT[$n]=$PORT
  pick_port; PG_PORT[$n]=$PORT
done

# ------------------------------------------------------------------ 3. etcd
say "starting etcd on 127.0.0.1:$ETCD_PORT"
mkdir -p "$DEMO_DIR/etcd"
chmod 700 "$DEMO_DIR/etcd"
[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$DEMO_DIR"
"${RUN_AS[@]}" /usr/bin/etcd --name demo-etcd --data-dir "$DEMO_DIR/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "demo-etcd=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
  --logger zap --log-level warn >"$DEMO_DIR/etcd.log" 2>&1 </dev/null &
ETCD_PID=$!
disown "$ETCD_PID"
deadline=$((SECONDS + 30))
until curl -fsS -m 2 "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'; do
  alive "$ETCD_PID" || fail "etcd exited during start-up"
  [ $SECONDS -lt $deadline ] || fail "etcd did not become healthy within 30 s"
  sleep 0.3
done
info "etcd is healthy (pid $ETCD_PID)"

# ------------------------------------------------------------------ 4. three custos nodes
write_config() {  # write_config NODE
  local n=$1 d="$DEMO_DIR/$1"
  mkdir -p "$d"
  cat >"$d/custos.yml" <<EOF
scope: $SCOPE
namespace: /service/
name: $n
restapi:
  listen: 127.0.0.1:${API_PORT[$n]}
  connect_address: 127.0.0.1:${API_PORT[$n]}
etcd3:
  hosts:
    - 127.0.0.1:$ETCD_PORT
bootstrap:
  dcs:
    ttl: $TTL
    loop_wait: $LOOP_WAIT
    retry_timeout: $RETRY_TIMEOUT
    maximum_lag_on_failover: 16777216
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: 'on'
        wal_log_hints: 'on'
        max_connections: 50
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 128MB
  initdb:
    - encoding: UTF8
    - data-checksums
postgresql:
  listen: 127.0.0.1:${PG_PORT[$n]}
  connect_address: 127.0.0.1:${PG_PORT[$n]}
  data_dir: $d/data
  bin_dir: $PG_BIN
  pgpass: $d/pgpass
  authentication:
    superuser:
      username: postgres
      password: demo-super-pw
    replication:
      username: replicator
      password: demo-repl-pw
    rewind:
      username: rewinder
      password: demo-rewind-pw
  parameters:
    unix_socket_directories: $d
    shared_buffers: 32MB
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 md5
    - host all all 127.0.0.1/32 md5
EOF
}

start_node() {  # start_node NODE
  local n=$1
  "${RUN_AS[@]}" "$CUSTOS" "$DEMO_DIR/$n/custos.yml" >>"$DEMO_DIR/$n/custos.log" 2>&1 </dev/null &
  AGENT_PID[$n]=$!
  disown "${AGENT_PID[$n]}"  # no "Killed" job notice from bash when the demo kills it
}

for n in "${NODES[@]}"; do write_config "$n"; done
[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$DEMO_DIR"
say "starting three custos nodes (ttl $TTL s, loop_wait $LOOP_WAIT s)"
for n in "${NODES[@]}"; do
  start_node "$n"
  info "$n: agent pid ${AGENT_PID[$n]}, REST http://127.0.0.1:${API_PORT[$n]}, PostgreSQL 127.0.0.1:${PG_PORT[$n]}, log $DEMO_DIR/$n/custos.log"
done

http_code() {  # http_code NODE PATH
  curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:${API_PORT[$1]}$2" 2>/dev/null || true
}

check_agents() {  # fails when an agent that should run has died
  local n
  for n in "$@"; do
    alive "${AGENT_PID[$n]}" || fail "the agent of $n (pid ${AGENT_PID[$n]}) exited"
  done
}

PRIMARY=""
wait_for_primary() {  # wait_for_primary SECONDS NODE...: until exactly one of NODEs answers /primary 200
  local deadline=$((SECONDS + $1)) n found
  shift
  while :; do
    check_agents "$@"
    found=()
    for n in "$@"; do [ "$(http_code "$n" /primary)" = 200 ] && found+=("$n"); done
    if [ ${#found[@]} -eq 1 ]; then
      PRIMARY=${found[0]}
      return 0
    fi
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.5
  done
}

wait_for_replicas() {  # wait_for_replicas SECONDS NODE...: until all NODEs answer /replica 200
  local deadline=$((SECONDS + $1)) n ok
  shift
  while :; do
    check_agents "$@"
    ok=1
    for n in "$@"; do [ "$(http_code "$n" /replica)" = 200 ] || ok=0; done
    [ $ok -eq 1 ] && return 0
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.5
  done
}

others() {  # others NODE: the nodes other than NODE
  local n
  for n in "${NODES[@]}"; do [ "$n" != "$1" ] && echo "$n"; done
}

print_list() {
  local out
  if out=$(as_server_user "$CUSTOSCTL" -c "$DEMO_DIR/${NODES[0]}/custos.yml" list 2>&1) && [ -n "$out" ]; then
    echo "$ custosctl -c $DEMO_DIR/${NODES[0]}/custos.yml list"
    echo "$out"
  else
    info "custosctl list is not available ($(echo "$out" | head -n 1)); the REST API's /cluster instead:"
    local n
    for n in "$@"; do
      if out=$(curl -fsS -m 3 "http://127.0.0.1:${API_PORT[$n]}/cluster" 2>/dev/null); then
        echo "$ curl http://127.0.0.1:${API_PORT[$n]}/cluster"
        if command -v python3 >/dev/null 2>&1; then echo "$out" | python3 -m json.tool; else echo "$out"; fi
        return 0
      fi
    done
    err "no node answered GET /cluster either"
  fi
}

T0=$SECONDS
wait_for_primary 180 "${NODES[@]}" || fail "no single primary within 180 s of the start"
info "$PRIMARY is the primary ($((SECONDS - T0)) s after the start)"
mapfile -t REPLICAS < <(others "$PRIMARY")
wait_for_replicas 180 "${REPLICAS[@]}" || fail "the replicas ${REPLICAS[*]} did not stream within 180 s"
info "${REPLICAS[*]} are streaming replicas ($((SECONDS - T0)) s after the start)"

say "the cluster"
print_list "${NODES[@]}"

# ------------------------------------------------------------------ 5. kill the primary
OLD=$PRIMARY
PM=$(postmaster_pid_of "$OLD") || PM=""
say "killing the primary $OLD: kill -9 of its agent (pid ${AGENT_PID[$OLD]}) and postmaster (pid ${PM:-?})"
kill -KILL "${AGENT_PID[$OLD]}" ${PM:+"$PM"} 2>/dev/null
T1=$SECONDS
START_NS=$(date +%s%N)
unset 'AGENT_PID[$OLD]'
wait_for_primary $((TTL + LOOP_WAIT + 60)) "${REPLICAS[@]}" \
  || fail "no new primary among ${REPLICAS[*]} within $((TTL + LOOP_WAIT + 60)) s of the kill"
ELAPSED_MS=$((($(date +%s%N) - START_NS) / 1000000))
info "$PRIMARY is the new primary, $((ELAPSED_MS / 1000)).$(printf '%03d' $((ELAPSED_MS % 1000))) s after the kill (the dead primary's lock expires after ttl = $TTL s)"
mapfile -t LEFT < <(others "$PRIMARY" | grep -vx "$OLD")
wait_for_replicas 60 "${LEFT[@]}" || fail "${LEFT[*]} did not stream from the new primary within 60 s"
info "${LEFT[*]} streams from $PRIMARY ($((SECONDS - T1)) s after the kill)"

say "the cluster after the failover ($OLD is gone; its member key expires with its ttl)"
print_list "${REPLICAS[@]}"

if [ $ONCE -eq 1 ]; then
  say "--once: done"
  exit 0
fi

say "the cluster keeps running; press Ctrl-C to stop it and clean up"
info "try: $CUSTOSCTL -c $DEMO_DIR/$PRIMARY/custos.yml list"
info "     curl -s http://127.0.0.1:${API_PORT[$PRIMARY]}/cluster"
info "     psql 'host=127.0.0.1 port=${PG_PORT[$PRIMARY]} user=postgres password=demo-super-pw dbname=postgres'"
info "logs: $DEMO_DIR/<node>/custos.log"
while :; do
  for n in "${REPLICAS[@]}"; do
    if ! alive "${AGENT_PID[$n]}"; then
      err "the agent of $n exited"
      show_logs
      exit 1
    fi
  done
  sleep 2
done
