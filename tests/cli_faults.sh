#!/bin/sh
# Fault injection on the farm as processes (docs/RELIABILITY.md): the same
# campaigns run once without faults and once under kill -9 of workers and of
# the coordinator at random points, frozen (silent) workers and a full disk
# (tests/libsffault.so), with hostile peers beside them (tests/hostile_peer:
# greedy workers that take jobs and fall silent and forge results, a worker
# claiming a live worker's id, garbage, a client that never reads); the
# stores must hold exactly the same results (keys and times) and bests,
# nothing stored twice, no job failed.
# SF_FAULT_ROUNDS (default 6), SF_FAULT_LAYERS (the sweep's layers, default
# 48: 2 jobs each) and SF_FAULT_SEED (default: the pid) scale and replay a
# run; SF_FAULT_REPORT=FILE writes the figures as JSON.
. "$(dirname "$0")/testlib.sh"
FAULT="$TOP_BUILDDIR/tests/.libs/libsffault.so"
HOSTILE="$TOP_BUILDDIR/tests/hostile_peer"
ROUNDS=${SF_FAULT_ROUNDS:-6}
LAYERS=${SF_FAULT_LAYERS:-48}
SEED=${SF_FAULT_SEED:-$$}
echo "# seed $SEED, $ROUNDS rounds"

port=$((20000 + ($$ + 104729) % 20000))
WEP=tcp://127.0.0.1:$port CEP=tcp://127.0.0.1:$((port + 1))
C="--coordinator $CEP --timeout 2000"
COORD=""
start_coordinator () {  # STORE [flags]
    store=$1; shift
    LD_PRELOAD="$FAULT" SF_FAULT_TRIGGER="$WORK/full" ASAN_OPTIONS=verify_asan_link_order=0 \
        "$SPMMFARM" coordinator --store "$store" --workers $WEP --clients $CEP --heartbeat-ms 200 --liveness 3 \
        --log warn "$@" 2>>"$WORK/coord.log" &
    COORD=$!
    i=0; while ! "$SPMMFARM" status --coordinator $CEP --timeout 300 >/dev/null 2>&1 && [ $i -lt 50 ]; do
        i=$((i + 1)); done
}
start_worker () {  # [flags]: its pid in $!
    SPMMFARM_DRY_RUN_MS=${DRY_MS:-0} "$SPMMFARM" worker --connect $WEP --backend sim --dry-run "$@" \
        2>>"$WORK/workers.log" &
}
wait_ended () {  # CAMPAIGN SECONDS: its state in $state
    wait_campaign "$1" "$2" $C
}

# the campaigns: a sweep (48 layers x 32 configs in jobs of 16: 96 jobs)
# and a proxy search of 12 layers (one job each, bests)
"$SPMMFARM" gen --m 96 --k 80 --sparsity 0.8 --seed 3 -o "$WORK/a.mtx" >/dev/null 2>&1
"$SPMMFARM" gen --m 64 --k 48 --sparsity 0.9 --seed 5 -o "$WORK/b.mtx" >/dev/null 2>&1
python3 - "$WORK" "$LAYERS" <<'PY'
import json, sys
w, layers = sys.argv[1], int(sys.argv[2])
json.dump({"name": "sweep", "layers": [{"name": "l%d" % i, "file": "a.mtx", "n": 64 + i} for i in range(layers)]},
          open(w + "/sweep.json", "w"))
json.dump({"name": "search12", "layers": [{"name": "s%d" % i, "file": "b.mtx", "n": 200 + i} for i in range(12)]},
          open(w + "/search.json", "w"))
PY
submit_both () {
    "$SPMMFARM" submit --model "$WORK/sweep.json" --strategy sweep --gpu-type sim/h100-model/132sm \
        --max-configs 32 --json $C >"$WORK/sub1.json" 2>>"$WORK/err" || return 1
    "$SPMMFARM" submit --model "$WORK/search.json" --strategy proxy --max-configs 4 --json $C \
        >"$WORK/sub2.json" 2>>"$WORK/err" || return 1
    ID1=$(json_get "$WORK/sub1.json" 'd["campaign"]')
    ID2=$(json_get "$WORK/sub2.json" 'd["campaign"]')
}
snapshot () {  # STORE NAME: results, bests and campaigns as JSON lines
    for db in results best campaigns jobs; do
        "$SPMMFARM" store dump "$1" --db $db --json >"$WORK/$2.$db.json" || fail "dump $db of $2"
    done
}

