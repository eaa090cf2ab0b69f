#!/usr/bin/env bash
# packaging/: the systemd unit passes systemd-analyze verify (when it is installed), and the bash
# completion of custosctl completes commands, options and values from the binary of this build.
# Usage: packaging_test.sh <custosctl binary> <packaging dir>
set -u
ctl="$1"
pkg="$2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir -p "$tmp/bin"
ln -s "$ctl" "$tmp/bin/custosctl"
export PATH="$tmp/bin:$PATH"
complete_words() {  # complete_words WORD... : what completion offers for the last word
  bash -c '
    source "$0"
    COMP_WORDS=("$@")
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    _custosctl
    echo "${COMPREPLY[*]}"' "$pkg/custosctl.bash-completion" "$@"
}
out=$(complete_words custosctl sw); [ "$out" = "switchover" ] || fail "custosctl sw -> '$out'"
out=$(complete_words custosctl de); [ "$out" = "demote-cluster" ] || fail "custosctl de -> '$out'"
out=$(complete_words custosctl reinit --fr); [ "$out" = "--from-leader" ] || fail "reinit --fr -> '$out'"
out=$(complete_words custosctl -c x.yml list -f j); [ "$out" = "json" ] || fail "list -f j -> '$out'"
out=$(complete_words custosctl query -r rep); [ "$out" = "replica" ] || fail "query -r rep -> '$out'"
out=$(complete_words custosctl --ins); [ "$out" = "--insecure" ] || fail "--ins -> '$out'"
# Every command custosctl --help lists is offered.
for c in $("$ctl" --help | awk '/^Subcommands:/ {s = 1; next} s && !NF {exit} s {print $1}'); do
  echo " $(complete_words custosctl "") " | grep -q " $c " || fail "command $c is not completed"
done

if command -v systemd-analyze >/dev/null 2>&1; then
  cp "$pkg/custos.service" "$tmp/custos.service"
  sed -i "s|/usr/bin/custos|/bin/true|" "$tmp/custos.service"
  out=$(systemd-analyze verify "$tmp/custos.service" 2>&1 | grep -v "network-online.target\|multi-user.target\|Failed to connect\|System has not been booted")
  [ -z "$out" ] || fail "systemd-analyze verify: $out"
  grep -q "^Type=notify$" "$pkg/custos.service" || fail "the unit is not Type=notify"
fi
echo "packaging OK"
