#!/usr/bin/env bash
# The README's test command: installs what is missing, builds everything as users build it
# (Release), runs clang's thread-safety analysis over src/, runs every test (unit and
# real-server integration; the long fault scenarios only with tests/faults/run.sh), and closes
# with "N passed, N failed" (the analysis counts as one).
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || { echo "install-deps failed"; echo "0 passed, 1 failed"; exit 1; }
# Citus is no Debian package: the tests of the Citus support use the build in ../shared/citus
# (idempotent); without that folder they are skipped, saying why.
if [ -f ../shared/citus/install.sh ]; then
  bash ../shared/citus/install.sh || { echo "citus install failed"; echo "0 passed, 1 failed"; exit 1; }
else
  echo "../shared/citus not found: the Citus tests will be skipped"
fi

BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-Release}
JOBS=${JOBS:-$(nproc)}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" "${launcher[@]}" >"$BUILD_DIR.configure.log" 2>&1 \
  || { cat "$BUILD_DIR.configure.log"; echo "0 passed, 1 failed"; exit 1; }
if ! cmake --build "$BUILD_DIR" -j"$JOBS"; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# Clang -Wthread-safety -Werror over src/ (scripts/check-thread-safety.sh): one more result.
tsa_passed=1
if [ "${SKIP_THREAD_SAFETY:-}" = "1" ]; then
  tsa_passed=skip
elif ! JOBS="$JOBS" bash scripts/check-thread-safety.sh "$BUILD_DIR-tsa"; then
  tsa_passed=0
fi

# Without arguments: every test but the long fault scenarios (label faults_full, run by
# tests/faults/run.sh); the short fault set (label faults) is part of it.
selection=("$@")
[ ${#selection[@]} -eq 0 ] && selection=(-LE faults_full)
# At most CUSTOS_TEST_CLUSTERS (default 2) end-to-end clusters at once, however many cores
# (each is an etcd, three PostgreSQL servers and three agents): the resource "clusters" that
# the e2e, interop and acceptance tests take one slot of (tests/e2e/CMakeLists.txt).
clusters=${CUSTOS_TEST_CLUSTERS:-2}
[[ "$clusters" =~ ^[1-9][0-9]*$ ]] || { echo "CUSTOS_TEST_CLUSTERS must be a positive integer, not '$clusters'"; echo "0 passed, 1 failed"; exit 1; }
spec="$BUILD_DIR/ctest-resources.json"
printf '{"version": {"major": 1, "minor": 0}, "local": [{"clusters": [{"id": "0", "slots": %d}]}]}\n' \
  "$clusters" >"$spec"
log=$(mktemp)
(cd "$BUILD_DIR" && ctest --output-on-failure -j"$JOBS" --timeout 900 --resource-spec-file "$PWD/ctest-resources.json" \
  "${selection[@]}") 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# ctest's summary line: "NN% tests passed, F tests failed out of T".
summary=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -n 1)
rm -f "$log"
if [ -n "$summary" ]; then
  failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
  total=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$summary")
  passed=$((total - failed))
  case "$tsa_passed" in
    1) passed=$((passed + 1)) ;;
    0) failed=$((failed + 1)); echo "thread-safety analysis failed (see above)"; [ "$rc" -ne 0 ] || rc=1 ;;
  esac
  echo "${passed} passed, ${failed} failed"
else
  echo "0 passed, 1 failed"
  [ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
