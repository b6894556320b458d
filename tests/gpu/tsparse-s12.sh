#!/bin/bash
# tsparse-s12.sh: session 12's one device call for template T (issue 20;
# docs/KERNELS.md "Template T", "Session 12"). Packed here with
#   ../shared/tools/devpack DIR tests/bench/tc_bench
#   tests/bench/tc_bench compile ... --cubin-dir DIR/cubins   (each part's configs)
# and this script copied into DIR; on the GPU machine:
#   cd DIR && ./tsparse-s12.sh [short|mini]
# Parts, most valuable first, each under its own time limit (the call's is
# about 170 s): verify (awkward shapes, every config family incl. a1, b1,
# f1), decode N = 16 and the prefill kernel N = 512/2048 against cuBLAS
# bf16, decode N = 64, the probe (tiny layers, an all-zero matrix).
set -u
cd "$(dirname "$0")"
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT/r"
export LD_LIBRARY_PATH=$PWD/lib:/usr/local/cuda/lib64
B="./bin/tc_bench"
CD="--cubin-dir cubins"
LLM=4096x4096,11008x4096,4096x11008,16384x4096,4096x16384
. ./configs.sh
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw --format=csv \
    > "$OUT/r/gpu.txt" 2>&1
t0=$(date +%s)
part () {  # name limit args...
    local name=$1 lim=$2; shift 2
    local s=$(date +%s)
    timeout "$lim" $B "$@" $CD --json "$OUT/r/$name.json" > "$OUT/r/$name.log" 2>&1
    echo "== $name rc=$? $(( $(date +%s) - s )) s" | tee -a "$OUT/summary.txt"
    grep -E "checked|failed|FAIL" "$OUT/r/$name.log" | tail -3 | tee -a "$OUT/summary.txt"
    grep -A40 "^M x K" "$OUT/r/$name.log" >> "$OUT/summary.txt"
}
if [ "${1:-}" = mini ]; then  # what fits 50 s on a warm machine
    part verify 18 verify
    part decode16 14 bench --shapes 4096x4096 --sparsity 0.5,0.9 --n 16 --configs "$DEC16"
    part prefill 14 bench --shapes 4096x4096 --sparsity 0.9 --n 512,2048 --configs "$PRE"
elif [ "${1:-}" = short ]; then  # what fits 70 s
    part verify 18 verify
    part decode16 25 bench --shapes 4096x4096,16384x4096,4096x16384 --sparsity 0.5,0.9 --n 16 --configs "$DEC16"
    part prefill 22 bench --shapes 4096x4096 --sparsity 0.5,0.9 --n 512,2048 --configs "$PRE"
else
    part verify 25 verify
    part decode16 45 bench --shapes $LLM --sparsity 0.5,0.8,0.9 --n 16 --configs "$DEC16"
    part prefill 45 bench --shapes 4096x4096,11008x4096 --sparsity 0.5,0.8,0.9 --n 512,2048 --configs "$PRE"
    part decode64 30 bench --shapes $LLM --sparsity 0.5,0.9 --n 64 --configs "$DEC64"
    part probe 12 bench --shapes 16x4096,1024x4096,4096x4096 --sparsity 0.9,1.0 --n 16 --configs "$PROBE" --no-cublas
fi
echo "total $(( $(date +%s) - t0 )) s" >> "$OUT/summary.txt"
tar -C "$OUT" -czf "$OUT/tsparse-s12.tar.gz" r
cp "$OUT/r/decode16.log" "$OUT/r/prefill.log" "$OUT/r/verify.log" "$OUT/" 2>/dev/null
rm -rf "$OUT/r"
