#!/usr/bin/env bash
# make demo: the user's queue walkthrough (Run:ai's "Over Quota, Fairness and
# Preemption") in dev mode, on the built-in demo cluster (2 nodes x 2 GPUs)
# with team-a and team-b at quota 2 (examples/config.yaml). Prints the
# workload table after each step, as the walkthrough shows it.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD:-build}
PORT=${DEMO_PORT:-18888}
export VGPUCTL_SERVER=http://127.0.0.1:$PORT
LOG=$(mktemp /tmp/vx-demo-XXXXXX.log)
"$B/vgpu-extender" --dev --config examples/config.yaml --listen 127.0.0.1:$PORT 2>"$LOG" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 100); do curl -sf "$VGPUCTL_SERVER/readyz" >/dev/null && break; sleep 0.1; done

# Waits until `vgpuctl list -A` shows every "name status" pair given.
wait_for() {
  for _ in $(seq 100); do
    local out ok=1
    out=$("$B/vgpuctl" list -A)
    for want in "$@"; do
      grep -Eq "/${want% *} .* ${want#* } " <<<"$out" || ok=0
    done
    [ $ok = 1 ] && return 0
    sleep 0.1
  done
  echo "demo: timed out waiting for: $*" >&2
  "$B/vgpuctl" list -A >&2
  return 1
}

step() { printf '\n== %s\n' "$1"; "$B/vgpuctl" list -A; }

"$B/vgpuctl" apply -f examples/queues.yaml >/dev/null 2>&1
wait_for "a1 Running" "a2 Running" "b1 Running"
step "team-a runs a1 (1 GPU) and a2 (2 GPUs): 3 GPUs, 1 over its quota of 2; team-b runs b1. The cluster is full."

"$B/vgpuctl" apply -f examples/queues-b2.yaml >/dev/null
wait_for "b2 Running" "a1 Submitted"
step "team-b submits b2 (1 GPU). team-a can no longer stay over quota: a1 is evicted and waits; b2 runs."

"$B/vgpuctl" delete -y team-b/b2 >/dev/null
wait_for "a1 Running"
step "b2 finishes: the GPU is idle again, and a1 runs once more (team-a over quota while nobody needs it)."
printf '\n== vgpuctl queues\n'
"$B/vgpuctl" queues
