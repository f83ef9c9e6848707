#!/usr/bin/env bash
# Renders deploy/ from the chart: `helm template` with the default values
# (release vgpu-scheduler in kube-system, no test pod), one file per chart
# template, plus copies of the cluster examples in deploy/examples/.
#   scripts/manifests.sh [OUTDIR]   (default deploy; `make manifests`)
# `make chart-test` renders into a temporary OUTDIR and fails when deploy/
# differs, so the committed manifests never drift from the chart.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-deploy}
HELM=${HELM:-build/tools/helm-2.2.2/helm}
EXAMPLES=(vgpu-pod.yaml gpu-sharing-job.yaml queues.yaml queues-b2.yaml licensed-job.yaml)
[ -x "$HELM" ] || { echo "manifests.sh: no $HELM (run scripts/deps.sh)" >&2; exit 1; }
rendered=$("$HELM" template vgpu-scheduler charts/vgpu-extender --namespace kube-system --skip-tests)
mkdir -p "$OUT/examples"
rm -f "$OUT"/*.yaml "$OUT"/examples/*.yaml
# helm starts each document with "---" and "# Source: CHART/templates/FILE".
printf '%s\n' "$rendered" | awk -v out="$OUT" '
  /^---$/ { pending = 1; next }
  pending && /^# Source: / {
    n = split($3, p, "/"); f = out "/" p[n]
    if (!(f in seen)) {
      seen[f] = 1
      print "# Rendered from charts/vgpu-extender by `make manifests` (helm template" > f
      print "# vgpu-scheduler --namespace kube-system): edit the chart, not this file." > f
    }
    print "---" > f; pending = 0; next
  }
  { if (f == "") { print "manifests.sh: output before the first # Source line" > "/dev/stderr"; exit 1 }
    print > f }
'
for e in "${EXAMPLES[@]}"; do cp "examples/$e" "$OUT/examples/$e"; done
