#!/bin/bash
# uparts-check.sh: the full U kernel compiled in parts against the same kernel
# as one function, on the GPU (issue 22; session 11's parts faulted with
# CUDA_ERROR_ILLEGAL_ADDRESS / INVALID_ADDRESS_SPACE: the PTX wrapper's
# shadowed parameters, fixed in proxygen/sf_jit.c). One device call, about
# 2-3 minutes on the H100 host (limit 240 s), from the repository root:
#
#   SF_DEVPACK=$PWD/.devpack-scale2 tests/gpu/uparts-check.sh
#
# with binaries packed by ../shared/tools/devpack into SF_DEVPACK (bin/upartscmp,
# lib/) and real matrices under SF_DEVPACK/data/dlmc (else SF_SHARED_DATA/dlmc,
# else ../shared/data/dlmc; without them, generated uniform matrices, said so).
# Four runs of tests/gpu/upartscmp (each case: both kernels compiled as the
# search compiles them, run on the same B and bias, C compared bit for bit and
# against the CPU reference):
#   1. plain: RN50 64 x 576 at 90 % and the Transformer's q (512 x 512) at 98 %
#      x 6 configs (V 1/2/4, splits over K, bias/ReLU, both launch orders, the
#      three row orders) x N = 512 and 130 (130: V > 1 takes the generic path);
#      RN50 512 x 128 at 90 % and 128 x 1152 at 95 % x 3 configs, the same N;
#   2. under compute-sanitizer memcheck: 2 of them, 3 configs, N = 130;
#   3. timed (--time): the parts' kernel speed against the one function at
#      N = 4096 on the Transformer q (a first look; the search times by graphs).
# Writes under $OUT: uparts-check.txt (every line, the verdict last) and the
# four logs. Exit 0 when every run passed, 1 otherwise.
set -u
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
DEVPACK=${SF_DEVPACK:-$PWD/.devpack}
export LD_LIBRARY_PATH=$DEVPACK/lib:/usr/local/cuda/lib64
CMP=${UPARTSCMP:-$DEVPACK/bin/upartscmp}
[ -x "$CMP" ] || CMP=tests/gpu/upartscmp
DATA=$DEVPACK/data
[ -d "$DATA/dlmc" ] || DATA=${SF_SHARED_DATA:-$PWD/../shared/data}
SAN=${COMPUTE_SANITIZER:-/usr/local/cuda/bin/compute-sanitizer}
R=$OUT/uparts-check.txt
: > "$R"
say () { echo "$*" | tee -a "$R"; }

D=$DATA/dlmc
M1=$D/rn50/magnitude_pruning/0.9/bottleneck_2_block_group1_1_1.smtx
M2=$D/rn50/magnitude_pruning/0.9/bottleneck_3_block_group2_1_1.smtx
M3=$D/transformer/magnitude_pruning/0.98/body_encoder_layer_0_self_attention_multihead_attention_q_fully_connected.smtx
M4=$D/rn50/magnitude_pruning/0.95/bottleneck_2_block_group2_1_1.smtx
MATS="$M1 $M2 $M3 $M4"
for f in $MATS; do
    if [ ! -f "$f" ]; then
        say "NOTE: no DLMC matrices under $D: generated uniform matrices instead (not real pruning patterns)"
        G=/tmp/uparts-check; mkdir -p "$G"
        SF=${SPMMFARM:-$DEVPACK/bin/spmmfarm}
        "$SF" gen --m 64 --k 576 --sparsity 0.9 --seed 1 -o "$G/a.mtx" >/dev/null
        "$SF" gen --m 512 --k 128 --sparsity 0.9 --seed 2 -o "$G/b.mtx" >/dev/null
        "$SF" gen --m 512 --k 512 --sparsity 0.98 --seed 3 -o "$G/c.mtx" >/dev/null
        "$SF" gen --m 128 --k 1152 --sparsity 0.95 --seed 4 -o "$G/d.mtx" >/dev/null
        M1=$G/a.mtx M2=$G/b.mtx M3=$G/c.mtx M4=$G/d.mtx
        MATS="$M1 $M2 $M3 $M4"
        break
    fi
done
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; nproc; } 2>&1 | tee -a "$R"

status=0
run () {  # run NAME LIMIT COMMAND...
    local name=$1 limit=$2; shift 2
    local t0; t0=$(date +%s)
    timeout "$limit" "$@" > "$OUT/uparts-$name.log" 2>&1
    local rc=$?
    cat "$OUT/uparts-$name.log" >> "$R"
    say "== $name: exit $rc in $(( $(date +%s) - t0 )) s ($(tail -1 "$OUT/uparts-$name.log"))"
    [ $rc = 0 ] || status=1
    return $rc
}
run plain ${SF_UPARTS_PLAIN_S:-80} "$CMP" --n 512 --n 130 "$M1" "$M3"
run plain-quick ${SF_UPARTS_QUICK_S:-50} "$CMP" --quick --n 512 --n 130 "$M2" "$M4"
if [ -x "$SAN" ]; then
    # memcheck: any illegal address, misaligned or out-of-bounds access is an error
    run memcheck ${SF_UPARTS_SAN_S:-60} "$SAN" --tool memcheck --error-exitcode 3 --print-limit 20 \
        "$CMP" --quick --n 130 "$M1" "$M3"
else
    say "NOTE: no compute-sanitizer at $SAN: the memcheck run is skipped"
    status=1
fi
run timed ${SF_UPARTS_TIME_S:-35} "$CMP" --quick --time --n 4096 "$M3"
[ $status = 0 ] && say "uparts-check: PASSED (parts and one function agree bit for bit, sanitizer clean)" \
                || say "uparts-check: FAILED (see the lines above)"
exit $status
