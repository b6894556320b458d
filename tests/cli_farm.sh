#!/bin/sh
# The farm as separate processes on loopback: a coordinator, workers, clients,
# one LMDB store. Workers run --dry-run (answers without compiling, labelled
# simulated) so that 4 of them and 200+ jobs fit on a CI machine; the
# coordinator, sockets, store and processes are the real ones. `local` at the
# end runs the real sim backend (real compiles).
. "$(dirname "$0")/testlib.sh"

for c in coordinator worker submit status cancel local export; do
    expect_exit 0 "$c --help" "$SPMMFARM" $c --help
done
expect_exit 2 "coordinator without --store" "$SPMMFARM" coordinator
expect_exit 2 "submit without layers" "$SPMMFARM" submit --n 4
expect_exit 2 "status with a bad id" "$SPMMFARM" status abc
expect_exit 1 "status without a coordinator" "$SPMMFARM" status --coordinator tcp://127.0.0.1:1 --timeout 300
expect_grep "no answer from the coordinator" "$WORK/err" "says nobody answered"

# model manifests (issue 24, 13): an unknown key is named, a non-boolean
# "relu" refused, invalid JSON located by line and column
"$SPMMFARM" gen --m 16 --k 16 --sparsity 0.5 --seed 1 -o "$WORK/m.mtx" >/dev/null 2>&1
printf '{"name": "m", "n": 8, "layers": [{"file": "m.mtx", "rleu": true}]}\n' >"$WORK/typo.json"
expect_exit 2 "a misspelled key in a manifest" "$SPMMFARM" submit --model "$WORK/typo.json" \
    --coordinator tcp://127.0.0.1:1 --timeout 300
expect_grep 'layers\[0\]: unknown key "rleu" \(a layer has "file", "name", "tensor", "n", "bias", "relu", "conv",' \
    "$WORK/err" "the unknown key is named, with the keys a layer has"
printf '{"name": "m", "n": 8, "layer": [{"file": "m.mtx"}]}\n' >"$WORK/typo2.json"
expect_exit 2 "a misspelled top-level key" "$SPMMFARM" submit --model "$WORK/typo2.json" \
    --coordinator tcp://127.0.0.1:1 --timeout 300
expect_grep 'unknown key "layer"' "$WORK/err" "the top-level key is named"
printf '{"name": "m", "n": 8, "layers": [{"file": "m.mtx", "relu": "yes"}]}\n' >"$WORK/bool.json"
expect_exit 2 "relu that is not a boolean" "$SPMMFARM" submit --model "$WORK/bool.json" \
    --coordinator tcp://127.0.0.1:1 --timeout 300
expect_grep '"relu" must be true or false' "$WORK/err" "says what relu must be"
printf '{\n  "name": "m",\n  "n": 8,\n  "layers": [{"file": "m.mtx",}]\n}\n' >"$WORK/bad.json"
expect_exit 2 "invalid JSON in a manifest" "$SPMMFARM" submit --model "$WORK/bad.json" \
    --coordinator tcp://127.0.0.1:1 --timeout 300
expect_grep "bad.json:4:[0-9]+: invalid JSON" "$WORK/err" "invalid JSON: line 4 and its column"

port=$((20000 + $$ % 20000))
WEP=tcp://127.0.0.1:$port CEP=tcp://127.0.0.1:$((port + 1))
C="--coordinator $CEP"
start_coordinator () {
    "$SPMMFARM" coordinator --store "$WORK/store" --workers $WEP --clients $CEP --heartbeat-ms 200 --liveness 3 \
        --log warn "$@" 2>>"$WORK/coord.log" &
    COORD=$!
    sleep 0.5
}
start_workers () {  # N [flags]
    n=$1; shift
    WORKERS=""
    for i in $(seq 1 $n); do
        SPMMFARM_DRY_RUN_MS=${DRY_MS:-0} "$SPMMFARM" worker --connect $WEP --backend sim --dry-run "$@" \
            2>>"$WORK/workers.log" &
        WORKERS="$WORKERS $!"
    done
}
wait_done () {  # CAMPAIGN: waits up to 60 s for it to end
    wait_campaign "$1" 60 $C
}
# expected: the union over the campaigns' jobs of (N, config), each stored
# exactly once (a job's layer l is N = 64 + l), and every job done
check_results () {  # WHAT
    store_results_exact "$WORK/store" && pass "$1: results in the store are the expected set" \
        || fail "$1: results differ"
}
# A sweep model: 50 layers of one matrix at N = 64..113; 64 configs each in
# jobs of 16: 200 jobs.
"$SPMMFARM" gen --m 96 --k 80 --sparsity 0.8 --seed 3 -o "$WORK/a.mtx" >/dev/null 2>&1
python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
json.dump({"name": "sweep50", "layers": [{"name": "l%d" % i, "file": "a.mtx", "n": 64 + i} for i in range(50)]},
          open(w + "/model.json", "w"))
PY

# 1. a coordinator and 4 workers finish a campaign of 200 jobs
start_coordinator
start_workers 4
expect_exit 0 "submit a sweep of 50 layers" "$SPMMFARM" submit --model "$WORK/model.json" --strategy sweep \
    --gpu-type sim/h100-model/132sm --max-configs 64 --json $C
