#!/bin/sh
# Search at model scale (issue 22), on the sim backend (compiles are real,
# times SIMULATED): the workers' compile cache (a second campaign on a
# fresh store compiles nothing; a corrupt entry is compiled again), and the
# campaign's search budget (--budget: planned per layer, respected,
# reported). Also a usage example of `local` with both.
. "$(dirname "$0")/testlib.sh"

"$SPMMFARM" gen --m 96 --k 128 --sparsity 0.8 --seed 1 -o "$WORK/a.mtx" >/dev/null 2>&1
"$SPMMFARM" gen --m 96 --k 128 --sparsity 0.8 --seed 2 -o "$WORK/b.mtx" >/dev/null 2>&1   # same shape
"$SPMMFARM" gen --m 64 --k 96 --sparsity 0.7 --seed 3 -o "$WORK/c.mtx" >/dev/null 2>&1
LAYERS="$WORK/a.mtx $WORK/b.mtx $WORK/c.mtx"
SEARCH="--n 64 --max-configs 2 --compile-threads 2 --budget 0 --json -q"

# compiles N: the worker's count of compiles the cache did not answer
compiles () { sed -n 's/.*compile cache .*: \([0-9]*\) hits, \([0-9]*\) compiles.*/\2/p' "$WORK/err" | tail -1; }
hits () { sed -n 's/.*compile cache .*: \([0-9]*\) hits, .*/\1/p' "$WORK/err" | tail -1; }
entries () { find "$1" -name '*.cubin' | wc -l; }
winners () { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join("%s=%s:%.4f" % (l["name"], l["config"], l["us"]) for l in d["layers"]))' "$1"; }

# 1. the compile cache: a first campaign fills it ...
KC="$WORK/kc"
expect_exit 0 "local, a first campaign" env SPMMFARM_COMPILE_CACHE="$KC" "$SPMMFARM" local $LAYERS $SEARCH \
    --store "$WORK/s1"
cp "$WORK/out" "$WORK/run1.json"
first=$(compiles)
[ -n "$first" ] && [ "$first" -gt 0 ] && pass "the first campaign compiles ($first kernels)" \
    || fail "the first campaign compiles: '$first'"
n1=$(entries "$KC")
[ "$n1" -eq "$first" ] && pass "each compile is one cache entry ($n1)" || fail "entries $n1, compiles $first"
expect_grep "compile cache .*: 0 hits, [0-9]+ compiles, [0-9]+ stored" "$WORK/err" "the worker reports its cache"

# 2. ... a second one on a fresh store compiles nothing and answers the same
expect_exit 0 "local, the same campaign on a fresh store" env SPMMFARM_COMPILE_CACHE="$KC" "$SPMMFARM" local \
    $LAYERS $SEARCH --store "$WORK/s2"
[ "$(compiles)" = 0 ] && pass "the second campaign compiles nothing" || fail "the second campaign compiled $(compiles)"
[ "$(hits)" -ge "$first" ] && pass "every compile answered by the cache ($(hits) hits)" || fail "hits $(hits) < $first"
[ "$(entries "$KC")" -eq "$n1" ] && pass "no entry added" || fail "entries $(entries "$KC") != $n1"
[ "$(winners "$WORK/run1.json")" = "$(winners "$WORK/out")" ] && pass "the same winners and times" \
    || fail "winners differ: $(winners "$WORK/run1.json") / $(winners "$WORK/out")"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
sys.exit(0 if b["compile_cpu_s"] < 0.5 * a["compile_cpu_s"] else 1)' "$WORK/run1.json" "$WORK/out" \
    && pass "compile CPU-s under half the first campaign's" || fail "compile CPU-s did not fall"

