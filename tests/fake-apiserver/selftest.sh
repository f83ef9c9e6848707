#!/usr/bin/env bash
# Self-check of the fake API server: starts it ($1, default build/fake-apiserver)
# on free ports and checks its behaviour with curl. Needs bash, curl, openssl;
# python3 (optional) for the timing of the paginated list.
#   tests/fake-apiserver/selftest.sh build/fake-apiserver [--no-perf]
# Last line: "N passed, N failed"; exit status 1 on any failure.
set -u
BIN=${1:-build/fake-apiserver}
PERF=1
[ "${2:-}" = --no-perf ] && PERF=0
TOKEN=selftest-token
TMP=$(mktemp -d)
PIDS=()
pass=0
fail=0

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1${2:+: $2}"; }
check() { # name, condition (evaluated), detail
	if eval "$2"; then ok "$1"; else bad "$1" "${3:-}"; fi
}

# start NAME ARGS...: starts the server, sets PORT and PID
start() {
	local name=$1
	shift
	: >"$TMP/$name.out"
	"$BIN" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	PID=$!
	PIDS+=("$PID")
	for _ in $(seq 1 500); do
		grep -q '^LISTENING ' "$TMP/$name.out" && break
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.01
	done
	PORT=$(sed -n 's/^LISTENING \([0-9]*\)$/\1/p' "$TMP/$name.out")
	[ -n "$PORT" ]
}

# stop PID: SIGTERM, returns the server's exit status (sanitizers make it non-zero)
stop() {
	kill -TERM "$1" 2>/dev/null
	wait "$1"
}

if ! start main --listen 127.0.0.1:0 --token "$TOKEN" --bookmark-ms 300 --plugin-standin \
	--standin-delay-ms 50; then
	echo "cannot start $BIN"
	cat "$TMP/main.err"
	echo "0 passed, 1 failed"
	exit 1
fi
MAIN=$PID
U=http://127.0.0.1:$PORT
AUTH="Authorization: Bearer $TOKEN"
NS=$U/api/v1/namespaces/default