# 1. the fault-free run
DRY_MS=20
start_coordinator "$WORK/ref"
for i in 1 2 3; do start_worker; eval "W$i=\$!"; done
submit_both && pass "reference: submitted" || fail "reference: submit"
wait_ended $ID1 60 && wait_ended $ID2 60 && [ "$state" = done ] && pass "reference: both campaigns done" \
    || fail "reference: state '$state'"
kill $W1 $W2 $W3; wait $W1 $W2 $W3 2>/dev/null
kill $COORD; wait $COORD 2>/dev/null
snapshot "$WORK/ref" ref

# 2. the same under faults
DRY_MS=300
start_coordinator "$WORK/run"
for i in 1 2 3; do start_worker; eval "W$i=\$!"; done
submit_both && pass "faulty run: submitted" || fail "faulty run: submit"
# the schedule: ROUNDS rounds of a worker killed (-9) and replaced, the
# coordinator killed (-9) and restarted, a worker frozen past its liveness
# and thawed, the disk full for a while (every other round); meanwhile
# hostile peers: a greedy worker, one claiming a live worker's id, garbage
# on both endpoints and a client that never reads its replies
kills_w=0 kills_c=0 freezes=0 fulls=0 hostile=0 HPIDS=""
hostile_round () {  # ROUND: four hostile peers for 1.5 s, in the background
    "$SPMMFARM" status --json $C >"$WORK/st.json" 2>/dev/null
    live=$(python3 -c 'import json,sys
w = [w for w in json.load(open(sys.argv[1]))["workers"] if w["state"] != "lost"]
print(w[0]["id"] + " " + w[0]["gpu"] if w else "")' "$WORK/st.json" 2>/dev/null)
    type=${live#* }; [ -n "$live" ] || type=sim/h100-model/132sm
    "$HOSTILE" greedy $WEP "$type" "greedy-$1" 1.5 >>"$WORK/hostile.log" 2>&1 & HPIDS="$HPIDS $!"
    [ -n "$live" ] && "$HOSTILE" greedy $WEP "$type" "${live% *}" 1.5 >>"$WORK/hostile.log" 2>&1 & HPIDS="$HPIDS $!"
    "$HOSTILE" garbage $WEP 1 >>"$WORK/hostile.log" 2>&1 & HPIDS="$HPIDS $!"
    "$HOSTILE" garbage $CEP 1 >>"$WORK/hostile.log" 2>&1 & HPIDS="$HPIDS $!"
    "$HOSTILE" flood $CEP 1 >>"$WORK/hostile.log" 2>&1 & HPIDS="$HPIDS $!"
    hostile=$((hostile + 1))
}
r=0
next_rand () { SEED=$(( (SEED * 1103515245 + 12345) % 2147483648 )); echo $(( SEED % $1 )); }
while [ $r -lt $ROUNDS ]; do
    r=$((r + 1))
    hostile_round $r
    sleep 0.$(( 2 + $(next_rand 6) ))
    victim=$(( 1 + $(next_rand 3) ))
    eval "pid=\$W$victim"
    kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
    start_worker; eval "W$victim=\$!"
    kills_w=$((kills_w + 1))
    sleep 0.$(( 2 + $(next_rand 6) ))
    kill -9 $COORD; wait $COORD 2>/dev/null
    kills_c=$((kills_c + 1))
    sleep 0.$(( 1 + $(next_rand 4) ))
    start_coordinator "$WORK/run"
    victim=$(( 1 + $(next_rand 3) ))
    eval "pid=\$W$victim"
    kill -STOP $pid; sleep 1; kill -CONT $pid
    freezes=$((freezes + 1))
    if [ $((r % 2)) = 1 ]; then
        : >"$WORK/full"; sleep 0.$(( 4 + $(next_rand 5) )); rm -f "$WORK/full"
        fulls=$((fulls + 1))
    fi
done
wait $HPIDS 2>/dev/null
ended=0
wait_ended $ID1 $((120 + LAYERS)) && s1=$state && wait_ended $ID2 120 && s2=$state && ended=1
if [ $ended = 1 ] && [ "$s1" = done ] && [ "$s2" = done ]; then pass "faulty run: both campaigns done"; else
    fail "faulty run: states '${s1:-}' '${s2:-}'"; tail -20 "$WORK/coord.log" | sed 's/^/    /'; fi
kill $W1 $W2 $W3 2>/dev/null; wait $W1 $W2 $W3 2>/dev/null
kill $COORD; wait $COORD 2>/dev/null
grep -q "disk full" "$WORK/coord.log" && pass "the full disk was met and named" || fail "no disk full in the log"
snapshot "$WORK/run" run
expect_exit 0 "the store of the faulty run verifies" "$SPMMFARM" store verify "$WORK/run"

# 3. compare
python3 - "$WORK" "$kills_w" "$kills_c" "$freezes" "$fulls" "${SF_FAULT_REPORT:-}" "$hostile" <<'PY' && \
    pass "same results, bests and jobs as without faults" || fail "the faulty run differs"
import json, sys
w, kw, kc, fz, fl, report = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
import re
hostile = {"rounds": int(sys.argv[7]), "greedy_jobs_held": 0, "forged_results": 0, "hijack_attempts": 0,
           "garbage_messages": 0, "flood_messages": 0}
for l in open(w + "/hostile.log"):
    m = re.match(r"hostile greedy (\S+): (\d+) jobs taken and held, (\d+) forged", l)
    if m:
        hostile["greedy_jobs_held"] += int(m.group(2))
        hostile["forged_results"] += int(m.group(3))
        hostile["hijack_attempts"] += not m.group(1).startswith("greedy-")
    m = re.match(r"hostile (garbage|flood): (\d+) messages", l)
    if m:
        hostile[m.group(1) + "_messages"] += int(m.group(2))
def lines(name):
    return [json.loads(l) for l in open("%s/%s.json" % (w, name)) if l.strip()]
def results(run):
    out = {}
    for r in lines(run + ".results"):
        k = r["key"]
        out.setdefault((k["gpu_type"], k["matrix"], k["n"], k["template"], k["config"], k["proxy"]), []).append(r["value"]["us"])
    return out
ref, run = results("ref"), results("run")
dup = sum(len(v) - 1 for v in run.values())
lost = len(set(ref) - set(run))
extra = len(set(run) - set(ref))
differ = sum(1 for k in set(ref) & set(run) if ref[k] != run[k])
def bests(run):
    return {(b["key"]["campaign"], b["key"]["layer"]): (b["value"]["config"], b["value"]["us"]) for b in lines(run + ".best")}
best_differ = sum(1 for k in set(bests("ref")) | set(bests("run")) if bests("ref").get(k) != bests("run").get(k))
jobs = lines("run.jobs")
failed = sum(1 for j in jobs if j["value"]["state"] == "failed")
not_done = sum(1 for j in jobs if j["value"]["state"] != "done")
lost_leases = sum(j["value"].get("lost", 0) for j in jobs)
retries = sum(max(0, j["value"]["attempts"] - 1) for j in jobs)
camps = lines("run.campaigns")
counted = sum(c["value"]["counters"]["results"] for c in camps)
figures = {"kill9_workers": kw, "kill9_coordinator": kc, "frozen_workers": fz, "disk_full": fl,
           "jobs": len(jobs), "results": len(run), "results_lost": lost, "results_duplicated": dup,
           "results_extra": extra, "results_differ": differ, "bests_differ": best_differ,
           "jobs_failed": failed, "jobs_not_done": not_done, "leases_lost": lost_leases,
           "retries_spent": retries, "campaign_result_counters": counted, "hostile": hostile}
print(json.dumps(figures))
if report:
    json.dump(figures, open(report, "w"), indent=1)
assert lost == 0 and dup == 0 and extra == 0 and differ == 0 and best_differ == 0, figures
assert failed == 0 and not_done == 0 and retries == 0, figures
PY

# 4. long jobs, short leases (issue 24, 11): jobs of 1.2 s on leases of
# 0.4 s, two held by one worker: the busy worker's heartbeats renew them,
# the queued one does not run out before it starts
rm -f "$WORK/full"
start_coordinator "$WORK/long" --lease-ms 400
DRY_MS=1200
start_worker --capacity 2; W1=$!
"$SPMMFARM" submit "$WORK/a.mtx" --n 70 --name long --strategy sweep --gpu-type sim/h100-model/132sm \
    --max-configs 64 --json $C >"$WORK/sub.json" 2>>"$WORK/err"
id=$(json_get "$WORK/sub.json" 'd["campaign"]')
wait_ended $id 30 && [ "$state" = done ] && pass "long jobs on short leases: done" || fail "long jobs: '$state'"
kill $W1; wait $W1 2>/dev/null
kill $COORD; wait $COORD 2>/dev/null
"$SPMMFARM" store dump "$WORK/long" --db jobs --json >"$WORK/long.jobs.json"
python3 - "$WORK/long.jobs.json" <<'PY' && pass "no lease ran out, none re-leased" || fail "leases ran out"
import json, sys
jobs = [json.loads(l)["value"] for l in open(sys.argv[1]) if l.strip()]
assert len(jobs) == 4, len(jobs)
assert all(j["state"] == "done" and j["attempts"] == 1 and j.get("lost", 0) == 0 for j in jobs), jobs
PY
finish
