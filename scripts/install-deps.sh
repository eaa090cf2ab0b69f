#!/usr/bin/env bash
# Installs everything custos needs to build and test on Debian 12, with apt-get only.
# Idempotent: packages already present are left alone, and apt-get update runs only when
# something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake g++ pkg-config git curl
  libpq-dev nlohmann-json3-dev libyaml-cpp-dev
  libboost-dev libboost-system-dev libssl-dev
  libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev googletest
  postgresql-15 etcd-server etcd-client openssl
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
# The postgresql package would start a system-wide cluster on 5432; we never use it.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