# req METHOD URL [BODY [CONTENT-TYPE]]: sets CODE and BODY
req() {
	local args=(-s -o "$TMP/body" -w '%{http_code}' -X "$1" -H "$AUTH")
	[ $# -ge 3 ] && args+=(-H "Content-Type: ${4:-application/json}" --data-binary "$3")
	CODE=$(curl "${args[@]}" "$2")
	BODY=$(cat "$TMP/body")
}
has() { [[ "$BODY" == *"$1"* ]]; }
# first resourceVersion in the body (list metadata or object)
first_rv() { grep -o '"resourceVersion":"[0-9]*"' <<<"$1" | head -n1 | grep -o '[0-9]\+'; }

POD='{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1","labels":{"app":"t"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}'

# --- auth
CODE=$(curl -s -o "$TMP/body" -w '%{http_code}' "$U/api/v1/pods")
BODY=$(cat "$TMP/body")
check "401 without token" '[ "$CODE" = 401 ] && has "\"reason\":\"Unauthorized\""' "$CODE $BODY"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong" "$U/api/v1/pods")
check "401 with a wrong token" '[ "$CODE" = 401 ]' "$CODE"

# --- create, get
req POST "$NS/pods" "$POD"
check "create pod -> 201" '[ "$CODE" = 201 ] && has "\"uid\":\"" && has "\"creationTimestamp\":\"" && has "\"phase\":\"Pending\""' "$CODE $BODY"
RV1=$(first_rv "$BODY")
req POST "$NS/pods" "$POD"
check "create again -> 409 AlreadyExists" '[ "$CODE" = 409 ] && has "\"reason\":\"AlreadyExists\"" && has "pods \\\"p1\\\" already exists"' "$CODE $BODY"
req GET "$NS/pods/p1"
check "get pod" '[ "$CODE" = 200 ] && has "\"kind\":\"Pod\"" && [ "$(first_rv "$BODY")" = "$RV1" ]' "$CODE $BODY"
req GET "$NS/pods/nope"
check "get missing -> 404 NotFound" '[ "$CODE" = 404 ] && has "pods \\\"nope\\\" not found" && has "\"reason\":\"NotFound\""' "$CODE $BODY"
req GET "$U/api/v1/widgets"
check "unknown route -> 404 Status" '[ "$CODE" = 404 ] && has "\"kind\":\"Status\""' "$CODE $BODY"
req POST "$NS/pods" '{"metadata":'
check "malformed JSON -> 400" '[ "$CODE" = 400 ] && has "\"reason\":\"BadRequest\""' "$CODE $BODY"

# --- patch
req PATCH "$NS/pods/p1" '{"metadata":{"annotations":{"a":"1","b":"2"}}}' application/merge-patch+json
RV2=$(first_rv "$BODY")
check "merge patch -> 200, new RV" '[ "$CODE" = 200 ] && has "\"a\":\"1\"" && [ "$RV2" -gt "$RV1" ]' "$CODE $BODY"
req PATCH "$NS/pods/p1" '{"metadata":{"annotations":{"b":null}}}' application/strategic-merge-patch+json
check "patch null deletes a key" '[ "$CODE" = 200 ] && has "\"a\":\"1\"" && ! has "\"b\":\"2\""' "$CODE $BODY"
RV3=$(first_rv "$BODY")
req PATCH "$NS/pods/p1" '{"metadata":{"resourceVersion":"'"$RV1"'","annotations":{"c":"3"}}}' application/merge-patch+json
check "stale-RV patch -> 409 Conflict" '[ "$CODE" = 409 ] && has "Operation cannot be fulfilled on pods \\\"p1\\\": the object has been modified; please apply your changes to the latest version and try again" && has "\"reason\":\"Conflict\""' "$CODE $BODY"
req PATCH "$NS/pods/p1" '{"metadata":{"resourceVersion":"'"$RV3"'","annotations":{"c":"3"}}}' application/merge-patch+json
check "current-RV patch -> 200" '[ "$CODE" = 200 ] && has "\"c\":\"3\""' "$CODE $BODY"
RV4=$(first_rv "$BODY")
req PATCH "$NS/pods/p1" '{"metadata":{"annotations":{"c":"3"}}}' application/merge-patch+json
check "no-op patch writes nothing (same RV)" '[ "$CODE" = 200 ] && [ "$(first_rv "$BODY")" = "$RV4" ]' "$CODE $BODY"
req PATCH "$NS/pods/p1" '[{"op":"test","path":"/metadata/annotations/a","value":"1"},{"op":"add","path":"/metadata/annotations/d","value":"4"}]' application/json-patch+json
check "json patch -> 200" '[ "$CODE" = 200 ] && has "\"d\":\"4\""' "$CODE $BODY"
req PATCH "$NS/pods/p1" '{"x":1}' application/apply-patch+yaml
check "unsupported patch type -> 415" '[ "$CODE" = 415 ]' "$CODE"
req PUT "$NS/pods/p1" '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1","resourceVersion":"'"$RV1"'"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}'
check "stale-RV PUT -> 409 Conflict" '[ "$CODE" = 409 ] && has "the object has been modified"' "$CODE $BODY"
req PATCH "$NS/pods/p1" '{"spec":{"nodeName":"n9"}}' application/merge-patch+json
check "patching spec.nodeName -> 422 (use binding)" '[ "$CODE" = 422 ] && has "\"reason\":\"Invalid\""' "$CODE $BODY"

# --- binding and the plugin stand-in
req POST "$U/api/v1/nodes" '{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","annotations":{"hamivgpu":"2026-01-01T00:00:00Z"}},"status":{"allocatable":{"volcano.sh/vgpu-number":"10"}}}'
check "create node -> 201" '[ "$CODE" = 201 ]' "$CODE $BODY"
req POST "$NS/pods/p1/binding" '{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p1","namespace":"default","annotations":{"volcano.sh/bind-phase":"allocating","volcano.sh/vgpu-node":"n1"}},"target":{"kind":"Node","name":"n1"}}'
check "binding -> 201 Success" '[ "$CODE" = 201 ] && has "\"status\":\"Success\"" && has "\"code\":201"' "$CODE $BODY"
req POST "$NS/pods/p1/binding" '{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p1"},"target":{"kind":"Node","name":"n2"}}'
check "second binding -> 409 with the real message" '[ "$CODE" = 409 ] && has "\"message\":\"Operation cannot be fulfilled on pods/binding \\\"p1\\\": pod p1 is already assigned to node \\\"n1\\\"\"" && has "\"reason\":\"Conflict\""' "$CODE $BODY"
sleep 0.4
req GET "$NS/pods/p1"
check "binding merged annotations and set nodeName" 'has "\"nodeName\":\"n1\"" && has "\"a\":\"1\"" && has "\"volcano.sh/vgpu-node\":\"n1\""' "$BODY"
check "stand-in: bind-phase success, phase Running" 'has "\"volcano.sh/bind-phase\":\"success\"" && has "\"phase\":\"Running\""' "$BODY"
req GET "$U/api/v1/nodes/n1"
check "stand-in: node lock hamivgpu removed" '[ "$CODE" = 200 ] && ! has "hamivgpu"' "$BODY"
req POST "$NS/pods" '{"metadata":{"name":"p9"},"spec":{"containers":[{"name":"c","image":"x"}]}}'
req POST "$NS/pods/p9/binding" '{"metadata":{"name":"p9","uid":"not-the-uid"},"target":{"name":"n1"}}'
check "binding with a wrong uid -> 409" '[ "$CODE" = 409 ]' "$CODE $BODY"
req POST "$NS/pods/nope/binding" '{"metadata":{"name":"nope"},"target":{"name":"n1"}}'
check "binding of a missing pod -> 404" '[ "$CODE" = 404 ]' "$CODE $BODY"

# --- fault rules
curl -s -o /dev/null -X POST "$U/fake/faults" -d '{"verb":"POST","path":"/binding","count":1,"status":500}'
req POST "$NS/pods/p9/binding" '{"metadata":{"name":"p9"},"target":{"name":"n1"}}'
check "fault: next POST /binding -> 500" '[ "$CODE" = 500 ] && has "\"reason\":\"InternalError\""' "$CODE $BODY"
req POST "$NS/pods/p9/binding" '{"metadata":{"name":"p9"},"target":{"name":"n1"}}'
check "fault used up: binding -> 201" '[ "$CODE" = 201 ]' "$CODE $BODY"
curl -s -o /dev/null -X POST "$U/fake/faults" -d '{"verb":"GET","path":"/api/v1/nodes","status":429,"retryAfter":2}'
HDRS=$(curl -s -D - -o /dev/null -H "$AUTH" "$U/api/v1/nodes")
check "fault 429 with Retry-After" '[[ "$HDRS" == *" 429 "* ]] && grep -qi "^Retry-After: 2" <<<"$HDRS"' "$HDRS"

# --- list, pagination, selectors
for i in 1 2 3 4 5; do req POST "$U/api/v1/namespaces/pg/pods" '{"metadata":{"name":"q'$i'","labels":{"grp":"g'$((i % 2))'"}},"spec":{"containers":[{"name":"c","image":"x"}]}}'; done
req GET "$U/api/v1/namespaces/pg/pods?limit=2"
TOK=$(sed -n 's/.*"continue":"\([^"]*\)".*/\1/p' <<<"$BODY")
LRV=$(first_rv "$BODY")
check "list limit=2: 2 items, continue, remainingItemCount 3" '[ "$CODE" = 200 ] && has "\"kind\":\"PodList\"" && [ "$(grep -o "\"name\":\"q[0-9]\"" <<<"$BODY" | tr -d "\n")" = "\"name\":\"q1\"\"name\":\"q2\"" ] && [ -n "$TOK" ] && has "\"remainingItemCount\":3"' "$BODY"
NAMES=""
while [ -n "$TOK" ]; do
	req GET "$U/api/v1/namespaces/pg/pods?limit=2&continue=$TOK"
	NAMES="$NAMES$(grep -o '"name":"q[0-9]"' <<<"$BODY" | tr -d '\n')"
	TOK=$(sed -n 's/.*"continue":"\([^"]*\)".*/\1/p' <<<"$BODY")
	[ "$(first_rv "$BODY")" = "$LRV" ] || NAMES="$NAMES(rv changed)"
done
check "continue pages: the rest, in order, same list RV" '[ "$NAMES" = "\"name\":\"q3\"\"name\":\"q4\"\"name\":\"q5\"" ]' "$NAMES"
req GET "$U/api/v1/namespaces/pg/pods?labelSelector=grp%3Dg1"
check "labelSelector grp=g1" '[ "$(grep -o "\"name\":\"q[0-9]\"" <<<"$BODY" | wc -l)" = 3 ]' "$BODY"
req GET "$U/api/v1/pods?fieldSelector=spec.nodeName%3Dn1"
check "fieldSelector spec.nodeName=n1 across namespaces" '[ "$(grep -o "\"nodeName\":\"n1\"" <<<"$BODY" | wc -l)" = 2 ] && ! has "\"name\":\"q1\""' "$BODY"
req GET "$U/api/v1/pods?fieldSelector=spec.bogus%3Dx"
check "unsupported field selector -> 400" '[ "$CODE" = 400 ] && has "field label not supported"' "$BODY"

# --- watch
WRV=$(first_rv "$(curl -s -H "$AUTH" "$U/api/v1/namespaces/pg/pods?limit=1")")
curl -sN --max-time 2 -H "$AUTH" "$U/api/v1/namespaces/pg/pods?watch=true&resourceVersion=$WRV&allowWatchBookmarks=true" >"$TMP/w1" &
W1=$!
sleep 0.3
req POST "$U/api/v1/namespaces/pg/pods" '{"metadata":{"name":"w1"},"spec":{"containers":[{"name":"c","image":"x"}]}}'
req PATCH "$U/api/v1/namespaces/pg/pods/w1" '{"metadata":{"labels":{"x":"y"}}}' application/merge-patch+json
req DELETE "$U/api/v1/namespaces/pg/pods/w1"
check "delete -> 200 with the object" '[ "$CODE" = 200 ] && has "\"name\":\"w1\""' "$CODE"
wait $W1
W=$(cat "$TMP/w1")
check "watch: ADDED, MODIFIED, DELETED in order" '[ "$(grep -o "\"type\":\"[A-Z]*\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"w1\"" <<<"$W" | cut -d\" -f4 | tr "\n" " ")" = "ADDED MODIFIED DELETED " ]' "$W"
check "watch: BOOKMARK with a resourceVersion" 'grep -q "^{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"[0-9]*\"}}}$" <<<"$W"' "$W"
check "watch: one JSON object per line" '[ "$(grep -vc "^{\"type\":\"[A-Z]*\",\"object\":{.*}}$" <<<"$W")" = 0 ]' "$W"
curl -sN --max-time 5 -H "$AUTH" "$U/api/v1/namespaces/pg/pods?watch=1&timeoutSeconds=1" >"$TMP/w2"
RC=$?
check "watch RV unset: current objects as ADDED, timeoutSeconds ends it cleanly" '[ $RC = 0 ] && [ "$(grep -c "\"type\":\"ADDED\"" "$TMP/w2")" = 5 ]' "rc=$RC $(cat "$TMP/w2")"
curl -sN --max-time 5 -H "$AUTH" "$U/api/v1/pods?watch=true" >"$TMP/w3" &
W3=$!
sleep 0.3
curl -s -o /dev/null -X POST "$U/fake/close-watches"
START=$(date +%s%N)
wait $W3
RC=$?
MS=$((($(date +%s%N) - START) / 1000000))
check "close-watches ends open streams" '[ $RC = 0 ] && [ $MS -lt 1500 ]' "rc=$RC ms=$MS"
req POST "$U/fake/watch-delay" '{"ms":700}'
curl -sN --max-time 2 -H "$AUTH" "$U/api/v1/namespaces/lag/pods?watch=true" >"$TMP/w5" &
W5=$!
sleep 0.3
req POST "$U/api/v1/namespaces/lag/pods" '{"metadata":{"name":"late"},"spec":{"containers":[{"name":"c","image":"x"}]}}'
sleep 0.3
EARLY=$(cat "$TMP/w5")
wait $W5
LATE=$(cat "$TMP/w5")
req POST "$U/fake/watch-delay" '{"ms":0}'
check "watch-delay holds events back, then delivers them" '[ -z "$EARLY" ] && [[ "$LATE" == *"\"type\":\"ADDED\""*"\"name\":\"late\""* ]]' "early=$EARLY late=$LATE"
req POST "$U/fake/watch-delay" '{"ms":-1}'
check "watch-delay refuses a bad value with 400" '[ "$CODE" = 400 ]' "$CODE $BODY"
curl -s -o /dev/null -X POST "$U/fake/compact"
curl -sN --max-time 3 -H "$AUTH" "$U/api/v1/namespaces/pg/pods?watch=true&resourceVersion=$WRV" >"$TMP/w4"
RC=$?
W=$(cat "$TMP/w4")
check "after compact, an old RV gets one ERROR 410 Expired event" '[ $RC = 0 ] && [ "$(wc -l <<<"$W")" = 1 ] && [[ "$W" == "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource version: $WRV ("*"\"reason\":\"Expired\",\"code\":410}}" ]]' "rc=$RC $W"
req GET "$U/api/v1/namespaces/pg/pods?limit=2"
TOK=$(sed -n 's/.*"continue":"\([^"]*\)".*/\1/p' <<<"$BODY")
req PATCH "$U/api/v1/namespaces/pg/pods/q5" '{"metadata":{"labels":{"z":"1"}}}' application/merge-patch+json
curl -s -o /dev/null -X POST "$U/fake/compact"
req GET "$U/api/v1/namespaces/pg/pods?limit=2&continue=$TOK"
check "continue token older than the history -> 410 Expired" '[ "$CODE" = 410 ] && has "\"reason\":\"Expired\""' "$CODE $BODY"

# --- eviction, leases, configmaps, events
req POST "$U/api/v1/namespaces/pg/pods/q1/eviction" '{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"q1","namespace":"pg"}}'
check "eviction -> 201 Success" '[ "$CODE" = 201 ] && has "\"status\":\"Success\""' "$CODE $BODY"
req GET "$U/api/v1/namespaces/pg/pods/q1"
check "evicted pod is gone" '[ "$CODE" = 404 ]' "$CODE"
req POST "$U/api/v1/namespaces/pg/pods/q1/eviction" '{"metadata":{"name":"q1"}}'
check "eviction of a missing pod -> 404" '[ "$CODE" = 404 ]' "$CODE"
curl -s -o /dev/null -X POST "$U/fake/faults" -d '{"verb":"POST","path":"/eviction","status":429,"message":"held by a test"}'
req POST "$U/api/v1/namespaces/pg/pods/q2/eviction" '{"metadata":{"name":"q2"}}'
check "fault rule on /eviction -> 429 with its message" '[ "$CODE" = 429 ] && has "\"message\":\"held by a test\""' "$CODE $BODY"

# --- PodDisruptionBudgets and the eviction
PDB=$U/apis/policy/v1/namespaces/pdb/poddisruptionbudgets
web_pod() { printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"pdb","labels":{"app":"web"}},"status":{"phase":"%s"}}' "$1" "$2"; }
curl -s -o /dev/null -X POST "$U/fake/objects" -d "[$(web_pod w1 Running),$(web_pod w2 Running),$(web_pod w3 Running),$(web_pod w4 Pending)]"
req POST "$PDB" '{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"web"},"spec":{"minAvailable":2,"selector":{"matchLabels":{"app":"web"}}}}'
check "create PodDisruptionBudget" '[ "$CODE" = 201 ] && has "\"kind\":\"PodDisruptionBudget\",\"apiVersion\":\"policy/v1\"" && has "\"minAvailable\":2"' "$CODE $BODY"
req GET "$PDB"
check "list PodDisruptionBudgets" '[ "$CODE" = 200 ] && has "\"kind\":\"PodDisruptionBudgetList\"" && has "\"name\":\"web\""' "$CODE $BODY"
req POST "$PDB" '{"metadata":{"name":"both"},"spec":{"minAvailable":1,"maxUnavailable":1,"selector":{"matchLabels":{"app":"web"}}}}'
check "budget with minAvailable and maxUnavailable -> 422" '[ "$CODE" = 422 ] && has "minAvailable and maxUnavailable cannot be both set"' "$CODE $BODY"
req POST "$U/api/v1/namespaces/pdb/pods/w1/eviction" '{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"w1","namespace":"pdb"}}'
check "eviction within the budget (3 healthy, min 2) -> 201" '[ "$CODE" = 201 ] && has "\"status\":\"Success\""' "$CODE $BODY"
HDRS=$(curl -s -D - -o "$TMP/body" -X POST -H "$AUTH" "$U/api/v1/namespaces/pdb/pods/w2/eviction")
BODY=$(cat "$TMP/body")
check "eviction over the budget -> 429 as the real server answers" '[[ "$HDRS" == *" 429 "* ]] && ! grep -qi "^Retry-After" <<<"$HDRS" && [ "$BODY" = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"Cannot evict pod as it would violate the pod'"'"'s disruption budget.\",\"reason\":\"TooManyRequests\",\"details\":{\"causes\":[{\"reason\":\"DisruptionBudget\",\"message\":\"The disruption budget web needs 2 healthy pods and has 2 currently\"}]},\"code\":429}" ]' "$HDRS $BODY"
req GET "$U/api/v1/namespaces/pdb/pods/w2"
check "the refused pod is still there" '[ "$CODE" = 200 ]' "$CODE"
req POST "$U/api/v1/namespaces/pdb/pods/w4/eviction"
check "a Pending pod is evicted whatever the budget -> 201" '[ "$CODE" = 201 ]' "$CODE $BODY"
req PATCH "$PDB/web" '{"spec":{"minAvailable":null,"maxUnavailable":0}}' application/merge-patch+json
req POST "$U/api/v1/namespaces/pdb/pods/w2/eviction"
check "maxUnavailable 0 -> 429" '[ "$CODE" = 429 ] && has "The disruption budget web needs 2 healthy pods and has 2 currently"' "$CODE $BODY"
req PATCH "$PDB/web" '{"spec":{"maxUnavailable":"50%"}}' application/merge-patch+json
req POST "$PDB" '{"metadata":{"name":"web-too"},"spec":{"selector":{"matchExpressions":[{"key":"app","operator":"In","values":["web","db"]}]}}}'
req POST "$U/api/v1/namespaces/pdb/pods/w2/eviction"
check "two budgets select the pod -> 500 without a reason" '[ "$CODE" = 500 ] && [ "$BODY" = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.\",\"code\":500}" ]' "$CODE $BODY"
req DELETE "$PDB/web-too"
check "delete a budget" '[ "$CODE" = 200 ] && has "\"name\":\"web-too\""' "$CODE $BODY"
req POST "$U/api/v1/namespaces/pdb/pods/w2/eviction"
check "maxUnavailable 50% of 2 -> 201" '[ "$CODE" = 201 ]' "$CODE $BODY"
LS=$U/apis/coordination.k8s.io/v1/namespaces/kube-system/leases
req POST "$LS" '{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"vgpu-extender"},"spec":{"holderIdentity":"a","leaseDurationSeconds":15}}'
check "create lease" '[ "$CODE" = 201 ] && has "\"apiVersion\":\"coordination.k8s.io/v1\""' "$CODE $BODY"
LRV=$(first_rv "$BODY")
req PUT "$LS/vgpu-extender" '{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"vgpu-extender","resourceVersion":"'"$LRV"'"},"spec":{"holderIdentity":"b"}}'
check "update lease with its RV" '[ "$CODE" = 200 ] && has "\"holderIdentity\":\"b\""' "$CODE $BODY"
req PUT "$LS/vgpu-extender" '{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"vgpu-extender","resourceVersion":"'"$LRV"'"},"spec":{"holderIdentity":"c"}}'
check "lease update with a stale RV -> 409" '[ "$CODE" = 409 ] && has "leases.coordination.k8s.io \\\"vgpu-extender\\\""' "$CODE $BODY"
req POST "$U/api/v1/namespaces/kube-system/configmaps" '{"metadata":{"name":"usage"},"data":{"k":"v"}}'
check "create configmap" '[ "$CODE" = 201 ]' "$CODE $BODY"
req POST "$NS/events" '{"metadata":{"generateName":"p1."},"involvedObject":{"kind":"Pod","name":"p1"},"reason":"Bound","message":"x","type":"Normal"}'
check "create event with generateName" '[ "$CODE" = 201 ] && has "\"name\":\"p1."' "$CODE $BODY"
req GET "$U/api/v1/events?fieldSelector=involvedObject.name%3Dp1"
check "list events by involvedObject.name" '[ "$CODE" = 200 ] && has "\"reason\":\"Bound\""' "$CODE $BODY"

