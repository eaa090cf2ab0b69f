#!/usr/bin/env bash
# Installs everything custos needs to build and test on Debian 12, with apt-get only.
# Idempotent: packages already present are left alone, and apt-get update runs only when
# something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake g++ pkg-config git curl
  # clang: the thread-safety analysis of scripts/check-thread-safety.sh (part of the test command)
  clang
  libpq-dev nlohmann-json3-dev libyaml-cpp-dev
  libboost-dev libboost-system-dev libssl-dev
  libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev googletest
  postgresql-15 etcd-server etcd-client openssl
  # The ZooKeeper backend (src/dcs/zookeeper) talks through the ZooKeeper project's C client;
  # its tests run Debian's ZooKeeper server (Java).
  libzookeeper-mt-dev zookeeper
  # Patroni 3.0.2 for the interoperability tests (tests/interop). Its etcd (v2 and v3) and
  # ZooKeeper support need python3-etcd and python3-kazoo, which the package only lists as
  # alternatives of several.
  patroni python3-etcd python3-kazoo
  # patronictl against etcd / REST over https (tests/acceptance): urllib3's pyOpenSSL backend
  # imports idna, which python3-urllib3 only suggests.
  python3-idna curl
  # The benchmark suite (bench/): its orchestration speaks SQL through psycopg2; wrk loads the REST API.
  python3-psycopg2 wrk
  # The fault suite (tests/faults): libfaketime moves one agent's wall clock.
  libfaketime
  # The pgBackRest end-to-end tests (tests/e2e/pgbackrest_e2e_test.cpp): bootstrap.method and
  # create_replica_methods with a real pgbackrest and a repository in the test's temp dir.
  pgbackrest
  # The tools operators put in front of Patroni (tests/ecosystem): HAProxy with the /primary and
  # /replica checks, vip-manager reading the leader key, pgbouncer in front of the primary; a
  # real Prometheus (and promtool) scraping /metrics.
  haproxy vip-manager pgbouncer prometheus
  # The status page (GET /ui) is tested in headless Chromium (tests/ecosystem/status_page_test.cpp).
  chromium
  # systemd readiness and watchdog notifications (sd_notify) of the agent under Type=notify.
  libsystemd-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The Citus build of ../shared/citus (the tests of the Citus support) was made against Debian
# 12's PostgreSQL 15.20 and does not load into an older 15.x: upgrade PostgreSQL (and libpq with
# it) when that folder is present and the installed server is older.
citus_dir="$(cd "$(dirname "$0")/.." && pwd)/../shared/citus"
citus_pg_minimum="15.20-0+deb12u1"
if [ -d "$citus_dir" ]; then
  installed="$(dpkg-query -W -f='${Version}' postgresql-15 2>/dev/null || true)"
  if [ -n "$installed" ] && dpkg --compare-versions "$installed" lt "$citus_pg_minimum"; then
    echo "install-deps: PostgreSQL $installed is older than the $citus_pg_minimum that ../shared/citus needs: upgrading"
    missing+=(postgresql-15 postgresql-client-15 libpq5 libpq-dev)
  fi
fi

# patroni/patronictl must run with Debian's python3 (another python3 may come first on PATH).
check_patroni() {
  local v
  v="$(/usr/bin/python3 /usr/bin/patroni --version 2>&1)" || { echo "install-deps: patroni does not run: $v" >&2; exit 1; }
  /usr/bin/python3 /usr/bin/patronictl version >/dev/null 2>&1 || { echo "install-deps: patronictl does not run" >&2; exit 1; }
  echo "install-deps: $v"
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  check_patroni
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
# The postgresql package would start a system-wide cluster on 5432 and the patroni package
# ships a patroni.service; we never use either. A temporary policy-rc.d tells invoke-rc.d /
# deb-systemd-invoke not to start any service during the installation (exit code 101 means
# "action forbidden"); an existing policy-rc.d is kept and restored.
POLICY=/usr/sbin/policy-rc.d
saved=""
if [ -e "$POLICY" ]; then
  saved="$(mktemp)"
  $SUDO cp -p "$POLICY" "$saved"
fi
restore_policy() {
  if [ -n "$saved" ]; then $SUDO mv -f "$saved" "$POLICY"; else $SUDO rm -f "$POLICY"; fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
$SUDO chmod 755 "$POLICY"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
check_patroni
