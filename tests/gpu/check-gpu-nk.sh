#!/bin/sh
# check-gpu-nk.sh: every nk kernel (issue 23: X is N x K, Y = X A^T is N x M,
# both row-major) on a real GPU against a double reference, on awkward
# shapes: M, N, K multiples of no tile, N = 1, K = 27, empty rows, a single
# nonzero, dense panels, with and without bias and ReLU. Run by
# tests/gpu/check-gpu.sh (SF_CHECK_PART=nk alone, or all) or on its own:
#   SPMMFARM=./spmmfarm TCDENSE=tests/gpu/tcdense tests/gpu/check-gpu-nk.sh
# Parts (SF_NK_PART, default all):
#   dense   tests/gpu/tcdense --nk --check --plain: every tensor-core dense
#           config of every tier, packed and plain A (the bundles'), verified
#           at the tier's bound (sampled rows of A = columns of Y, all N)
#   d       tune-local --layout nk --strategy exhaustive --templates D: D's
#           slab kernel in nk over its space, every candidate verified
#           (worker/sf_gpu: X = B^T uploaded, Y checked); 16-bit tiers' dense
#           nk candidates through the search
#   runtime bundle create of nk layers (D slab .nk, dense.nk) for N = 512,
#           bundle verify through libspmmfarm-rt at N = 512, 509, 3, 1
#   torch   tests/gpu/nk_torch.py: import --layout nk, local, sparsify, every
#           SparseLinear against float64 F.linear, a CUDA graph replay
#           (skipped without a Python with CUDA torch)
# Estimated (not yet run) 8-12 minutes on the H100 in all, most of it NVRTC
# compiles (each tcdense case and each tune-local is a process of its own):
# split it with SF_NK_PART=dense, d, runtime, torch to fit calls of 600 s.
SF_TOP_SRCDIR=${SF_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export SF_TOP_SRCDIR
. "$(dirname "$0")/../testlib.sh"

PART=${SF_NK_PART:-all}
TCDENSE=${TCDENSE:-$(dirname "$SPMMFARM")/tests/gpu/tcdense}
CONFIGS=${SF_GPU_CONFIGS:-96}

expect_exit 0 "a GPU is visible" "$SPMMFARM" devices --json
json_get "$WORK/out" 'len(d["devices"])' 2>/dev/null | grep -qv '^0$' || { echo "no GPU: nothing to check"; exit 77; }

gen () { "$SPMMFARM" gen --m "$1" --k "$2" --sparsity "$3" --seed 7 -o "$WORK/$4.mtx" >/dev/null; }
gen 70 27 0.7 awkward
gen 16 16 0.99609375 single         # exactly one nonzero
gen 32 32 0.0 dense                 # fully dense panels
gen 100 300 0.98 emptyish           # empty rows and columns
gen 96 27 0.5 k27
gen 768 768 0.9 bert                # a BERT-size layer, K split in clusters

if [ "$PART" = all ] || [ "$PART" = dense ]; then
for c in "fp32 70 27 1 0.7" "fp32 70 27 100 0.7 bias relu" "fp32 131 77 509 0.5" "fp32 96 27 3136 0.5 bias" \
         "fp32 768 768 512 0.9 bias" "tf32 70 27 1 0.7" "tf32 131 77 509 0.5 bias relu" "tf32 96 27 3136 0.5" \
         "bf16 70 27 1 0.7" "bf16 131 77 509 0.5 bias relu" "bf16 96 27 3136 0.5" "bf16 4096 4096 16 0.9" \
         "bf16 768 3072 4096 0.9 bias" "fp16 70 27 100 0.7 relu" "fp16 131 77 509 0.5" "fp16 96 27 1 0.5 bias"; do
    # shellcheck disable=SC2086
    expect_exit 0 "nk tensor-core dense, every config verified: $c" "$TCDENSE" --nk --check --plain $c
    sed 's/^/    /' "$WORK/out" | cut -c1-200
done
fi

# tune NAME FILE N [flags]: exhaustive nk search; every candidate must verify.
tune () {
    name=$1; file=$2; n=$3; shift 3
    expect_exit 0 "$name: exhaustive nk search runs" "$SPMMFARM" tune-local "$file" --n "$n" --layout nk \
        --strategy exhaustive --max-configs "$CONFIGS" --no-store --json -q "$@"
    cp "$WORK/out" "$WORK/$name.json"
    echo "    $name: $(json_get "$WORK/$name.json" \
        '"%d timed, %d failed, best %s %.2f us err %s" % (d["search"]["timed"], d["search"]["failed"], d["best"]["config"], d["best"]["us"], d["best"]["max_rel_err"])')"
    [ "$(json_get "$WORK/$name.json" 'd["search"]["failed"] == 0 and d["layout"] == "nk"')" = True ] \
        && pass "$name: every candidate verified" || fail "$name: candidates failed verification"
    [ "$(json_get "$WORK/$name.json" 'd["best"]["verified"]')" = True ] \
        && pass "$name: winner verified" || fail "$name: winner not verified"
}
if [ "$PART" = all ] || [ "$PART" = d ]; then
tune nk-k27 "$WORK/k27.mtx" 1001 --templates D --bias --relu
tune nk-awkward-n27 "$WORK/awkward.mtx" 27 --templates D
tune nk-awkward-n1 "$WORK/awkward.mtx" 1 --templates D --bias
tune nk-single-nnz "$WORK/single.mtx" 64 --templates D
tune nk-dense-panel "$WORK/dense.mtx" 260 --templates D
tune nk-empty-rows "$WORK/emptyish.mtx" 129 --templates D --bias
tune nk-bert "$WORK/bert.mtx" 512 --templates D
tune nk-bert-n509 "$WORK/bert.mtx" 509 --templates D --bias
tune nk-bf16 "$WORK/awkward.mtx" 100 --precision bf16 --bias
tune nk-fp16-n1 "$WORK/k27.mtx" 1 --precision fp16
tune nk-tf32 "$WORK/emptyish.mtx" 129 --precision tf32 --templates D
fi

if [ "$PART" = all ] || [ "$PART" = runtime ]; then
expect_exit 0 "bundle create: nk layers for N = 512" "$SPMMFARM" bundle create -o "$WORK/nk.bundle" \
    "slab=$WORK/awkward.mtx:512:D:r32.v4.t256.g2.o0.e2.none.nk" "slab1=$WORK/emptyish.mtx:512:D:r64.v2.t512.g8.o0.e2.none.nk" \
    "slab2=$WORK/k27.mtx:512:D:r32.v1.t256.g1.o1.e2.none.nk" "slab3=$WORK/bert.mtx:512:D:r128.v4.t512.g4.o0.e2.none.nk" \
    "dense=$WORK/awkward.mtx:512:dense.nk" "dense1=$WORK/bert.mtx:512:dense.nk" --bias
for n in 512 509 3 1; do
    expect_exit 0 "bundle verify: nk layers at N = $n" "$SPMMFARM" bundle verify "$WORK/nk.bundle" --n $n \
        --matrix "slab=$WORK/awkward.mtx" --matrix "slab1=$WORK/emptyish.mtx" --matrix "slab2=$WORK/k27.mtx" \
        --matrix "slab3=$WORK/bert.mtx"
    grep -q "no GPU" "$WORK/out" && fail "bundle verify at N = $n ran without a GPU"
    sed 's/^/    /' "$WORK/out" | head -8
done
fi

if [ "$PART" = all ] || [ "$PART" = torch ]; then
PY=${SF_TORCH_PYTHON:-python3}
if "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
    expect_exit 0 "PyTorch: nk bundles through sparsify, against float64 F.linear" env SPMMFARM="$SPMMFARM" \
        SPMMFARM_RT_LIB="${SPMMFARM_RT_LIB:-$TOP_BUILDDIR/runtime/.libs/libspmmfarm-rt.so.0}" \
        "$PY" "$(dirname "$0")/nk_torch.py" --work "$WORK/torch"
    sed 's/^/    /' "$WORK/out" | grep -v '^    ok' | head -20
    grep -c '^ok' "$WORK/out" | sed 's/^/    checks passed: /'
else
    echo "# no Python with CUDA torch: the PyTorch part skipped"
fi
fi
finish
