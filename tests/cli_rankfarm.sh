#!/bin/sh
# The rank model through the farm, on loopback with real processes: a tiny
# sweep -> `train --coordinator` (a sweep campaign on 2 sim workers, real
# compiles and sim times; the coordinator fits and stores the model) -> the
# model in the store -> `submit --strategy rank` uses it; and `local
# --strategy rank` on a store without a model says it fell back to proxy.
. "$(dirname "$0")/testlib.sh"

SIM=sim/h100-model/132sm
check () { [ "$(json_get "$1" "$2")" = True ] && pass "$3" || fail "$3"; }
cat > "$WORK/sweep.conf" <<'SWEEP'
sweep
    name = farmtiny
    description = "tests: 4 small problems, 6 configs each"
    seed = 11
    problems = 4
    configs = 6
    templates = U
    m = 32..64
    k = 16..48
    n = "2048"
    align = 16
    sparsity = 0.6..0.9
    structured = 0.5
    skew = 1.0
SWEEP

expect_exit 0 "train --help" "$SPMMFARM" train --help
expect_grep "train --coordinator EP --sweep FILE" "$WORK/out" "--help shows the farm's form"
expect_exit 2 "the farm's form needs --sweep" "$SPMMFARM" train --coordinator tcp://127.0.0.1:1 --gpu-type $SIM
expect_exit 2 "and no --store with it" "$SPMMFARM" train --coordinator tcp://127.0.0.1:1 --sweep "$WORK/sweep.conf" \
    --gpu-type $SIM --store "$WORK/x"

port=$((20000 + ($$ + 7919) % 20000))
WEP=tcp://127.0.0.1:$port CEP=tcp://127.0.0.1:$((port + 1))
C="--coordinator $CEP"
"$SPMMFARM" coordinator --store "$WORK/store" --workers $WEP --clients $CEP --heartbeat-ms 200 --log info \
    2>>"$WORK/coord.log" &
COORD=$!
WORKERS=""
for i in 1 2; do
    "$SPMMFARM" worker --connect $WEP --backend sim --compile-threads 1 2>>"$WORK/workers.log" &
    WORKERS="$WORKERS $!"
done
sleep 0.5
stop_farm () {
    for p in $WORKERS $COORD; do kill "$p" 2>/dev/null; done
    for p in $WORKERS $COORD; do wait "$p" 2>/dev/null; done
}

# ---- train --coordinator: the sweep on the farm, the model in its store
expect_exit 0 "train --coordinator --sweep (2 sim workers)" "$SPMMFARM" train $C --sweep "$WORK/sweep.conf" \
    --gpu-type $SIM --note farm --json
cp "$WORK/out" "$WORK/train.json"
check "$WORK/train.json" 'd["version"] == 1 and d["gpu_type"] == "'$SIM'"' "model version 1 of the sim type"
check "$WORK/train.json" 'd["problems"] == 4 and d["candidates"] >= 8 and d["jobs_failed"] == 0' \
    "trained on the sweep's 4 problems"
check "$WORK/train.json" '"train_recall_at_k" in d["metrics"] and d["metrics"]["features"] == 47 and d["metrics"]["features_version"] == 2' "with the stored metrics"
expect_grep "rank model 1 of $SIM stored" "$WORK/coord.log" "the coordinator logs the model it stored"

# ---- submit --strategy rank: the JOBs carry model 1
"$SPMMFARM" gen --m 64 --k 48 --sparsity 0.8 --seed 5 -o "$WORK/l.mtx" >/dev/null
expect_exit 0 "submit --strategy rank" "$SPMMFARM" submit "$WORK/l.mtx" --n 2048 --strategy rank --top-k 3 \
    --gpu-type $SIM $C --json
id=$(json_get "$WORK/out" 'd["campaign"]')
for i in $(seq 1 300); do
    "$SPMMFARM" status "$id" $C --json > "$WORK/st.json" 2>/dev/null &&
        state=$(json_get "$WORK/st.json" 'd["campaigns"][0]["state"]') &&
        [ "$state" != queued ] && [ "$state" != running ] && break
    sleep 0.2
done
check "$WORK/st.json" 'd["campaigns"][0]["state"] == "done"' "the rank campaign is done"
check "$WORK/st.json" 'd["campaigns"][0]["strategy"] == "rank" and d["campaigns"][0]["model_version"] == 1 and not d["campaigns"][0]["fallback"]' \
    "its status says it used model version 1"
check "$WORK/st.json" 'd["campaigns"][0]["candidates"] in (3 + 4 + 1, 3 + 4 + 2)' "a small layer: the top 3 timed in full, dense, baselines and each of our dense kernels (1 or 2 with the sim)"
expect_exit 0 "status text" "$SPMMFARM" status "$id" $C
expect_grep "rank model version 1" "$WORK/out" "status text names the model"
expect_grep "campaign $id: rank model version 1 of $SIM" "$WORK/coord.log" "the coordinator logs the model a campaign uses"

# ---- train --coordinator for a GPU type no worker has: it says so, then waits
expect_exit 124 "a sweep for a GPU type without workers waits" timeout 4 "$SPMMFARM" train $C \
    --sweep "$WORK/sweep.conf" --gpu-type "NVIDIA Absent GPU/sm_90/132sm" -q
expect_grep "no worker of GPU type 'NVIDIA Absent GPU/sm_90/132sm' is connected" "$WORK/err" \
    "train says no worker of that type is connected"
stop_farm

expect_exit 0 "store dump --db models" "$SPMMFARM" store dump "$WORK/store" --db models
expect_grep "v1: .*note=farm" "$WORK/out" "the model is in the coordinator's store"
expect_exit 0 "store dump --db campaigns" "$SPMMFARM" store dump "$WORK/store" --db campaigns --json
python3 - "$WORK/out" "$id" <<'PY' && pass "the campaign record keeps its model version" || fail "the campaign record keeps its model version"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
c = [r for r in recs if r["key"]["id"] == int(sys.argv[2])]
assert c and c[0]["value"]["search"]["model_version"] == 1 and not c[0]["value"]["search"]["fallback"], c
PY

# ---- local --strategy rank: the model of a store, or a fallback it reports
expect_exit 0 "local --strategy rank with the model" "$SPMMFARM" local "$WORK/l.mtx" --n 1024 --backend sim \
    --store "$WORK/store" --strategy rank --top-k 2 --compile-threads 2 --json -q
check "$WORK/out" 'd["strategy"] == "rank" and d["model_version"] == 1 and not d["fallback"]' "local used model 1"
expect_exit 0 "local --strategy rank without a model" "$SPMMFARM" local "$WORK/l.mtx" --n 1024 --backend sim \
    --store "$WORK/empty" --strategy rank --max-configs 3 --compile-threads 2 -q
expect_grep "fell back to proxy" "$WORK/out" "local says rank fell back to proxy"
expect_grep "no rank model for GPU type $SIM" "$WORK/err" "and the coordinator logs why"
finish