# 3. a corrupt entry is a miss: removed, compiled again, the answers unchanged
victim=$(find "$KC" -name '*.cubin' | head -1)
printf 'garbage' | dd of="$victim" bs=1 seek=300 conv=notrunc 2>/dev/null
expect_exit 0 "local with a corrupt cache entry" env SPMMFARM_COMPILE_CACHE="$KC" "$SPMMFARM" local $LAYERS \
    $SEARCH --store "$WORK/s3"
[ "$(compiles)" = 1 ] && pass "the corrupt entry compiled again" || fail "compiles $(compiles), wanted 1"
expect_grep "1 errors" "$WORK/err" "the corrupt entry counted"
[ "$(winners "$WORK/run1.json")" = "$(winners "$WORK/out")" ] && pass "still the same winners" \
    || fail "winners differ after the corrupt entry"

# 4. off: no cache
expect_exit 0 "local without a compile cache" env SPMMFARM_COMPILE_CACHE=off "$SPMMFARM" local "$WORK/c.mtx" \
    $SEARCH --store "$WORK/s4"
if grep -q "compile cache" "$WORK/err"; then fail "no cache when off"; else pass "no cache when off"; fi
# 5. --budget: four layers whose whole searches take minutes here, in 30 s:
#    every layer tuned, narrowed plans, said so, and about on time (the
#    calibration learns this host's speed from the first layer; the worker
#    stops a search at 1.25 x its share)
for i in 1 2 3 4; do
    "$SPMMFARM" gen --m 256 --k 256 --sparsity 0.9 --seed $((10 + i)) -o "$WORK/big$i.mtx" >/dev/null 2>&1
done
BIG="$WORK/big1.mtx $WORK/big2.mtx $WORK/big3.mtx $WORK/big4.mtx"
expect_exit 0 "local --budget 30s" env SPMMFARM_COMPILE_CACHE=off "$SPMMFARM" local $BIG --n 256 \
    --compile-threads 2 --budget 30s --json -q --store "$WORK/s5"
cp "$WORK/out" "$WORK/budget.json"
[ "$(json_get "$WORK/budget.json" 'd["budget_s"]')" = 30 ] && pass "the budget is recorded" || fail "budget_s"
[ "$(json_get "$WORK/budget.json" 'len(d["layers"])')" = 4 ] && pass "every layer tuned" || fail "layers"
json_get "$WORK/budget.json" 'd["layers_narrowed"] >= 1 and d["configs_skipped"] > 0' | grep -q True \
    && pass "the plans left configs out, and said how many" || fail "no narrowed plan reported"
json_get "$WORK/budget.json" 'd["wall_s"] <= 30 * 1.5 + 15' | grep -q True \
    && pass "about on time ($(json_get "$WORK/budget.json" 'round(d["wall_s"], 1)') s for 30 s)" \
    || fail "over time: $(json_get "$WORK/budget.json" 'd["wall_s"]') s for a 30 s budget"
expect_exit 0 "local --budget, text" env SPMMFARM_COMPILE_CACHE=off "$SPMMFARM" local $BIG --n 256 \
    --compile-threads 2 --budget 30s -q --store "$WORK/s5"
expect_grep "budget 30 s: (done|over) in" "$WORK/out" "the summary says what the budget did"
expect_exit 2 "a bad budget is refused" "$SPMMFARM" local $BIG --n 256 --budget 5d
expect_grep "not a duration" "$WORK/err" "and says why"
# local's default: a budget for the model, said when taken
expect_exit 0 "local without --budget" env SPMMFARM_COMPILE_CACHE=off "$SPMMFARM" local "$WORK/c.mtx" --n 64 \
    --max-configs 2 --compile-threads 2 --store "$WORK/s6"
expect_grep "a budget of 20 s for 1 layer \(20 s a layer on the sim backend" "$WORK/err" "local's default budget said"
expect_grep "budget 20 s: (done|over) in" "$WORK/out" "and reported"

expect_exit 0 "worker --help names the cache" "$SPMMFARM" worker --help
expect_grep "--compile-cache DIR" "$WORK/out" "worker --help: --compile-cache"
finish
