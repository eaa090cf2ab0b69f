#!/usr/bin/env bash
# Clang's thread-safety analysis over every translation unit of the libraries and binaries in
# src/ (not the tests): -Wthread-safety -Werror with the project's own warnings, syntax only (no
# code generation, so it costs a fraction of a build). The locks, the fields they guard and the
# functions that need them are annotated (src/common/thread_annotations.h, docs/architecture.md).
#
#   bash scripts/check-thread-safety.sh [BUILD_DIR]     (default: build-tsa)
#
# Exit code 0 when every file passes; the failing files' diagnostics otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."

DIR=${1:-build-tsa}
JOBS=${JOBS:-$(nproc)}
CLANG=${CLANG:-clang++}
command -v "$CLANG" >/dev/null || { echo "check-thread-safety: $CLANG not found (apt-get install clang)"; exit 1; }

CXX="$CLANG" cmake -S . -B "$DIR" -DCMAKE_BUILD_TYPE=Debug -DCUSTOS_BUILD_TESTS=OFF \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$DIR.configure.log" 2>&1 \
  || { cat "$DIR.configure.log"; exit 1; }

# One small script per translation unit under src/: its compile command, turned into a
# syntax-only run with the analysis as an error.
logdir="$DIR/tsa-logs"
rm -rf "$logdir" && mkdir -p "$logdir"
/usr/bin/python3 - "$DIR/compile_commands.json" "$PWD/src/" "$logdir" <<'PY'
import json, os, shlex, sys
entries = json.load(open(sys.argv[1]))
n = 0
for e in entries:
    if not e["file"].startswith(sys.argv[2]):
        continue
    args = shlex.split(e["command"])
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        out.append(a)
    out[1:1] = ["-fsyntax-only", "-Wthread-safety", "-Werror"]
    n += 1
    with open(os.path.join(sys.argv[3], "tu%03d.sh" % n), "w") as f:
        f.write("cd " + shlex.quote(e["directory"]) + " && " + " ".join(shlex.quote(a) for a in out) + "\n")
PY
count=$(find "$logdir" -name 'tu*.sh' | wc -l)
[ "$count" -gt 0 ] || { echo "check-thread-safety: no translation units found"; exit 1; }
# A failing file leaves a .failed mark beside its log.
find "$logdir" -name 'tu*.sh' | sort | xargs -P "$JOBS" -n 1 sh -c 'sh "$0" >"${0%.sh}.log" 2>&1 || touch "${0%.sh}.failed"'

failed=$(find "$logdir" -name '*.failed' | wc -l)
if [ "$failed" -ne 0 ]; then
  for f in "$logdir"/*.failed; do cat "${f%.failed}.log"; done
  echo "check-thread-safety: $failed of $count translation units failed"
  exit 1
fi
echo "check-thread-safety: $count translation units pass -Wthread-safety -Werror"