# --- control API
STATS=$(curl -s "$U/fake/stats")
check "stats: binds and per-route counts" '[[ "$STATS" == *"\"binds\":2"* && "$STATS" == *"\"POST /api/v1/namespaces/{namespace}/pods/{name}/binding\":"* && "$STATS" == *"\"WATCH /api/v1/namespaces/{namespace}/pods\":"* ]]' "$STATS"
OBJ=$(curl -s -X POST "$U/fake/objects" -d '{"items":[{"apiVersion":"v1","kind":"Node","metadata":{"name":"n5"}},{"apiVersion":"v1","kind":"Pod","metadata":{"name":"s1","namespace":"x"},"spec":{"nodeName":"n5","containers":[]},"status":{"phase":"Running"}}]}')
check "/fake/objects creates objects directly" '[[ "$OBJ" == *"\"kind\":\"List\""* && "$OBJ" == *"\"phase\":\"Running\""* ]]' "$OBJ"
curl -s -o /dev/null -X POST "$U/fake/reset"
req GET "$U/api/v1/pods"
check "reset drops every object" '[ "$CODE" = 200 ] && has "\"items\":[]"' "$BODY"
check "reset clears the counters" '[[ "$(curl -s "$U/fake/stats")" == *"\"binds\":0"* ]]'

