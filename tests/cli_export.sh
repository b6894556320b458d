#!/bin/sh
# tune-local remembers its searches in a store and answers a repeated request
# from it; `spmmfarm export` turns a recorded campaign into a bundle that
# `spmmfarm bundle` inspects and verifies. Sim backend: no GPU needed. On a
# machine with a GPU it also tunes real layers into a store, exports them and
# runs the bundle through verify, rt_demo and (with torch) torch_demo.
#   RT_DEMO, SPMMFARM_RT_LIB: override the demo and the library (device runs)
. "$(dirname "$0")/testlib.sh"
RT_LIB=${SPMMFARM_RT_LIB:-$TOP_BUILDDIR/runtime/.libs/libspmmfarm-rt.so.0}
RT_DEMO=${RT_DEMO:-$TOP_BUILDDIR/examples/rt_demo}
export PYTHONDONTWRITEBYTECODE=1

T="$WORK/t.store"
"$SPMMFARM" gen --m 70 --k 27 --sparsity 0.7 --seed 3 -o "$WORK/l.mtx" >/dev/null
# a layer where template D beats SGEMM in the model: a recorded kernel with data
"$SPMMFARM" gen --m 512 --k 512 --sparsity 0.98 --seed 3 -o "$WORK/wide.mtx" >/dev/null
tune () { "$SPMMFARM" tune-local "$@" --backend sim --max-configs 4 -q; }
ms () { date +%s%N | cut -c1-13; }

# ---- the first run searches and records, the second answers from the store
t0=$(ms)
expect_exit 0 "tune-local --store: first run searches" tune "$WORK/l.mtx" --n 64 --store "$T" --json
t1=$(ms)
cp "$WORK/out" "$WORK/first.json"
[ "$(json_get "$WORK/first.json" 'd["from_store"] is False and d["store"]["recorded"] and d["store"]["campaign"] == 1 and d["search"]["compiled"] > 0')" = True ] \
    && pass "first run: searched, recorded as campaign 1" || fail "first run: $(cat "$WORK/first.json" | head -c 300)"
expect_exit 0 "tune-local --store: second run" tune "$WORK/l.mtx" --n 64 --store "$T" --json
t2=$(ms)
cp "$WORK/out" "$WORK/second.json"
expect_grep "answered from the store: campaign 1, measured [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}" "$WORK/err" \
    "second run says it answered from the store"
[ "$(json_get "$WORK/second.json" 'd["from_store"] is True and d["store"]["campaign"] == 1 and d["search"]["wall_s"] == 0 and d["search"]["gpu_s"] == 0 and d["store"]["search"]["wall_s"] > 0')" = True ] \
    && pass "second run: from_store, zero search cost, the stored search's cost kept" || fail "second run JSON"
[ "$(python3 -c 'import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); print(a["best"]==b["best"] and a["baselines"]==b["baselines"] and a["gpu"]["type"]==b["gpu"]["type"])' "$WORK/first.json" "$WORK/second.json")" = True ] \
    && pass "second run: the same winner and baselines" || fail "second run: another answer"
fast=2000; [ "${SF_SANITIZE_INNER:-}" = 1 ] && fast=10000  # ASan+UBSan build: ~3x slower
[ $((t2 - t1)) -lt $fast ] && [ $((t2 - t1)) -lt $((t1 - t0)) ] \
    && pass "second run is fast ($((t2 - t1)) ms, the search took $((t1 - t0)) ms)" \
    || fail "second run took $((t2 - t1)) ms (search: $((t1 - t0)) ms)"
expect_exit 0 "text output from the store" tune "$WORK/l.mtx" --n 64 --store "$T"
expect_grep "search: +none: answered from the store: campaign 1, measured" "$WORK/out" "text says answered from the store"
expect_grep "SIMULATED" "$WORK/out" "and still says SIMULATED"

# ---- what the request is: another option searches again; --no-store never reads
expect_exit 0 "another request (--max-configs 3)" "$SPMMFARM" tune-local "$WORK/l.mtx" --n 64 \
    --backend sim --max-configs 3 -q --store "$T" --json
