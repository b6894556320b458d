#!/bin/sh
# make check-gpu: generated kernels on a real GPU. Not part of `make check`
# (CI has no GPU). Every full kernel timed by the exhaustive strategy is
# verified against the CPU reference; a wrong answer fails the search's
# candidate and shows up as "failed" in the JSON, which fails this script.
#   SPMMFARM=path/to/spmmfarm  (default: ./spmmfarm)
#   SF_SHARED_DATA=path/to/shared/data  (default: ../shared/data)
#   SF_CHECK_PART=1, 2 or 3: only the first (search on every shape; 1a
#   and 1b are its two halves, to run side by side), the
#   second (template D's encodings, the runtime, the rank model) or the
#   third part (the precision tiers' tensor-core dense kernels), or nk:
#   tests/gpu/check-gpu-nk.sh (every nk kernel, issue 23), to fit a
#   time-limited GPU call (default: all)
#   TCDENSE=path/to/tests/gpu/tcdense (default: beside spmmfarm)
# The source tree is two levels up (testlib's default, one level, is for
# tests/*.sh): part 2 reads tests/data/sweep-tiny.conf from it.
SF_TOP_SRCDIR=${SF_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export SF_TOP_SRCDIR
. "$(dirname "$0")/../testlib.sh"

CONFIGS=${SF_GPU_CONFIGS:-16}

expect_exit 0 "a GPU is visible" "$SPMMFARM" devices --json
json_get "$WORK/out" 'len(d["devices"])' | grep -qv '^0$' || { echo "no GPU: nothing to check"; exit 77; }
cat "$WORK/out"

# The measuring child: a faulting and a hanging kernel are one error result
# each, and the next candidate runs in a restarted child.
expect_exit 0 "selftest: correct, faulting and hanging kernels" "$SPMMFARM" selftest
cat "$WORK/out"

# tune NAME FILE N [flags]: exhaustive search; every candidate must verify.
tune () {
    name=$1; file=$2; n=$3; shift 3
    expect_exit 0 "$name: exhaustive search runs" "$SPMMFARM" tune-local "$file" --n "$n" \
        --strategy exhaustive --max-configs "$CONFIGS" --json -q "$@"
    cp "$WORK/out" "$WORK/$name.json"
    summary=$(json_get "$WORK/$name.json" \
        '"%d timed, %d failed, best %s %.2f us err %s" % (d["search"]["timed"], d["search"]["failed"], d["best"]["config"], d["best"]["us"], d["best"]["max_rel_err"])')
    echo "    $name: $summary"
    [ "$(json_get "$WORK/$name.json" 'd["search"]["failed"]')" = 0 ] \
        && pass "$name: every candidate verified" || fail "$name: candidates failed verification"
    [ "$(json_get "$WORK/$name.json" 'd["best"]["verified"]')" = True ] \
        && pass "$name: winner verified" || fail "$name: winner not verified"
}

gen () { "$SPMMFARM" gen --m "$1" --k "$2" --sparsity "$3" --seed 7 -o "$WORK/$4.mtx" >/dev/null; }
gen 70 27 0.7 awkward
gen 16 16 0.99609375 single         # exactly one nonzero
gen 32 32 0.0 dense                 # fully dense panels
gen 100 300 0.98 emptyish           # empty rows and columns
gen 96 27 0.5 k27

PART=${SF_CHECK_PART:-all}
DLMC=$SHARED_DATA/dlmc/transformer/magnitude_pruning/0.9/body_encoder_layer_0_self_attention_multihead_attention_q_fully_connected.smtx
if [ "$PART" = all ] || [ "$PART" = 1 ] || [ "$PART" = 1a ]; then
tune awkward-n1 "$WORK/awkward.mtx" 1
tune awkward-n27 "$WORK/awkward.mtx" 27
tune awkward-n100 "$WORK/awkward.mtx" 100 --bias --relu
tune single-nnz "$WORK/single.mtx" 64
tune dense-panel "$WORK/dense.mtx" 260
tune empty-rows "$WORK/emptyish.mtx" 129
tune k27 "$WORK/k27.mtx" 3136
[ -f "$DLMC" ] && tune dlmc-q-0.9 "$DLMC" 512
fi
if [ "$PART" = all ] || [ "$PART" = 1 ] || [ "$PART" = 1b ]; then
# Template D alone, more of its configs, on a real matrix and an awkward N.
[ -f "$DLMC" ] && tune dlmc-q-0.9-D "$DLMC" 300 --templates D --max-configs 48
tune k27-D "$WORK/k27.mtx" 1001 --templates D --max-configs 48 --bias
# U split over K (--u-split): empty rows and columns, odd N (the generic
# path, run by one group of the block), N = 1, a real matrix, the epilogue.
tune empty-rows-Uk "$WORK/emptyish.mtx" 129 --templates U --u-split --max-configs 12 --bias --relu
tune emptyish-n1-Uk "$WORK/emptyish.mtx" 1 --templates U --u-split --max-configs 12
[ -f "$DLMC" ] && tune dlmc-q-0.9-Uk "$DLMC" 300 --templates U --u-split --max-configs 12 --max-code-fmas 30000
fi
if [ "$PART" = all ] || [ "$PART" = 2 ]; then
# D's union encoding (--d-union, session 6): awkward N, padding rows, a
# single nonzero, dense panels, a real matrix; every candidate verified.
[ -f "$DLMC" ] && tune dlmc-q-0.9-Du "$DLMC" 300 --templates D --d-union --max-configs 96
tune k27-Du "$WORK/k27.mtx" 1001 --templates D --d-union --max-configs 96 --bias --relu
tune awkward-n27-Du "$WORK/awkward.mtx" 27 --templates D --d-union --max-configs 96
tune single-nnz-Du "$WORK/single.mtx" 64 --templates D --d-union --max-configs 96
tune dense-panel-Du "$WORK/dense.mtx" 260 --templates D --d-union --max-configs 96
# D's slab kernel (.e2, session 8; in the default space): its whole space
# on the same shapes (K = 27 and N = 27 included: no rows config fits N =
# 27, so only slab kernels run there), with the epilogue, every candidate
# verified.
[ -f "$DLMC" ] && tune dlmc-q-0.9-Ds "$DLMC" 300 --templates D --max-configs 96
tune k27-Ds "$WORK/k27.mtx" 1001 --templates D --max-configs 96 --bias --relu
tune awkward-n27-Ds "$WORK/awkward.mtx" 27 --templates D --max-configs 96
tune single-nnz-Ds "$WORK/single.mtx" 64 --templates D --max-configs 96
tune dense-panel-Ds "$WORK/dense.mtx" 260 --templates D --max-configs 96
tune empty-rows-Ds "$WORK/emptyish.mtx" 129 --templates D --max-configs 96 --bias

# Correct for every N (docs/KERNELS.md): D kernels (rows, union, slab) built for
# N = 512 run through the runtime at N = 509, 3 and 1 (N % V != 0, N < V,
# lanes past N in every warp); bundle verify compares sampled rows with the
# CPU reference and checks every output is written.
expect_exit 0 "bundle create: D kernels for N = 512" "$SPMMFARM" bundle create -o "$WORK/dn.bundle" \
    "rows=$WORK/awkward.mtx:512:D:r4.v4.t64.g2.o1.sim" "union=$WORK/awkward.mtx:512:D:r8.v4.t32.g1.o0.e1.nnz" \
    "rows1=$WORK/emptyish.mtx:512:D:r2.v2.t128.g1.o0.none" \
    "slab=$WORK/awkward.mtx:512:D:r32.v4.t256.g2.o0.e2.none" "slab1=$WORK/emptyish.mtx:512:D:r64.v2.t512.g8.o0.e2.nnz" \
    "slab2=$WORK/emptyish.mtx:512:D:r32.v1.t256.g1.o1.e2.sim"
for n in 509 3 1; do
    expect_exit 0 "bundle verify: D kernels at N = $n" "$SPMMFARM" bundle verify "$WORK/dn.bundle" --n $n \
        --matrix "rows=$WORK/awkward.mtx" --matrix "union=$WORK/awkward.mtx" --matrix "rows1=$WORK/emptyish.mtx" \
        --matrix "slab=$WORK/awkward.mtx" --matrix "slab1=$WORK/emptyish.mtx" --matrix "slab2=$WORK/emptyish.mtx"
    grep -q "no GPU" "$WORK/out" && fail "bundle verify at N = $n ran without a GPU"
done

# The rank model on the GPU: a tiny sweep measured on this GPU, a model of
# its GPU type, and the rank strategy's winner verified.
"$SPMMFARM" devices --json > "$WORK/devices.json"
TYPE=$(json_get "$WORK/devices.json" 'd["devices"][0]["gpu_type"]')
expect_exit 0 "sweep-local: a tiny sweep on the GPU" "$SPMMFARM" sweep-local \
    --sweep "$TOP_SRCDIR/tests/data/sweep-tiny.conf" --backend cuda --store "$WORK/store" --json -q
[ "$(json_get "$WORK/out" 'd["measured"] == 8 and not d["simulated"] and d["failed"] == 0')" = True ] \
    && pass "sweep-local: measured, not simulated" || fail "sweep-local: measured, not simulated"
expect_exit 0 "train a model of $TYPE" "$SPMMFARM" train --store "$WORK/store" --gpu-type "$TYPE"
cat "$WORK/out"
expect_exit 0 "tune-local --strategy rank" "$SPMMFARM" tune-local "$WORK/k27.mtx" --n 3136 --backend cuda \
    --strategy rank --model "$WORK/store" --json -q
[ "$(json_get "$WORK/out" 'd["best"]["verified"] and not d["search"]["rank_fallback"] and d["search"]["ranked"] > 0')" = True ] \
    && pass "rank: the model ranked, the winner verified" || fail "rank: the model ranked, the winner verified"
fi
if [ "$PART" = all ] || [ "$PART" = 3 ]; then
# The precision tiers' dense candidates (issue 19): every tensor-core dense
# config of every tier, and its plain-A form (the bundles'), verified at
# the tier's bound on awkward shapes: M, N, K multiples of no tile, N = 1,
# K = 27, with and without the epilogue.
TCDENSE=${TCDENSE:-$(dirname "$SPMMFARM")/tests/gpu/tcdense}
# N = 1 names the wgmma variants (proxygen/sf_wgdense.h), which the configs
# offer from N = 24 on, so that they are checked there too.
wg1="--extra ws.x3.m128n128k32.w128x64.s4.k1 --extra wg.x3.m128n64k32.w128x64.s4.k2"
for c in "$wg1 fp32 70 27 1 0.7" "fp32 70 27 100 0.7 bias relu" "fp32 131 77 509 0.5" "fp32 96 27 3136 0.5 bias" \
         "--extra ws.tf32.m256n128k32.w256x64.s4.k1 tf32 70 27 1 0.7" "tf32 131 77 509 0.5 bias relu" \
         "tf32 96 27 3136 0.5" "--extra ws.bf16.m128n128k64.w128x64.s4.k1 bf16 70 27 1 0.7" \
         "bf16 131 77 509 0.5 bias relu" "bf16 96 27 3136 0.5" "fp16 70 27 100 0.7 relu" "fp16 131 77 509 0.5" \
         "--extra wg.fp16.m64n128k64.w64x64.s4.k2 fp16 96 27 1 0.5 bias"; do
    # shellcheck disable=SC2086
    expect_exit 0 "tensor-core dense, every config verified: $c" "$TCDENSE" --check --plain $c
    sed 's/^/    /' "$WORK/out" | cut -c1-200
done
# Bundles' dense layers (our 3xTF32 kernel on plain A) through the runtime
# at the tuned N and at N = 509, 3, 1.
expect_exit 0 "bundle create: dense layers" "$SPMMFARM" bundle create -o "$WORK/tc.bundle" \
    "aw=$WORK/awkward.mtx:100:dense" "k27=$WORK/k27.mtx:3136:dense" "e=$WORK/emptyish.mtx:512:dense" --bias --relu
for n in 512 509 3 1; do
    expect_exit 0 "bundle verify: dense layers at N = $n" "$SPMMFARM" bundle verify "$WORK/tc.bundle" --n $n
    grep -q "no GPU" "$WORK/out" && fail "bundle verify at N = $n ran without a GPU"
    sed 's/^/    /' "$WORK/out" | head -8
done
fi
if [ "$PART" = all ] || [ "$PART" = nk ]; then
# The nk layout (issue 23): its own script, every nk kernel verified.
expect_exit 0 "check-gpu-nk.sh: every nk kernel verified" env SPMMFARM="$SPMMFARM" \
    TCDENSE="${TCDENSE:-$(dirname "$SPMMFARM")/tests/gpu/tcdense}" sh "$(dirname "$0")/check-gpu-nk.sh"
grep -E '^(FAIL|[0-9]+ passed)' "$WORK/out" | sed 's/^/    /'
fi
finish
