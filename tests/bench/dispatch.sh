#!/bin/bash
# dispatch.sh: the coordinator's dispatch rate with many sim workers and tiny
# jobs (docs/BENCHMARKS.md). A benchmark, not a test: it asserts nothing but
# that the campaign finishes, and prints the coordinator's --stats JSON.
#
#   tests/bench/dispatch.sh [WORKERS [LAYERS]] > dispatch.json
#
# WORKERS (default 64) `spmmfarm worker --dry-run` processes (each answers a
# job at once with made-up times: nothing is compiled) serve one coordinator
# on a fresh store; the campaign is a sweep of LAYERS (default 500) layers of
# one small matrix, 64 configs each in jobs of 16: 4 x LAYERS jobs. Figures:
# jobs/s from the first lease to the last result, lease latency p50/p99
# (READY, or a job queued, to JOB sent). SPMMFARM: the binary (default ./spmmfarm).
set -eu
W=${1:-64}
L=${2:-500}
SPMMFARM=${SPMMFARM:-./spmmfarm}
WORK=$(mktemp -d /tmp/spmmfarm-dispatch.XXXXXX)
trap 'kill $PIDS 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
PIDS=""
port () { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WEP=tcp://127.0.0.1:$(port)
CEP=tcp://127.0.0.1:$(port)
"$SPMMFARM" gen --m 96 --k 80 --sparsity 0.8 --seed 3 -o "$WORK/a.mtx" >/dev/null 2>&1
python3 - "$WORK" "$L" <<'PY'
import json, sys
w, n = sys.argv[1], int(sys.argv[2])
json.dump({"name": "dispatch%d" % n, "layers": [{"name": "l%d" % i, "file": "a.mtx", "n": 64 + i} for i in range(n)]},
          open(w + "/model.json", "w"))
PY
"$SPMMFARM" coordinator --store "$WORK/store" --workers $WEP --clients $CEP --stats "$WORK/stats.json" \
    --log warn 2>"$WORK/coord.log" &
COORD=$!
PIDS="$COORD"
sleep 0.5
for i in $(seq 1 "$W"); do
    "$SPMMFARM" worker --connect $WEP --backend sim --dry-run 2>>"$WORK/workers.log" &
    PIDS="$PIDS $!"
done
sleep 2  # every worker has said HELLO
t0=$(date +%s.%N)
id=$("$SPMMFARM" submit --model "$WORK/model.json" --strategy sweep --gpu-type sim/h100-model/132sm \
     --max-configs 64 --json --coordinator $CEP | python3 -c 'import json,sys; print(json.load(sys.stdin)["campaign"])')
state=running
while [ "$state" = queued ] || [ "$state" = running ]; do
    sleep 0.2
    state=$("$SPMMFARM" status "$id" --coordinator $CEP --json |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["campaigns"][0]["state"])')
done
t1=$(date +%s.%N)
kill -TERM $COORD; wait $COORD || true
python3 - "$WORK/stats.json" "$W" "$L" "$state" "$t0" "$t1" "$(nproc)" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
out = {"workers": int(sys.argv[2]), "layers": int(sys.argv[3]), "campaign_state": sys.argv[4],
       "submit_to_done_s": round(float(sys.argv[6]) - float(sys.argv[5]), 3), "cpus": int(sys.argv[7]),
       "note": "dry-run workers: times made up, nothing compiled; figures are the coordinator's"}
out.update(st)
print(json.dumps(out, indent=1))
PY
[ "$state" = done ]
