#!/bin/sh
# spmmfarm tune-local with the sim backend: compiles are real (nvJitLink on
# the CPU), times come from the model and are labelled simulated.
. "$(dirname "$0")/testlib.sh"

"$SPMMFARM" gen --m 70 --k 27 --sparsity 0.7 --seed 3 -o "$WORK/l.mtx" >/dev/null
for strategy in proxy exhaustive; do
    expect_exit 0 "tune-local $strategy (sim)" "$SPMMFARM" tune-local "$WORK/l.mtx" --n 64 \
        --strategy $strategy --backend sim --max-configs 4 --json -q
    cp "$WORK/out" "$WORK/$strategy.json"
    expect_grep "SIMULATED" "$WORK/err" "$strategy: the sim backend is announced"
    for key in 'd["best"]["template"]' 'd["best"]["config"]' 'd["best"]["us"]' 'd["best"]["max_rel_err"]' \
               'd["baselines"]["sgemm_us"]' 'd["baselines"]["tf32_us"]' 'd["baselines"]["cusparse_us"]' \
               'd["search"]["wall_s"]' 'd["search"]["compile_cpu_s"]' 'd["search"]["gpu_s"]' \
               'd["search"]["candidates"]'; do
        json_get "$WORK/$strategy.json" "$key" >/dev/null 2>&1 && pass "$strategy: JSON has $key" \
            || fail "$strategy: JSON lacks $key"
    done
    [ "$(json_get "$WORK/$strategy.json" 'd["simulated"] and d["gpu"]["type"].startswith("sim/") and d["timing"] == "simulated"')" = True ] \
        && pass "$strategy: labelled simulated with a sim/ GPU type" || fail "$strategy: not labelled simulated"
    [ "$(json_get "$WORK/$strategy.json" 'd["best"]["verified"]')" = False ] \
        && pass "$strategy: a simulated winner is never reported verified" || fail "$strategy: sim claims verified"
    [ "$(json_get "$WORK/$strategy.json" 'd["search"]["compiled"] >= 4 and d["search"]["compile_cpu_s"] > 0')" = True ] \
        && pass "$strategy: candidates were really compiled" || fail "$strategy: nothing compiled"
done
# the default store is $SPMMFARM_STORE: testlib.sh points it into $WORK, so no
# test reads or writes the user's cache (~/.cache/spmmfarm/store)
[ "$(json_get "$WORK/proxy.json" 'd["store"]["dir"] == "'"$SPMMFARM_STORE"'" and d["store"]["recorded"] and not d["from_store"]')" = True ] \
    && pass "searches are recorded in the default store (the test's own)" || fail "default store not used"
# proxy: 4 proxies, then up to 4 finalists in full
[ "$(json_get "$WORK/proxy.json" 'sum(1 for c in d["candidates"] if c["proxy"]) == 4 and any(not c["proxy"] for c in d["candidates"])')" = True ] \
    && pass "proxy: proxies timed, finalists compiled in full" || fail "proxy: candidate mix"
[ "$(json_get "$WORK/exhaustive.json" 'all(not c["proxy"] for c in d["candidates"])')" = True ] \
    && pass "exhaustive: full kernels only" || fail "exhaustive: proxies present"
expect_exit 0 "text output" "$SPMMFARM" tune-local "$WORK/l.mtx" --n 64 --backend sim --max-configs 2 -q
expect_grep "SIMULATED" "$WORK/out" "text output says SIMULATED"
: > "$WORK/not-a-store"
expect_exit 0 "an unusable store is skipped" "$SPMMFARM" tune-local "$WORK/l.mtx" --n 64 --backend sim \
    --max-configs 2 -q --store "$WORK/not-a-store"
expect_grep "warning: store .*not-a-store" "$WORK/err" "with a warning"
expect_grep "^best: " "$WORK/out" "and the search's answer"
# --d-union: template D also in its union encoding (.e1), compiled for real
expect_exit 0 "tune-local --d-union" "$SPMMFARM" tune-local "$WORK/l.mtx" --n 64 --backend sim \
    --strategy exhaustive --templates D --d-union --no-store --json -q
