#!/bin/bash
# tc-bench.sh: template T's device runs (issue 20; docs/KERNELS.md
# "Template T"), from a folder packed here with
#   ../shared/tools/devpack DIR tests/bench/tc_bench
# and this script copied into DIR; on the GPU machine:
#   cd DIR && ./tc-bench.sh verify|decode|pipe|prefill|ncu|probe
# Each part writes its log and JSON under $OUT and prints the table.
#   verify   awkward shapes, every element checked (N = 1, 7, 9, 17, 24,
#            65; K and M not multiples of 16; empty rows and panels; a
#            fully dense matrix and a dense panel; bf16 and fp16; bias, ReLU)
#   decode   the llm shapes x 50/80/90 % x N = 16, 64 against cuBLAS bf16
#   pipe     groups and stages (g, p) on two shapes
#   prefill  N = 512 and 2048
#   ncu      one decode kernel under Nsight Compute
#   probe    where the fixed time goes: tiny layers, an all-zero matrix,
#            warp stall reasons (not run yet: see docs/KERNELS.md)
set -u
cd "$(dirname "$0")"
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
export LD_LIBRARY_PATH=$PWD/lib:/usr/local/cuda/lib64
B=./bin/tc_bench
NCU=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw --format=csv > "$OUT/gpu.txt" 2>&1
for part in "$@"; do
    case $part in
    verify) timeout 60 $B verify --json "$OUT/verify.json" > "$OUT/verify.log" 2>&1; echo "verify rc=$?"
            tail -2 "$OUT/verify.log" ;;
    decode) timeout 150 $B bench --w 4,8 --k 1,2,4,8 --json "$OUT/decode.json" > "$OUT/decode.log" 2>&1
            echo "decode rc=$?"; grep -A30 "^M x K" "$OUT/decode.log" ;;
    pipe) timeout 60 $B bench --shapes 4096x4096,16384x4096 --sparsity 0.5,0.9 --n 16 --w 8 --m 2 --k 2,4,8 \
              --g 4,16 --p 2,8 --no-cublas --json "$OUT/pipe.json" > "$OUT/pipe.log" 2>&1; echo "pipe rc=$?" ;;
    prefill) timeout 120 $B bench --shapes 4096x4096,11008x4096 --sparsity 0.5,0.9 --n 512,2048 --w 4,8 --m 1,2 \
                 --k 4,8 --json "$OUT/prefill.json" > "$OUT/prefill.log" 2>&1
             echo "prefill rc=$?"; grep -A10 "^M x K" "$OUT/prefill.log" ;;
    ncu) timeout 60 $NCU --clock-control none -k regex:sf_t_ --launch-skip 3 --launch-count 1 --section SpeedOfLight \
             --section WarpStateStats --section Occupancy --section SchedulerStats --section LaunchStats \
             --section MemoryWorkloadAnalysis $B bench --shapes 4096x4096 --sparsity 0.9 --n 16 \
             --configs T:e1.w8.m2.n16.k8.g8.p4 --no-cublas > "$OUT/ncu.txt" 2>&1; echo "ncu rc=$?" ;;
    probe) C=T:e1.w4.m1.n16.k1.g8.p4,T:e1.w4.m1.n16.k2.g8.p4,T:e1.w4.m1.n16.k8.g8.p4,T:e1.w8.m2.n16.k2.g16.p2
           timeout 60 $B bench --shapes 16x4096,1024x4096,4096x4096 --sparsity 0.9,1.0 --n 16 --configs $C \
               --json "$OUT/probe.json" > "$OUT/probe.log" 2>&1; echo "probe rc=$?"
           M='regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio,sm__cycles_active.avg'
           M="$M,sm__cycles_elapsed.max,gpu__time_duration.sum,smsp__inst_executed.sum,dram__bytes_read.sum"
           timeout 60 $NCU --clock-control none -k regex:sf_t_ --launch-skip 3 --launch-count 1 --metrics "$M" \
               $B bench --shapes 4096x4096 --sparsity 0.9 --n 16 --configs T:e1.w4.m1.n16.k2.g8.p4 --no-cublas \
               > "$OUT/ncu-stall.txt" 2>&1; echo "ncu rc=$?" ;;
    *) echo "tc-bench.sh: unknown part '$part'" >&2; exit 2 ;;
    esac
done