[ "$(json_get "$WORK/out" 'd["from_store"] is False and d["store"]["campaign"] == 2')" = True ] \
    && pass "a different max-configs is a new campaign" || fail "max-configs not part of the request"
expect_exit 0 "--relu is another request" tune "$WORK/l.mtx" --n 64 --relu --store "$T" --json
[ "$(json_get "$WORK/out" 'd["from_store"] is False and d["store"]["campaign"] == 3')" = True ] \
    && pass "relu is part of the request" || fail "relu not part of the request"
expect_exit 0 "--no-store searches" tune "$WORK/l.mtx" --n 64 --no-store --json
[ "$(json_get "$WORK/out" 'd["from_store"] is False and d["store"] is None')" = True ] \
    && pass "--no-store: no store used" || fail "--no-store used a store"
expect_exit 0 "D winner recorded" tune "$WORK/wide.mtx" --n 256 --templates D --store "$T" --json
[ "$(json_get "$WORK/out" 'd["best"]["template"] == "D" and d["store"]["campaign"] == 4')" = True ] \
    && pass "a template D winner, campaign 4" || fail "wide layer: $(json_get "$WORK/out" 'd["best"]')"
expect_exit 0 "D winner from the store, --save-cubin" tune "$WORK/wide.mtx" --n 256 --templates D \
    --store "$T" --save-cubin "$WORK/w.cubin"
expect_grep "answered from the store: campaign 4" "$WORK/out" "the D winner answered from the store"
[ -s "$WORK/w.cubin" ] && [ -s "$WORK/w.cubin.cu" ] && [ -s "$WORK/w.cubin.data" ] \
    && pass "--save-cubin writes the stored kernel, source and data" || fail "--save-cubin from the store"
expect_exit 0 "store verify" "$SPMMFARM" store verify "$T"
expect_exit 0 "store dump campaigns" "$SPMMFARM" store dump "$T" --db campaigns --json
[ "$(wc -l < "$WORK/out")" -eq 4 ] && pass "4 campaigns in the store" || fail "campaigns: $(wc -l < "$WORK/out")"
expect_grep '"request":"tune-local strategy=proxy max-configs=4 proxy-top=4 templates=UD' "$WORK/out" \
    "campaigns carry their request"

# ---- export: simulated winners need --allow-simulated
expect_exit 2 "export of simulated winners is refused" "$SPMMFARM" export 1 --store "$T" -o "$WORK/b1.bundle"
expect_grep "SIMULATED.*--allow-simulated" "$WORK/err" "and says why"
[ ! -e "$WORK/b1.bundle" ] && pass "nothing written" || fail "a refused export wrote a bundle"
expect_exit 0 "export 1" "$SPMMFARM" export 1 --store "$T" -o "$WORK/b1.bundle" --allow-simulated
expect_grep "wrote .*b1.bundle: 1 layer \(1 dense\) of campaign 1 for sim/h100-model/132sm \(compute capability 9.0\); times SIMULATED" \
    "$WORK/out" "export says what it wrote"
expect_exit 0 "bundle inspect --json" "$SPMMFARM" bundle inspect "$WORK/b1.bundle" --json
cp "$WORK/out" "$WORK/b1.json"
[ "$(json_get "$WORK/b1.json" 'd["simulated"] and d["gpu"]["type"] == "sim/h100-model/132sm" and d["gpu"]["compute_capability"] == "9.0" and d["layers"][0]["name"] == "l" and d["layers"][0]["n"] == 64 and d["layers"][0]["m"] == 70 and d["layers"][0]["k"] == 27')" = True ] \
    && pass "manifest: simulated, GPU type, layer l 70 x 27 at N = 64" || fail "manifest: $(head -c 300 "$WORK/b1.json")"
