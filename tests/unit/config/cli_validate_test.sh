#!/usr/bin/env bash
# End-to-end check of `custos --validate-config`: exit codes and output lines.
# Usage: cli_validate_test.sh <custos binary> <data dir>
set -u
custos="$1"
data="$2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A good file exits 0.
out=$("$custos" --validate-config "$data/cli_good.yml" 2>&1); rc=$?
echo "$out"
[ "$rc" -eq 0 ] || fail "good file: exit $rc, expected 0"
echo "$out" | grep -q "0 error(s)" || fail "good file: no final count"

# Warnings only still exit 0.
cp "$data/cli_good.yml" "$tmp/warn.yml"
printf 'unknown_top_level_key: 1\n' >> "$tmp/warn.yml"
out=$("$custos" --validate-config "$tmp/warn.yml" 2>&1); rc=$?
echo "$out"
[ "$rc" -eq 0 ] || fail "warnings only: exit $rc, expected 0"
echo "$out" | grep -q "^WARNING unknown_top_level_key: unknown key" || fail "warning line missing"

# A quoted boolean tag is read as Patroni reads it (any non-empty string is true) and named in a
# warning, not refused.
cp "$data/cli_good.yml" "$tmp/quoted.yml"
printf 'tags:\n  nofailover: "false"\n' >> "$tmp/quoted.yml"
out=$("$custos" --validate-config "$tmp/quoted.yml" 2>&1); rc=$?
echo "$out"
[ "$rc" -eq 0 ] || fail "quoted tag: exit $rc, expected 0"
echo "$out" | grep -q '^WARNING tags.nofailover: the string "false" is read as true' || fail "quoted tag warning missing"

# A bad file exits 1 and names every problem.
out=$("$custos" --validate-config "$data/cli_bad.yml" 2>&1); rc=$?
echo "$out"
[ "$rc" -eq 1 ] || fail "bad file: exit $rc, expected 1"
echo "$out" | grep -q "^ERROR  bootstrap.dcs.ttl: not an integer" || fail "ttl error line missing"
echo "$out" | grep -q "^ERROR  restapi.connect_address:" || fail "connect_address error missing"
echo "$out" | grep -q "^ERROR  bootstrap.initdb\[0\]:.*pgdata" || fail "initdb error missing"
echo "$out" | grep -qE "[1-9][0-9]* error\(s\)" || fail "final count missing"

# Broken YAML: an error with line and column, exit 1.
printf 'scope: s\nname: [broken\n' > "$tmp/broken.yml"
out=$("$custos" --validate-config "$tmp/broken.yml" 2>&1); rc=$?
echo "$out"
[ "$rc" -eq 1 ] || fail "broken yaml: exit $rc"
echo "$out" | grep -q "line [0-9]" || fail "broken yaml: no line number"

# Missing file: exit 1, no crash.
"$custos" --validate-config "$tmp/nonexistent.yml" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 1 ] || fail "missing file: exit $rc"

# --version still works; the agent refuses a configuration it cannot run with (or root) with
# a clear message and exit 1, without contacting anything.
"$custos" --version | grep -q "^custos " || fail "--version"
printf 'scope: only-a-scope\n' > "$tmp/incomplete.yml"
out=$(timeout 20 "$custos" "$tmp/incomplete.yml" 2>&1); rc=$?
[ "$rc" -eq 1 ] || fail "agent with an incomplete configuration: exit $rc, expected 1"
echo "$out" | grep -qE "name: required|run custos as the PostgreSQL OS user" || fail "agent error message missing: $out"
echo "PASS"
