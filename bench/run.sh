#!/usr/bin/env bash
# The benchmark suite in one command (bench/README.md): installs what is missing, builds custos
# (Release), then runs bench/bench.py with the given options, e.g.
#   bash bench/run.sh              # custos and Patroni side by side, full suite
#   bash bench/run.sh --smoke      # one short round against custos only (what CI runs)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="${CUSTOS_BENCH_BUILD_DIR:-$root/build-bench}"

bash "$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCUSTOS_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target custos custosctl
exec /usr/bin/python3 "$here/bench.py" --build-dir "$build" "$@"