cp "$WORK/out" "$WORK/union.json"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["candidates"]; u=[x for x in c if ".e1." in x["config"]]; sys.exit(not (u and all(x["status"] == "ok" and x["cubin_bytes"] > 0 for x in u) and len(u) < len(c)))' "$WORK/union.json" \
    && pass "--d-union: union configs compiled beside the rows ones" || fail "--d-union: union configs compiled"
expect_exit 0 "tune-local without --d-union" "$SPMMFARM" tune-local "$WORK/l.mtx" --n 64 --backend sim \
    --strategy exhaustive --templates D --no-store --json -q
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["candidates"]; sys.exit(any(".e1." in x["config"] for x in c))' "$WORK/out" \
    && pass "without it: no union config" || fail "without it: no union config"
# template D's slab kernel (.e2) is searched by default, compiled for real,
# and --no-d-slab leaves it out
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["candidates"]; u=[x for x in c if ".e2." in x["config"]]; sys.exit(not (u and all(x["status"] == "ok" and x["cubin_bytes"] > 0 for x in u) and len(u) < len(c)))' "$WORK/out" \
    && pass "slab configs compiled beside the rows ones by default" || fail "slab configs by default"
expect_exit 0 "tune-local --no-d-slab" "$SPMMFARM" tune-local "$WORK/l.mtx" --n 64 --backend sim \
    --strategy exhaustive --templates D --no-d-slab --no-store --json -q
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["candidates"]; sys.exit(not c or any(".e2." in x["config"] for x in c))' "$WORK/out" \
    && pass "--no-d-slab: no slab config" || fail "--no-d-slab: no slab config"
# --u-split: U's configs split over K (.k2/.k4/.k8) beside the unsplit ones,
# compiled for real, with finalists of each kind; the store's request says so
"$SPMMFARM" gen --m 64 --k 384 --sparsity 0.9 --seed 3 -o "$WORK/k384.mtx" >/dev/null
expect_exit 0 "tune-local --u-split" "$SPMMFARM" tune-local "$WORK/k384.mtx" --n 784 --backend sim \
    --templates U --u-split --max-configs 3 --proxy-top 1 --json -q
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["candidates"]; k=lambda x: ".k" in x["config"]
p=[x for x in c if x["proxy"]]; f=[x for x in c if not x["proxy"]]
sys.exit(not (len([x for x in p if k(x)]) == 3 and len([x for x in p if not k(x)]) == 3
              and sorted(k(x) for x in f) == [False, True] and all(x["status"] == "ok" and x["cubin_bytes"] > 0 for x in c)))' "$WORK/out" \
    && pass "--u-split: 3 proxies and a finalist of each kind" || fail "--u-split: candidate mix"
expect_exit 0 "store dump" "$SPMMFARM" store dump "$SPMMFARM_STORE" --db campaigns --json
expect_grep '"request":"tune-local strategy=proxy max-configs=3 proxy-top=1 templates=U u-split ' "$WORK/out" \
    "--u-split: the campaign's request records it"
expect_exit 0 "tune-local without --u-split" "$SPMMFARM" tune-local "$WORK/k384.mtx" --n 784 --backend sim \
    --templates U --max-configs 3 --no-store --json -q
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["candidates"]; sys.exit(not c or any(".k" in x["config"] for x in c))' "$WORK/out" \
    && pass "without it: no split config" || fail "without it: no split config"
expect_exit 2 "tune-local without --n" "$SPMMFARM" tune-local "$WORK/l.mtx"
expect_exit 2 "tune-local with a bad strategy" "$SPMMFARM" tune-local "$WORK/l.mtx" --n 8 --strategy bogus
expect_exit 2 "tune-local on a missing file" "$SPMMFARM" tune-local "$WORK/none.mtx" --n 8
expect_exit 1 "tune-local --backend cuda without a GPU fails at run time" \
    env SPMMFARM_LIBCUDA=/nonexistent/libcuda.so.1 "$SPMMFARM" tune-local "$WORK/l.mtx" --n 64 --backend cuda -q
expect_grep "driver" "$WORK/err" "and says why"
finish
