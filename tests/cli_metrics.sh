#!/bin/sh
# spmmfarm metrics: a coordinator's counters in the Prometheus text format,
# scraped during a campaign (one sim worker, four layers, two at a time:
# jobs leased and pending, a busy worker) and after it (results, a done
# campaign, jobs done); every line parses as the text format says.
. "$(dirname "$0")/testlib.sh"

P=$((20000 + ($$ % 3000) * 4 + 2))  # below the ephemeral range (32768 up)
W="tcp://127.0.0.1:$P"; C="--coordinator tcp://127.0.0.1:$((P + 1))"
"$SPMMFARM" coordinator --store "$WORK/store" --workers "$W" --clients "tcp://127.0.0.1:$((P + 1))" \
    --log error 2>"$WORK/coord.err" &
coord=$!
trap 'kill $coord $worker 2>/dev/null; wait $coord $worker 2>/dev/null; rm -rf "$WORK"' EXIT
"$SPMMFARM" worker --connect "$W" --backend sim --compile-threads 1 --capacity 2 >/dev/null 2>&1 &
worker=$!

expect_exit 0 "metrics --help" "$SPMMFARM" metrics --help
expect_exit 2 "metrics with an argument" "$SPMMFARM" metrics extra $C

# check_format FILE: every sample line is NAME{LABELS} VALUE, every family
# has its HELP and TYPE (the text format 0.0.4), and prints NAME VALUE
# pairs for the checks below.
check_format () {
    python3 - "$1" <<'PY'
import re, sys
families, helped, typed, bad = set(), set(), set(), []
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN)$')
for line in open(sys.argv[1]):
    line = line.rstrip('\n')
    if line.startswith('# HELP '):
        helped.add(line.split()[2])
    elif line.startswith('# TYPE '):
        typed.add(line.split()[2])
    elif not sample.match(line):
        bad.append(line)
    else:
        families.add(line.split('{')[0].split(' ')[0])
        print(line)
if bad or families - helped or families - typed:
    print("BAD", bad, families - helped, families - typed)
PY
}

for i in 1 2 3 4; do
    "$SPMMFARM" gen --m 192 --k 192 --sparsity 0.95 --seed "$i" -o "$WORK/l$i.mtx" >/dev/null
done
ok=0
for i in $(seq 1 60); do
    "$SPMMFARM" metrics $C >"$WORK/m0.txt" 2>/dev/null && grep -q 'state="idle"} 1' "$WORK/m0.txt" && { ok=1; break; }
    sleep 0.25
done
[ "$ok" = 1 ] && pass "the worker is there before the campaign" || fail "the worker is there before the campaign"
expect_exit 0 "submit 4 layers" "$SPMMFARM" submit "$WORK"/l?.mtx --n 64 --max-configs 2 --json $C
id=$(json_get "$WORK/out" 'd["campaign"]')
during=0
for i in $(seq 1 100); do
    "$SPMMFARM" metrics $C >"$WORK/m1.txt" 2>/dev/null
    grep -q '^spmmfarm_jobs{state="leased"} [1-9]' "$WORK/m1.txt" && { during=1; break; }
    sleep 0.1
done
[ "$during" = 1 ] && pass "scraped during the campaign: jobs leased" || fail "scraped during the campaign"
check_format "$WORK/m1.txt" >"$WORK/m1.samples"
if grep -q "^BAD" "$WORK/m1.samples"; then fail "the text format: $(grep BAD "$WORK/m1.samples")"; else pass "the text format parses"; fi
expect_grep '^spmmfarm_campaigns\{state="running"\} 1$' "$WORK/m1.samples" "a running campaign"
expect_grep '^spmmfarm_jobs\{state="pending"\} [0-9]+$' "$WORK/m1.samples" "jobs pending"
expect_grep '^spmmfarm_queue_depth [0-9]+$' "$WORK/m1.samples" "the queue depth"
expect_grep '^spmmfarm_leases_active [1-9]' "$WORK/m1.samples" "active leases"
expect_grep '^spmmfarm_workers\{gpu_type="sim/h100-model/132sm",state="busy"\} 1$' "$WORK/m1.samples" "workers by GPU type and state"
expect_grep '^spmmfarm_lease_latency_ms\{quantile="0.5"\} [0-9.e+-]+$' "$WORK/m1.samples" "lease latency p50"
expect_grep '^spmmfarm_lease_latency_ms\{quantile="0.99"\} [0-9.e+-]+$' "$WORK/m1.samples" "lease latency p99"
expect_grep '^spmmfarm_store_bytes [1-9][0-9]*$' "$WORK/m1.samples" "the store's size"

expect_exit 0 "the campaign ends" timeout 120 "$SPMMFARM" status "$id" --watch --interval 200 $C
expect_exit 0 "metrics -o FILE" "$SPMMFARM" metrics $C -o "$WORK/spmmfarm.prom"
check_format "$WORK/spmmfarm.prom" >"$WORK/m2.samples"
if grep -q "^BAD" "$WORK/m2.samples"; then fail "the file's format"; else pass "the file's format parses"; fi
expect_grep '^spmmfarm_campaigns\{state="done"\} 1$' "$WORK/m2.samples" "after: a done campaign"
expect_grep '^spmmfarm_jobs\{state="done"\} 4$' "$WORK/m2.samples" "after: 4 jobs done"
expect_grep '^spmmfarm_jobs\{state="leased"\} 0$' "$WORK/m2.samples" "after: nothing leased"
expect_grep '^spmmfarm_leases_total 4$' "$WORK/m2.samples" "after: 4 leases"
expect_grep '^spmmfarm_results_total 4$' "$WORK/m2.samples" "after: 4 results"
expect_grep '^spmmfarm_results_per_second [0-9.e+-]+$' "$WORK/m2.samples" "results per second"
expect_grep '^spmmfarm_workers\{gpu_type="sim/h100-model/132sm",state="idle"\} 1$' "$WORK/m2.samples" "after: the worker idle"
if ls "$WORK"/spmmfarm.prom.tmp-* >/dev/null 2>&1; then fail "no temporary file left"; else pass "no temporary file left"; fi
expect_exit 0 "metrics --bare" "$SPMMFARM" metrics $C --bare
if grep -q '^#' "$WORK/out"; then fail "--bare: no HELP/TYPE lines"; else pass "--bare: no HELP/TYPE lines"; fi
expect_grep '^spmmfarm_up 1$' "$WORK/out" "--bare: the values"
finish