id=$(json_get "$WORK/out" 'd["campaign"]')
wait_done $id && pass "the campaign ends" || fail "the campaign ends"
expect_exit 0 "status --json" "$SPMMFARM" status $id $C --json
cp "$WORK/out" "$WORK/s1.json"
[ "$(json_get "$WORK/s1.json" 'd["campaigns"][0]["jobs_total"]')" -ge 200 ] && pass "at least 200 jobs" || fail "at least 200 jobs"
[ "$(json_get "$WORK/s1.json" 'd["campaigns"][0]["state"]')" = done ] && pass "done" || fail "done"
[ "$(json_get "$WORK/s1.json" 'len([x for x in d["workers"] if x["state"] != "lost"])')" = 4 ] && pass "4 workers" || fail "4 workers"
expect_exit 0 "status (text)" "$SPMMFARM" status $C
expect_grep "sweep50 +done" "$WORK/out" "text status"

# 2. a worker killed with SIGKILL mid-campaign: its jobs are requeued
DRY_MS=30
kill $WORKERS 2>/dev/null; wait $WORKERS 2>/dev/null
start_workers 3
victim=$(echo $WORKERS | cut -d" " -f1)
expect_exit 0 "submit a second sweep" "$SPMMFARM" submit --model "$WORK/model.json" --strategy sweep \
    --gpu-type sim/h100-model/132sm --max-configs 64 --seed 7 --json $C
id2=$(json_get "$WORK/out" 'd["campaign"]')
sleep 0.7
kill -9 $victim
wait_done $id2 && pass "completes after a worker is killed" || fail "completes after a worker is killed"
[ "$(json_get "$WORK/st.json" 'd["campaigns"][0]["jobs_failed"]')" = 0 ] && pass "no job failed" || fail "no job failed"

# 3. the coordinator killed with SIGKILL mid-campaign, restarted on the store
expect_exit 0 "submit a third sweep" "$SPMMFARM" submit --model "$WORK/model.json" --strategy sweep \
    --gpu-type sim/h100-model/132sm --max-configs 64 --seed 11 --json $C
id3=$(json_get "$WORK/out" 'd["campaign"]')
sleep 0.7
kill -9 $COORD; wait $COORD 2>/dev/null
start_coordinator
wait_done $id3 && pass "completes after a coordinator restart" || fail "completes after a coordinator restart"
kill $WORKERS 2>/dev/null; wait $WORKERS 2>/dev/null
kill $COORD; wait $COORD 2>/dev/null
expect_exit 0 "store verify" "$SPMMFARM" store verify "$WORK/store"
check_results "3 campaigns (4 workers; a worker killed; the coordinator killed)"

# 4. CurveZMQ: an allowed worker works, an unknown one is refused
"$SPMMFARM" keygen "$WORK/curve" --name coordinator >/dev/null
"$SPMMFARM" keygen "$WORK/curve" --name worker >/dev/null
"$SPMMFARM" keygen "$WORK/curve" --name client >/dev/null
"$SPMMFARM" keygen "$WORK/other" --name worker >/dev/null
cp "$WORK/curve/coordinator.cert" "$WORK/other/"
mkdir -m 700 "$WORK/curve/allowed"
cp "$WORK/curve/worker.cert" "$WORK/curve/client.cert" "$WORK/curve/allowed/"
rm -rf "$WORK/store"
start_coordinator --curve-dir "$WORK/curve"
DRY_MS=0
start_workers 1 --curve-dir "$WORK/other"
stranger=$WORKERS
start_workers 1 --curve-dir "$WORK/curve"
C="--coordinator $CEP --curve-dir $WORK/curve --timeout 30000"
expect_exit 0 "submit with CURVE" "$SPMMFARM" submit "$WORK/a.mtx" --n 64 --strategy sweep \
    --gpu-type sim/h100-model/132sm --max-configs 8 --json $C
id4=$(json_get "$WORK/out" 'd["campaign"]')
wait_done $id4 && pass "the allowed worker works" || fail "the allowed worker works"
"$SPMMFARM" status $C --json > "$WORK/s4.json"
[ "$(json_get "$WORK/s4.json" 'len(d["workers"])')" = 1 ] && pass "the unknown worker never got in" \
    || fail "the unknown worker never got in"
expect_exit 1 "a client without the right key gets no answer" "$SPMMFARM" status --coordinator $CEP \
    --cert "$WORK/other/worker.cert" --server-cert "$WORK/curve/coordinator.cert" --timeout 500
kill $WORKERS $stranger 2>/dev/null; wait $WORKERS $stranger 2>/dev/null
kill $COORD; wait $COORD 2>/dev/null

# 5. local: the embedded farm, real sim backend, end to end with a bundle
"$SPMMFARM" gen --m 64 --k 64 --sparsity 0.9 --seed 1 -o "$WORK/l1.mtx" >/dev/null 2>&1
"$SPMMFARM" gen --m 32 --k 64 --sparsity 0.8 --seed 2 -o "$WORK/l2.mtx" >/dev/null 2>&1
expect_exit 0 "local (sim)" "$SPMMFARM" local "$WORK/l1.mtx" "$WORK/l2.mtx" --n 64 --store "$WORK/lstore" \
    --max-configs 2 --compile-threads 2 -o "$WORK/local.bundle" --allow-simulated -q
expect_grep "SIMULATED" "$WORK/out" "local labels simulated times"
expect_exit 0 "the bundle verifies" "$SPMMFARM" bundle verify "$WORK/local.bundle" --key "$WORK/lstore/bundle-signing.pub"
expect_exit 0 "local again: answered from the store" "$SPMMFARM" local "$WORK/l1.mtx" "$WORK/l2.mtx" --n 64 \
    --store "$WORK/lstore" --max-configs 2 --json -q
[ "$(json_get "$WORK/out" 'd["candidates"]')" = 0 ] && pass "nothing measured twice" || fail "nothing measured twice"
finish
