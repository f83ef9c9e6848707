#!/usr/bin/env bash
# Installs the Debian packages that building, testing and linting vgpu-extender need.
#   scripts/deps.sh               install whatever is missing (uses sudo when not root)
#   scripts/deps.sh --check-only  exit 1 if something is missing, install nothing
set -euo pipefail
PKGS=(make gcc pkg-config libc6-dev libmicrohttpd-dev libcjson-dev libyaml-dev
      libcurl4-openssl-dev libcmocka-dev zlib1g-dev openssl ca-certificates curl)
[ "${WITH_LINT:-0}" = 1 ] && PKGS+=(clang-format clang-tidy cppcheck)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
[ "${1:-}" = --check-only ] && { echo "missing packages: ${missing[*]}" >&2; exit 1; }
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
