#!/usr/bin/env bash
# The whole fault suite (issue 12), and docs/reliability.md from its results:
#
#   bash tests/faults/run.sh [--build-dir DIR] [--no-doc]
#
# Builds what is missing (as scripts/test.sh does), runs every fault scenario (ctest labels
# `faults` and `faults_full`: a three-node cluster on a three-member etcd with TLS, faults made
# by TCP proxies, SIGSTOP/SIGKILL, stopped etcd members and libfaketime), collects each
# scenario's figures and writes them as the table of docs/reliability.md. Ends with
# "N passed, N failed". Takes about 20 minutes on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/../.."

BUILD_DIR=build
WRITE_DOC=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR=$2; shift 2 ;;
    --no-doc) WRITE_DOC=0; shift ;;
    *) echo "usage: bash tests/faults/run.sh [--build-dir DIR] [--no-doc]" >&2; exit 2 ;;
  esac
done

bash scripts/install-deps.sh || { echo "install-deps failed"; echo "0 passed, 1 failed"; exit 1; }
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" "${launcher[@]}" >"$BUILD_DIR.configure.log" 2>&1 \
  || { cat "$BUILD_DIR.configure.log"; echo "0 passed, 1 failed"; exit 1; }
cmake --build "$BUILD_DIR" -j"${JOBS:-$(nproc)}" --target test_faults custos custosctl \
  || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

results=$(mktemp)
chmod 666 "$results"  # the tests append to it as the postgres user when started as root
log=$(mktemp)
export CUSTOS_FAULTS_RESULTS="$results"
(cd "$BUILD_DIR" && ctest --output-on-failure -L 'faults|faults_full') 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

if [ "$WRITE_DOC" = 1 ] && [ -s "$results" ]; then
  /usr/bin/python3 tests/faults/reliability_table.py "$results" docs/reliability.md \
    && echo "run.sh: wrote docs/reliability.md from $(wc -l <"$results") scenario results"
fi

summary=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -n 1)
rm -f "$log" "$results"
if [ -n "$summary" ]; then
  failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
  total=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$summary")
  echo "$((total - failed)) passed, ${failed} failed"
else
  echo "0 passed, 1 failed"
  [ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
