#!/usr/bin/env bash
# The dashboard's browser test (make test): dashboard.cjs in Debian's
# headless chromium, through playwright-core from $VX_TOOLS/browser
# (scripts/tools.sh). Ends with "N passed, N failed" (scripts/run-tests.sh
# adds it to its total). Without chromium it fails under CI=true, and skips
# with a message elsewhere; a chromium that cannot start is a skip with the
# reason (dashboard.cjs).
set -u
cd "$(dirname "$0")/../.."
TOOLS=${VX_TOOLS:-build/tools}
export NODE_PATH=$TOOLS/browser/node_modules
export VX_BUILD=${VX_BUILD:-build}
export VX_CHROMIUM=${VX_CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}
if [ ! -x "$VX_CHROMIUM" ]; then
  if [ "${CI:-}" = true ]; then
    echo "browser test: no chromium (scripts/deps.sh installs it)"; echo "0 passed, 1 failed"; exit 1
  fi
  echo "SKIP browser test: no chromium (scripts/deps.sh installs it)"; echo "0 passed, 0 failed"; exit 0
fi
if ! bash scripts/tools.sh --check-only 2>/dev/null && ! bash scripts/tools.sh; then
  echo "browser test: cannot install playwright-core (scripts/tools.sh)"; echo "0 passed, 1 failed"; exit 1
fi
exec node tests/browser/dashboard.cjs