[ "$(python3 -c 'import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); l=b["layers"][0]; print(l["config"]==a["best"]["config"] and l["template"]==a["best"]["template"] and abs(l["time_us"]-a["best"]["us"])<1e-9 and l["verified_error"] is None)' "$WORK/first.json" "$WORK/b1.json")" = True ] \
    && pass "manifest: tune-local's winner, its time, not verified (simulated)" || fail "manifest layer vs tune-local"
expect_exit 1 "bundle verify: signed by a key it was not told to trust" "$SPMMFARM" bundle verify "$WORK/b1.bundle"
expect_grep "no key is trusted here" "$WORK/err" "verify says why"
expect_exit 0 "bundle verify --key (the store's)" "$SPMMFARM" bundle verify "$WORK/b1.bundle" --key "$T/bundle-signing.pub"
expect_grep "schema and checksums ok|layers ok on GPU" "$WORK/out" "verify: checksums ok"
expect_grep "signature: signed by $(cat "$T/bundle-signing.pub") \(a trusted key\)" "$WORK/out" "verify: signed by the store's key"
expect_exit 0 "export the D layer" "$SPMMFARM" export 4 --store "$T" -o "$WORK/d.bundle" --allow-simulated --json
[ "$(json_get "$WORK/out" 'd["layers"] == 1 and d["dense"] == 0 and d["simulated"] and d["first_campaign"] == 4')" = True ] \
    && pass "export --json" || fail "export --json: $(cat "$WORK/out")"
expect_exit 0 "bundle verify (D)" env SPMMFARM_TRUSTED_KEYS="$T/bundle-signing.pub" "$SPMMFARM" bundle verify \
    "$WORK/d.bundle" --json
"$SPMMFARM" bundle inspect "$WORK/d.bundle" --json > "$WORK/d.json"
[ "$(json_get "$WORK/d.json" 'd["layers"][0]["template"] == "D" and d["layers"][0]["data"]["bytes"] > 0 and d["layers"][0]["source"]["file"] == "src/wide.cu"')" = True ] \
    && pass "D layer: CUDA source and data" || fail "D layer manifest"
cmp -s "$WORK/w.cubin" "$WORK/d.bundle/kernels/wide.cubin" && pass "the bundle's cubin is the stored one" \
    || fail "cubin differs from --save-cubin's"
expect_exit 1 "export onto an existing bundle" "$SPMMFARM" export 1 --store "$T" -o "$WORK/b1.bundle" --allow-simulated
expect_exit 0 "export --force replaces it" "$SPMMFARM" export 1 --store "$T" -o "$WORK/b1.bundle" --allow-simulated --force

# ---- --all: every done campaign of the GPU type; clashing names prefixed
expect_exit 0 "export --all" "$SPMMFARM" export --all --store "$T" -o "$WORK/all.bundle" --allow-simulated
"$SPMMFARM" bundle inspect "$WORK/all.bundle" --json > "$WORK/all.json"
[ "$(json_get "$WORK/all.json" '[l["name"] for l in d["layers"]]')" = "['l-n64-1.l', 'l-n64-2.l', 'l-n64-relu.l', 'wide']" ] \
    && pass "--all: 4 layers, clashing names prefixed by campaign" || fail "--all names: $(json_get "$WORK/all.json" '[l["name"] for l in d["layers"]]')"
expect_exit 2 "--all of a GPU type without campaigns" "$SPMMFARM" export --all --store "$T" -o "$WORK/x.bundle" \
    --gpu-type "NVIDIA H100 80GB HBM3/sm_90/132sm"
expect_grep "no done campaign of NVIDIA H100" "$WORK/err" "says none is done"

# ---- usage
expect_exit 2 "export without a campaign" "$SPMMFARM" export --store "$T" -o "$WORK/x.bundle"
expect_exit 2 "export without -o" "$SPMMFARM" export 1 --store "$T"
expect_exit 2 "export --all with a campaign" "$SPMMFARM" export 1 --all --store "$T" -o "$WORK/x.bundle"
expect_exit 2 "export of a bad campaign id" "$SPMMFARM" export x1 --store "$T" -o "$WORK/x.bundle"
expect_exit 2 "export of a missing campaign" "$SPMMFARM" export 99 --store "$T" -o "$WORK/x.bundle"
expect_grep "no campaigns record 99" "$WORK/err" "names the campaign"
expect_exit 2 "export from a missing store" "$SPMMFARM" export 1 --store "$WORK/none" -o "$WORK/x.bundle"
expect_exit 2 "tune-local --store with --no-store" tune "$WORK/l.mtx" --n 64 --store "$T" --no-store

