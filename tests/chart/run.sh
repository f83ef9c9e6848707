#!/usr/bin/env bash
# make chart-test: the Helm chart, the manifests rendered from it and the
# examples, checked without a cluster.
#   - helm lint --strict and helm template for the default values, every
#     option on (ci/all-on-values.yaml) and a loopback-TLS variant;
#   - every rendered object against the Kubernetes OpenAPI schemas, the
#     KubeSchedulerConfiguration field by field, the containers' security
#     contexts (validate.cjs);
#   - the daemon's rendered config and flags with `vgpu-extender --check-config`;
#   - values.schema.json refuses a misspelt value;
#   - deploy/ equals a fresh `make manifests`;
#   - the examples against the schemas, and the helm test pod's script
#     against a dev daemon.
# Ends with "N passed, N failed" (scripts/run-tests.sh adds it to its total).
# Uses $VX_BUILD/vgpu-extender (default build/) and the tools that
# scripts/tools.sh installs into $VX_TOOLS (default build/tools).
set -u
cd "$(dirname "$0")/../.."
BUILD=${VX_BUILD:-build}
TOOLS=${VX_TOOLS:-build/tools}
HELM=$TOOLS/helm-2.2.2/helm
BIN=$BUILD/vgpu-extender
CHART=charts/vgpu-extender
export NODE_PATH=$TOOLS/chart/node_modules
passed=0 failed=0 dpid=""
tmp=$(mktemp -d /tmp/vx-chart-XXXXXX)
trap '[ -n "$dpid" ] && kill "$dpid" 2>/dev/null; rm -rf "$tmp"' EXIT

# step NAME CMD...: runs CMD, counts it, shows its output only when it fails.
step() {
  local name=$1 out; shift
  if out=$("$@" 2>&1); then
    echo "ok   $name"; passed=$((passed + 1))
  else
    echo "FAIL $name"; printf '%s\n' "$out" | sed 's/^/     /'; failed=$((failed + 1))
  fi
}

# fails NAME WANT CMD...: CMD must fail and say WANT.
fails() {
  local name=$1 want=$2 out; shift 2
  if out=$("$@" 2>&1); then
    echo "FAIL $name (succeeded)"; failed=$((failed + 1))
  elif ! grep -qF -- "$want" <<<"$out"; then
    echo "FAIL $name (no \"$want\")"; printf '%s\n' "$out" | sed 's/^/     /'; failed=$((failed + 1))
  else
    echo "ok   $name"; passed=$((passed + 1))
  fi
}

if ! bash scripts/tools.sh --check-only 2>/dev/null && ! bash scripts/tools.sh; then
  echo "chart-test: cannot install helm and the schema packages (scripts/tools.sh)" >&2
  echo "0 passed, 1 failed"; exit 1
fi
[ -x "$BIN" ] || { echo "chart-test: no $BIN (make all first)" >&2; echo "0 passed, 1 failed"; exit 1; }

# A variant of the values: loopback listener with TLS left unverified, the
# extender's own leader election with its lease in another namespace.
cat >"$tmp/tls-loopback.yaml" <<'EOF'
replicas: 1
extender:
  leaderElect: true
  leaseNamespace: vgpu-leases
  tls:
    secretName: extender-tls
    insecureSkipVerify: true
EOF
# The helm test pod over plain HTTP, for running its script here.
cat >"$tmp/service-plain.yaml" <<'EOF'
extender:
  listen:
    address: 0.0.0.0
service:
  enabled: true
EOF

check_extender_args() {
  local args=()
  mapfile -t args <"$1/extender-args"
  "$BIN" "${args[@]}" --check-config
}

variant() {
  local name=$1 ns=$2; shift 2
  local files=("$CHART/values.yaml" "$@") fargs=() out="$tmp/$name"
  for f in "$@"; do fargs+=(-f "$f"); done
  mkdir -p "$out"
  step "helm lint --strict ($name)" "$HELM" lint --strict "$CHART" --namespace "$ns" "${fargs[@]}"
  step "helm template ($name)" bash -c '"$@" >'"$out/rendered.yaml" _ \
    "$HELM" template vgpu-scheduler "$CHART" --namespace "$ns" "${fargs[@]}"
  step "schemas, scheduler config, security ($name)" \
    node tests/chart/validate.cjs chart "$out/rendered.yaml" "$out" "${files[@]}"
  step "vgpu-extender --check-config on the rendered config and flags ($name)" \
    check_extender_args "$out"
}

variant default kube-system
variant all-on gpu-sched "$CHART/ci/all-on-values.yaml"
variant tls-loopback kube-system "$tmp/tls-loopback.yaml"
variant service-plain kube-system "$tmp/service-plain.yaml"

fails "values.schema.json refuses a misspelt key" "nodePolicyy" \
  "$HELM" template x "$CHART" --set extender.nodePolicyy=spread
fails "values.schema.json refuses an httpTimeout without unit" "httpTimeout" \
  "$HELM" template x "$CHART" --set extender.httpTimeout=30
fails "values.schema.json refuses a queue without name" "queues/0" \
  "$HELM" template x "$CHART" --set 'extender.queues[0].quota=2'
fails "serviceMonitor needs service" "serviceMonitor.enabled needs service.enabled" \
  "$HELM" template x "$CHART" --set serviceMonitor.enabled=true

step "deploy/ equals a fresh make manifests" bash -c '
  bash scripts/manifests.sh "$1/deploy" && diff -r -x README.md deploy "$1/deploy"' _ "$tmp"

mapfile -t examples < <(ls examples/*.yaml deploy/examples/*.yaml | grep -v '^examples/config.yaml$')
step "examples against the schemas (${#examples[@]} files)" \
  node tests/chart/validate.cjs objects "${examples[@]}"
step "examples/config.yaml passes --check-config" "$BIN" --config examples/config.yaml --check-config
# The tutorial Job that NOTES.txt tells operators to paste.
step "NOTES.txt's tutorial Job against the schemas" bash -c '
  "$1" install --dry-run=client vgpu-scheduler "$2" -n kube-system >"$3/notes.txt" &&
  sed -n "/^kubectl apply -f - <<.YAML.$/,/^YAML$/p" "$3/notes.txt" | sed "1d;\$d" >"$3/notes-job.yaml" &&
  grep -q "schedulerName: vgpu-scheduler" "$3/notes-job.yaml" &&
  node tests/chart/validate.cjs objects "$3/notes-job.yaml"' _ "$HELM" "$CHART" "$tmp"

# The helm test pod's script against a real (dev) daemon, Service URL
# replaced by the daemon's address.
run_helm_test() {
  local log=$tmp/daemon.log port="" url
  "$BIN" --dev --listen 127.0.0.1:0 2>"$log" &
  dpid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's/.*serving HTTP on .* (port \([0-9]*\)).*/\1/p' "$log")
    [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$log"; return 1; }
  url="http://127.0.0.1:$port"
  sed "s|^URL=.*|URL=$url|" "$tmp/service-plain/helm-test.sh" >"$tmp/helm-test.sh"
  bash "$tmp/helm-test.sh" && grep -q '^URL=' "$tmp/service-plain/helm-test.sh"
  local rc=$?
  kill "$dpid"; wait "$dpid"; dpid=""
  return $rc
}
step "helm test pod's script against a dev daemon" run_helm_test

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