# --- shutdown (with sanitizers: no leaks)
stop "$MAIN"
RC=$?
check "SIGTERM: clean exit" '[ $RC = 0 ] && ! grep -q "ERROR: \(Address\|Leak\)Sanitizer\|WARNING: ThreadSanitizer\|runtime error" "$TMP/main.err"' "rc=$RC $(head -c 2000 "$TMP/main.err")"

# --- HTTPS
if openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-days 1 -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1 &&
	start tls --listen 127.0.0.1:0 --token "$TOKEN" --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem"; then
	TLS=$PID
	CODE=$(curl -s -o "$TMP/body" -w '%{http_code}' --cacert "$TMP/cert.pem" -H "$AUTH" "https://127.0.0.1:$PORT/api/v1/nodes")
	check "HTTPS list with a verified certificate" '[ "$CODE" = 200 ] && grep -q NodeList "$TMP/body"' "$CODE"
	curl -sN --max-time 3 --cacert "$TMP/cert.pem" -H "$AUTH" "https://127.0.0.1:$PORT/api/v1/nodes?watch=1&timeoutSeconds=1" >"$TMP/w5"
	check "HTTPS watch ends cleanly" '[ $? = 0 ]'
	stop "$TLS"
	check "HTTPS server: clean exit" '[ $? = 0 ]' "$(head -c 2000 "$TMP/tls.err")"
