#!/bin/sh
# The one search request end to end (issue 18): `submit` and `local` take
# every search option `tune-local` takes, with the same bounds, and every
# non-default value reaches the worker's search. A real coordinator, a real
# sim worker (real compiles, SIMULATED times) and a real store; the worker
# logs each job's request as its canonical text at debug level.
. "$(dirname "$0")/testlib.sh"

# ---- the same options everywhere -------------------------------------------
# the request's options, as tune-local's --help lists them (the tune-only
# ones left out), are in submit's and local's help too
"$SPMMFARM" tune-local --help > "$WORK/tl.txt"
sed -n 's/^  --\([a-z0-9-]*\).*/\1/p' "$WORK/tl.txt" |
    grep -Ev '^(n|backend|gpu|compile-threads|model|tensor|save-cubin|store|no-store|json|quiet|help)$' > "$WORK/opts"
count=$(wc -l < "$WORK/opts")
[ "$count" -ge 16 ] && pass "tune-local lists $count search options" || fail "tune-local lists $count search options"
for cmd in submit local; do
    "$SPMMFARM" $cmd --help > "$WORK/help.txt"
    missing=""
    for o in $(cat "$WORK/opts"); do
        grep -q -- "^  --$o\b" "$WORK/help.txt" || missing="$missing $o"
    done
    [ -z "$missing" ] && pass "$cmd --help lists every search option" || fail "$cmd --help lacks:$missing"
done

# the same bounds, with the same message, in tune-local, submit and local
"$SPMMFARM" gen --m 16 --k 24 --sparsity 0.5 --seed 5 -o "$WORK/a.mtx" >/dev/null 2>&1
for cmd in tune-local submit local; do
    expect_exit 2 "$cmd --proxy-top 1025" "$SPMMFARM" $cmd "$WORK/a.mtx" --n 8 --proxy-top 1025
    expect_grep "^spmmfarm $cmd: --proxy-top: 1025 is out of range 1..1024 \(0: the default\)" "$WORK/err" \
        "$cmd names the bound"
    expect_exit 2 "$cmd --precision fp8" "$SPMMFARM" $cmd "$WORK/a.mtx" --n 8 --precision fp8
    expect_grep "fp8' is not one of fp32, tf32, bf16, fp16" "$WORK/err" "$cmd names the tiers"
    expect_exit 2 "$cmd --top-k 0x" "$SPMMFARM" $cmd "$WORK/a.mtx" --n 8 --top-k 0x
done

# ---- every option reaches the worker's search -------------------------------
port=$((20000 + ($$ * 7 + 11) % 19990))
WEP=tcp://127.0.0.1:$port CEP=tcp://127.0.0.1:$((port + 1))
C="--coordinator $CEP"
"$SPMMFARM" coordinator --store "$WORK/farm" --workers $WEP --clients $CEP --heartbeat-ms 200 --retries 1 \
    --log warn 2>>"$WORK/coord.log" &
COORD=$!
sleep 0.5
SPMMFARM_LOG=debug "$SPMMFARM" worker --connect $WEP --backend sim --compile-threads 2 2>>"$WORK/worker.log" &
WORKER=$!
trap 'kill $WORKER $COORD 2>/dev/null; wait $WORKER $COORD 2>/dev/null; rm -rf "$WORK"' EXIT

wait_ended () {  # CAMPAIGN: waits up to 120 s for it to leave queued/running
    for i in $(seq 1 600); do
        "$SPMMFARM" status "$1" $C --json > "$WORK/st.json" 2>/dev/null &&
            state=$(json_get "$WORK/st.json" 'd["campaigns"][0]["state"]') &&
            [ "$state" != queued ] && [ "$state" != running ] && return 0
        sleep 0.2
    done
    return 1
}
submit () {  # NAME TEXT OPTIONS...: submits, waits, checks the worker's log
    name=$1 text=$2; shift 2
    expect_exit 0 "submit $name" "$SPMMFARM" submit "$WORK/a.mtx" --n 8 --name "$name" $C --json "$@"
    id=$(json_get "$WORK/out" 'd["campaign"]')
    wait_ended "$id" && pass "$name: campaign $id ended ($state)" || fail "$name: campaign $id did not end"
    grep -F "(search, layer 'a'): request $text" "$WORK/worker.log" > /dev/null &&
        pass "$name: the worker searched '$text'" || { fail "$name: no '$text' in the worker's log";
        grep 'request' "$WORK/worker.log" | tail -3; }
}

