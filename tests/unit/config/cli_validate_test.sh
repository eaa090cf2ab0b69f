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

# --print: the configuration as YAML on stdout (the report on stderr), which validates again.
out=$("$custos" --validate-config --print -i "$data/cli_good.yml" 2>/dev/null); rc=$?
[ "$rc" -eq 0 ] || fail "--print: exit $rc"
echo "$out" > "$tmp/printed.yml"
grep -q "^scope: " "$tmp/printed.yml" || fail "--print: no YAML on stdout: $out"
"$custos" --validate-config -i "$tmp/printed.yml" >/dev/null 2>&1 || fail "--print output does not validate"
# ... and PATRONI_* variables are merged on top, as Patroni's --validate-config reads them.
out=$(PATRONI_SCOPE=from-env "$custos" --validate-config -p -i "$data/cli_good.yml" 2>/dev/null)
echo "$out" | grep -q "^scope: from-env" || fail "--print without the environment's scope: $out"
# --print with errors prints no YAML.
out=$("$custos" --validate-config --print "$data/cli_bad.yml" 2>/dev/null); rc=$?
[ "$rc" -eq 1 ] || fail "--print of a bad file: exit $rc"
[ -z "$out" ] || fail "--print of a bad file printed: $out"

# The --generate modes exclude each other and --validate-config: usage error, exit 2.
"$custos" --validate-config --generate-sample-config >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "--validate-config --generate-sample-config: exit $rc, expected 2"
"$custos" --no-such-option >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "unknown option: exit $rc, expected 2"

# --generate-sample-config writes a file (parent directories created) that validates once a
# DCS section is added (and, on a host whose name resolves to a loopback address, with the
# connect addresses given as PATRONI_* variables, which the sample takes in).
PATRONI_RESTAPI_CONNECT_ADDRESS=10.0.0.5:8008 PATRONI_POSTGRESQL_CONNECT_ADDRESS=10.0.0.5:5432 \
  "$custos" --generate-sample-config "$tmp/new/dir/sample.yml" || fail "--generate-sample-config: exit $?"
grep -q "connect_address: 10.0.0.5:5432" "$tmp/new/dir/sample.yml" || fail "sample: the environment is not merged in"
grep -q "^scope: '#FIXME'" "$tmp/new/dir/sample.yml" || fail "sample: no scope placeholder"
grep -q "^bootstrap:" "$tmp/new/dir/sample.yml" || fail "sample: no bootstrap section"
printf '\netcd3:\n  hosts: 127.0.0.1:2379\n' >> "$tmp/new/dir/sample.yml"
out=$("$custos" --validate-config -i "$tmp/new/dir/sample.yml" 2>&1); rc=$?
[ "$rc" -eq 0 ] || fail "the sample does not validate: $out"
# A postgres binary that cannot run is Patroni's error, exit 1.
out=$(PATRONI_POSTGRESQL_BIN_DIR=/nowhere "$custos" --generate-sample-config 2>&1); rc=$?
[ "$rc" -eq 1 ] || fail "sample without postgres: exit $rc"
echo "$out" | grep -q "^Failed to get postgres version" || fail "sample without postgres: $out"
# --generate-config without a server to read: exit 1 with the reason.
out=$(PGCONNECT_TIMEOUT=2 "$custos" --generate-config --dsn "host=127.0.0.1 port=1 user=postgres password=x" 2>&1); rc=$?
[ "$rc" -eq 1 ] || fail "--generate-config without a server: exit $rc"
echo "$out" | grep -q "^Failed to establish PostgreSQL connection" || fail "--generate-config: $out"
out=$("$custos" --generate-config --dsn "not a dsn" 2>&1); rc=$?
[ "$rc" -eq 1 ] || fail "--generate-config with a bad DSN: exit $rc"
echo "$out" | grep -q "^Failed to parse DSN string" || fail "bad DSN: $out"

# --version still works; the agent refuses a configuration it cannot run with (or root) with
# a clear message and exit 1, without contacting anything.
"$custos" --version | grep -q "^custos " || fail "--version"
printf 'scope: only-a-scope\n' > "$tmp/incomplete.yml"
out=$(timeout 20 "$custos" "$tmp/incomplete.yml" 2>&1); rc=$?
[ "$rc" -eq 1 ] || fail "agent with an incomplete configuration: exit $rc, expected 1"
echo "$out" | grep -qE "name: required|run custos as the PostgreSQL OS user" || fail "agent error message missing: $out"
echo "PASS"