else
	bad "HTTPS server starts" "$(cat "$TMP/tls.err" 2>/dev/null)"
fi

# --- benchmark-sized cluster (limits x5 for a sanitizer build)
SLOW=1
grep -qa __asan_init "$BIN" 2>/dev/null && SLOW=5
if [ $PERF = 1 ]; then
	T0=$(date +%s%N)
	if start perf --listen 127.0.0.1:0 --gen-nodes 5000 --gen-gpus 8 --gen-pods 100000; then
		MS=$((($(date +%s%N) - T0) / 1000000))
		echo "time: --gen-nodes 5000 --gen-gpus 8 --gen-pods 100000 startup ${MS} ms"
		check "gen 5000 nodes + 100000 pods starts in < $((2 * SLOW)) s" '[ $MS -lt $((2000 * SLOW)) ]' "$MS ms"
		if command -v python3 >/dev/null; then
			OUT=$(python3 - "$PORT" <<'EOF'
import http.client, re, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
t0 = time.time(); cont = None; pages = items = 0
while True:
    c.request("GET", "/api/v1/pods?limit=500" + ("&continue=" + cont if cont else ""))
    body = c.getresponse().read()
    pages += 1; items += body.count(b'{"metadata":{"name"')
    m = re.search(rb'"continue":"([^"]*)"', body[:4096])
    if not m: break
    cont = m.group(1).decode()
print(pages, items, int((time.time() - t0) * 1000))
EOF
)
			read -r PAGES ITEMS LMS <<<"$OUT"
			echo "time: full list of pods in pages of 500: ${LMS} ms (${PAGES} pages, ${ITEMS} pods)"
			check "paginated list of 100000 pods < $SLOW s" '[ "$ITEMS" = 100000 ] && [ "$LMS" -lt $((1000 * SLOW)) ]' "$OUT"
		fi
		stop "$PID"
		check "benchmark server: clean exit" '[ $? = 0 ]' "$(head -c 2000 "$TMP/perf.err")"
	else
		bad "benchmark server starts" "$(cat "$TMP/perf.err")"
	fi
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