# proxy, with every option the proxy strategy takes off its default
submit every-proxy-option \
    "strategy=proxy max-configs=2 proxy-top=2 templates=UD+e1 u-split max-code-fmas=50000 tol=0.0001 seed=9 run-timeout=20 bias relu" \
    --max-configs 2 --proxy-top 2 --max-code-fmas 50000 --run-timeout 20 --seed 9 --tol 1e-4 --u-split \
    --d-union --no-d-slab --bias --relu
[ "$state" = done ] && pass "the proxy campaign is done" || fail "the proxy campaign is $state"
# rank (no model in this store: the worker runs proxy and says so), D only
submit rank-options "strategy=rank max-configs=2 top-k=3 proxy-top=1 templates=D max-code-fmas=160000" \
    --strategy rank --top-k 3 --proxy-top 1 --templates D --max-configs 2
# the nk layout reaches the worker's search, which says that template U has
# no nk kernel and measures the dense candidates (issue 23)
submit bf16-nk "strategy=exhaustive max-configs=2 templates=U max-code-fmas=160000 precision=bf16 layout=nk" \
    --strategy exhaustive --templates U --max-configs 2 --precision bf16 --layout nk
[ "$state" = done ] && pass "bf16/nk: searched (dense candidates)" || fail "bf16/nk: campaign $state"
# --l2 cold reaches the worker (auto, the default, is resolved there per layer)
submit l2-cold "strategy=proxy max-configs=2 proxy-top=4 templates=UD+e2 max-code-fmas=160000 l2=cold" \
    --max-configs 2 --l2 cold

# the store keeps the whole request with the campaign (a restarted
# coordinator hands its jobs the same one)
"$SPMMFARM" store dump "$WORK/farm" --db campaigns --json > "$WORK/camps.json" 2>/dev/null
python3 - "$WORK/camps.json" <<'PY' && pass "campaign records hold the request" || fail "campaign records lack the request"
import json, sys
c = {r["value"]["name"]: r["value"] for r in map(json.loads, open(sys.argv[1])) if r}
s = c["every-proxy-option"]["search"]
assert s["max_code_fmas"] == 50000 and s["u_split"] and s["d_union"] and s["no_d_slab"], s
assert s["run_timeout_s"] == 20 and s["seed"] == 9 and abs(s["tol"] - 1e-4) < 1e-12, s
assert c["rank-options"]["search"]["templates"] == 2 and c["rank-options"]["search"]["top_k"] == 3
assert c["bf16-nk"]["search"]["precision"] == "bf16" and c["bf16-nk"]["search"]["layout"] == "nk"
assert c["l2-cold"]["search"]["l2"] == "cold" and c["bf16-nk"]["search"]["l2"] == "auto"
PY

# ---- local: the same options, the same way ----------------------------------
# (--budget 0: local's default budget would plan the layer's search, docs/FARM.md "Budgets")
SPMMFARM_LOG=debug "$SPMMFARM" local "$WORK/a.mtx" --n 8 --backend sim --store "$WORK/local" --compile-threads 2 \
    -q --budget 0 --max-configs 2 --proxy-top 2 --max-code-fmas 50000 --run-timeout 20 --seed 9 --tol 1e-4 --u-split \
    --d-union --no-d-slab --bias --relu > "$WORK/out" 2> "$WORK/local.log"
[ $? -eq 0 ] && pass "local with every proxy option" || { fail "local with every proxy option"; tail -5 "$WORK/local.log"; }
expect_grep "request strategy=proxy max-configs=2 proxy-top=2 templates=UD\+e1 u-split max-code-fmas=50000 tol=0.0001 seed=9 run-timeout=20 bias relu" \
    "$WORK/local.log" "local: every option reached its worker's search"
SPMMFARM_LOG=warn "$SPMMFARM" local "$WORK/a.mtx" --n 8 --backend sim --store "$WORK/local" --compile-threads 2 \
    -q --max-configs 2 --precision fp16 > "$WORK/out" 2> "$WORK/local.log"
code=$?
if [ $code -eq 1 ]; then
    expect_grep "precision fp16, layout kn" "$WORK/local.log" "local --precision fp16: refused by name (exit 1)"
elif [ $code -eq 0 ]; then
    pass "local --precision fp16: searched (the worker measures this tier now)"
else
    fail "local --precision fp16: exit $code"
fi

kill $WORKER $COORD 2>/dev/null
wait $WORKER $COORD 2>/dev/null
finish
