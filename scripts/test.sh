#!/usr/bin/env bash
# The README's test command: installs what is missing, builds everything, runs every test
# (unit and real-server integration), and closes with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || { echo "install-deps failed"; echo "0 passed, 1 failed"; exit 1; }

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD_DIR.configure.log" 2>&1 \
  || { cat "$BUILD_DIR.configure.log"; echo "0 passed, 1 failed"; exit 1; }
if ! cmake --build "$BUILD_DIR" -j"$JOBS"; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

log=$(mktemp)
(cd "$BUILD_DIR" && ctest --output-on-failure -j"$JOBS" --timeout 900 "$@") 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# ctest's summary line: "NN% tests passed, F tests failed out of T".
summary=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -n 1)
rm -f "$log"
if [ -n "$summary" ]; then
  failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
  total=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$summary")
  echo "$((total - failed)) passed, ${failed} failed"
else
  echo "0 passed, 1 failed"
  [ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