# ---- a real GPU: tune-local's store -> export -> the runtime --------------------
HAVE_GPU=$("$SPMMFARM" devices --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["devices"]) > 0)' 2>/dev/null)
if [ "$HAVE_GPU" = True ]; then
    G="$WORK/gpu.store"
    "$SPMMFARM" gen --m 768 --k 768 --sparsity 0.98 --seed 1 -o "$WORK/q98.mtx" >/dev/null
    "$SPMMFARM" gen --m 96 --k 27 --sparsity 0.5 --seed 2 -o "$WORK/conv.mtx" >/dev/null
    "$SPMMFARM" gen --m 256 --k 256 --sparsity 0.2 --seed 3 -o "$WORK/half.mtx" >/dev/null
    # a small sample and two finalists: full U kernels are the compile cost
    gtune () { "$SPMMFARM" tune-local "$@" --backend cuda --max-configs 6 --proxy-top 2 --store "$G" --json -q; }
    expect_exit 0 "GPU: tune q98" gtune "$WORK/q98.mtx" --n 512
    cp "$WORK/out" "$WORK/q98.json"
    expect_exit 0 "GPU: tune conv (bias, relu)" gtune "$WORK/conv.mtx" --n 3136 --bias --relu
    expect_exit 0 "GPU: tune half" gtune "$WORK/half.mtx" --n 256
    expect_exit 0 "GPU: q98 again" gtune "$WORK/q98.mtx" --n 512
    [ "$(json_get "$WORK/out" 'd["from_store"] and not d["simulated"] and d["best"]["verified"]')" = True ] \
        && pass "GPU: answered from the store, measured and verified" || fail "GPU: second q98 run"
    expect_exit 0 "GPU: export --all" "$SPMMFARM" export --all --store "$G" -o "$WORK/gpu.bundle"
    cat "$WORK/out"
    "$SPMMFARM" bundle inspect "$WORK/gpu.bundle"
    [ "$(json_get "$WORK/q98.json" 'd["gpu"]["type"]')" = "$("$SPMMFARM" bundle inspect "$WORK/gpu.bundle" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["gpu"]["type"] if not d["simulated"] else "")')" ] \
        && pass "GPU: the bundle is for the GPU type tuned on, not simulated" || fail "GPU: bundle GPU type"
    M="--matrix q98=$WORK/q98.mtx --matrix conv=$WORK/conv.mtx --matrix half=$WORK/half.mtx"
    expect_exit 0 "GPU: bundle verify against the CPU reference" "$SPMMFARM" bundle verify "$WORK/gpu.bundle" $M \
        --key "$G/bundle-signing.pub"
    cat "$WORK/out"
    expect_grep "^3 of 3 layers ok on GPU 0" "$WORK/out" "GPU: every exported layer verified"
    if [ -x "$RT_DEMO" ]; then
        expect_exit 0 "GPU: rt_demo on the exported bundle" "$RT_DEMO" "$WORK/gpu.bundle" $M
        cat "$WORK/out"
        expect_grep "^3 of 3 layers ok" "$WORK/out" "GPU: rt_demo: every layer matches"
    fi
    if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
        for layer in q98 conv half; do
            expect_exit 0 "GPU: torch_demo $layer" env SPMMFARM_RT_LIB="$RT_LIB" \
                python3 "$TOP_SRCDIR/examples/torch_demo.py" "$WORK/gpu.bundle" $layer --matrix "$WORK/$layer.mtx"
            cat "$WORK/out"
        done
    fi
fi
finish
