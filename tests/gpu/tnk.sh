#!/bin/bash
# tnk.sh: template T in the nk layout on the GPU (issues 20 and 23;
# docs/KERNELS.md "Template T in nk"): X (N x K) in, Y = X A^T (N x M) out,
# as nn.Linear and LLM serving call a layer.
#
#   tests/gpu/tnk.sh pack DIR    on the build machine (no GPU): tc_bench and
#                                its libraries (devpack), this script, and
#                                every kernel compiled into DIR/cubins
#   cd DIR && ./tnk.sh [short]   on the GPU machine, results under $OUT
#
# Parts, each under its own time limit (about 100 s in all on a warm H100;
# "short" leaves out the two kn parts):
#   verify-nk   tc_bench verify --layout nk: 13 awkward problems (N = 1, 7,
#               9, 16, 17, 24, 64, 65, 300; K = 37, 129, 300, 777, 1030: not
#               multiples of 8, the scalar staging of X; M = 33, 45, 257, 517:
#               odd, the 16-bit stores of Y; empty rows, dense panels; bias,
#               ReLU; bf16, fp16) x up to 18 configs (decode, a1, b1, a1+b1,
#               f1), every element of Y checked written and against the
#               double reference (normwise <= 1e-2 and each element within
#               twice the output's rounding + 1e-2 of the reference's rms)
#   decode-nk   N = 16 on 4096x4096, 11008x4096, 4096x11008 at 70 and 90 %:
#               the best of 11 configs against cuBLASLt bf16 in nk (Y = X A^T,
#               "TN", as F.linear), CUDA-graph replays, weights past L2
#   prefill-nk  N = 512 on 4096x4096 at 70 and 90 %: the prefill kernel (f1)
#   verify-kn   the same verify in kn (session 12's bias fix, never rerun)
#   decode-kn   decode-nk's problems and configs in kn: nk against kn on
#               the same machine
# Exit status: 1 when a candidate failed verification (or verify-nk did not
# finish), 0 otherwise. Prints each part's best T time, cuBLASLt's and the
# ratio (speed = cuBLASLt / T).
set -u
DEC16=T:e1.w4.m1.n16.k2.g8.p4,T:e1.w4.m1.n16.k2.g8.p4.a1,T:e1.w4.m1.n16.k2.g8.p4.b1
DEC16=$DEC16,T:e1.w8.m2.n16.k2.g8.p4,T:e0.w8.m2.n16.k2.g8.p4,T:e1.w8.m2.n16.k2.g8.p4.a1.b1
DEC16=$DEC16,T:e1.w4.m1.n16.k4.g8.p4,T:e1.w4.m1.n16.k4.g8.p4.b1,T:e1.w4.m2.n16.k4.g8.p4
DEC16=$DEC16,T:e1.w4.m1.n16.k8.g8.p4,T:e1.w8.m2.n16.k1.g8.p4.b1
PRE=T:e0.w8.m1.n128.k1.g4.p2.f1,T:e1.w8.m1.n128.k1.g4.p2.f1,T:e0.w8.m1.n128.k1.g8.p2.f1
PRE=$PRE,T:e0.w8.m1.n64.k1.g4.p2.f1
SHAPES=4096x4096,11008x4096,4096x11008

if [ "${1:-}" = pack ]; then
    [ $# -eq 2 ] || { echo "usage: tests/gpu/tnk.sh pack DIR" >&2; exit 2; }
    D=$2
    B=tests/bench/tc_bench
    [ -x "$B" ] || { echo "tnk.sh pack: run it from the build tree (no $B)" >&2; exit 2; }
    "${DEVPACK:-/work/shared/tools/devpack}" "$D" "$B" || exit 1
    cp "$0" "$D/tnk.sh" && chmod +x "$D/tnk.sh"
    rm -rf "$D/cubins" && mkdir -p "$D/cubins"   # never a stale kernel of an older build
    C="--cubin-dir $D/cubins --threads ${THREADS:-4}"
    fail=0
    for layout in nk kn; do  # verify's kernels: it compiles, then stops (no GPU here)
        "$B" verify --layout $layout $C 2>&1 | grep -E "kernels" | grep -q "(0 failed to compile" || fail=1
        "$B" compile --layout $layout --shapes 4096x4096 --sparsity 0.9 --n 16 --configs "$DEC16" $C >/dev/null || fail=1
    done
    "$B" compile --layout nk --shapes 4096x4096 --sparsity 0.9 --n 512 --configs "$PRE" $C >/dev/null || fail=1
    echo "tnk.sh pack: $(ls "$D/cubins" | wc -l) kernels in $D/cubins$([ $fail = 0 ] || echo ', SOME FAILED TO COMPILE')"
    exit $fail
fi

cd "$(dirname "$0")"
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT/r"
export LD_LIBRARY_PATH=$PWD/lib:/usr/local/cuda/lib64
B=./bin/tc_bench
CD="--cubin-dir cubins"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw \
    --format=csv > "$OUT/r/gpu.txt" 2>&1
t0=$(date +%s)
failed=0
part () {  # name limit args...
    local name=$1 lim=$2; shift 2
    local s=$(date +%s) rc
    timeout "$lim" $B "$@" $CD --json "$OUT/r/$name.json" > "$OUT/r/$name.log" 2>&1
    rc=$?
    echo "== $name rc=$rc $(( $(date +%s) - s )) s$([ $rc = 124 ] && echo ' (TIMED OUT)')" | tee -a "$OUT/summary.txt"
    grep -E "^FAIL|candidates checked|failed to compile" "$OUT/r/$name.log" | tail -12 | tee -a "$OUT/summary.txt"
    [ $rc = 0 ] || [ $rc = 124 ] || tail -2 "$OUT/r/$name.log" | tee -a "$OUT/summary.txt"  # why it stopped
    grep -A12 "^M x K" "$OUT/r/$name.log" | tee -a "$OUT/summary.txt"
    grep -q "^FAIL" "$OUT/r/$name.log" && failed=1
    # verify must finish: a timeout or a crash there is not a pass
    case "$name" in verify-nk) [ $rc = 0 ] || failed=1;; esac
}
part verify-nk 45 verify --layout nk
part decode-nk 75 bench --layout nk --shapes $SHAPES --sparsity 0.7,0.9 --n 16 --configs "$DEC16"
part prefill-nk 35 bench --layout nk --shapes 4096x4096 --sparsity 0.7,0.9 --n 512 --configs "$PRE"
if [ "${1:-}" != short ]; then
    part verify-kn 25 verify --layout kn
    part decode-kn 50 bench --layout kn --shapes $SHAPES --sparsity 0.7,0.9 --n 16 --configs "$DEC16"
fi
echo "total $(( $(date +%s) - t0 )) s, $([ $failed = 0 ] && echo 'every checked candidate verified' || echo 'VERIFY FAILURES')" \
    | tee -a "$OUT/summary.txt"
tar -C "$OUT" -czf "$OUT/tnk.tar.gz" r
cp "$OUT/r/verify-nk.log" "$OUT/r/decode-nk.log" "$OUT/r/prefill-nk.log" "$OUT/" 2>/dev/null
rm -rf "$OUT/r"
exit $failed
