#!/bin/bash
# tc-bench.sh: template T's device runs (issue 20; docs/KERNELS.md
# "Template T"), from a folder packed here with
#   ../shared/tools/devpack DIR tests/bench/tc_bench
# and this script copied into DIR; on the GPU machine:
#   cd DIR && ./tc-bench.sh verify|decode|pipe|prefill|ncu|probe|e2
# Each part writes its log and JSON under $OUT and prints the table.
#   verify   awkward shapes, every element checked (N = 1, 7, 9, 17, 24,
#            65; K and M not multiples of 16; empty rows and panels; a
#            fully dense matrix and a dense panel; bf16 and fp16; bias, ReLU)
#   decode   the llm shapes x 50/80/90 % x N = 16, 64 against cuBLAS bf16
#   pipe     groups and stages (g, p) on two shapes
#   prefill  N = 512 and 2048
#   ncu      one decode kernel under Nsight Compute
#   probe    where the fixed time goes: tiny layers, an all-zero matrix,
#            warp stall reasons (session 19: docs/KERNELS.md)
#   e2       encoding e2 (session 20): verify's problems with the e2 twins
#            of verify's configs, then the probe's problems with the best
#            e1 configs and their e2 twins side by side (e2.json, the
#            table in e2.txt), and ncu's stall metrics of the k 2 pair
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
    e2) # verify: tc_bench's s_verify_configs with e2 (all its problems)
        V=T:e2.w4.m1.n16.k1.g8.p4,T:e2.w4.m1.n16.k4.g8.p4,T:e2.w2.m2.n64.k2.g2.p2,T:e2.w1.m2.n8.k4.g4.p3
        V=$V,T:e2.w8.m1.n32.k8.g2.p2,T:e2.w2.m1.n16.k2.g16.p2,T:e2.w8.m2.n64.k1.g4.p4,T:e2.w1.m1.n8.k1.g2.p8
        V=$V,T:e2.w4.m2.n32.k8.g8.p2,T:e2.w4.m2.n16.k4.g4.p4,T:e2.w4.m1.n16.k2.g8.p4.a1,T:e2.w2.m2.n32.k1.g4.p2.a1
        V=$V,T:e2.w4.m1.n16.k4.g8.p4.b1,T:e2.w8.m2.n64.k1.g4.p2.b1,T:e2.w2.m1.n8.k2.g16.p3.a1.b1
        V=$V,T:e2.w8.m1.n128.k1.g4.p2.f1,T:e2.w8.m1.n64.k1.g2.p3.f1,T:e2.w8.m1.n128.k1.g8.p2.f1
        timeout 90 $B verify --configs $V --json "$OUT/e2-verify.json" > "$OUT/e2-verify.log" 2>&1
        echo "e2 verify rc=$?"; tail -2 "$OUT/e2-verify.log"
        # the probe's problems: session 19's best e1 configs (k 8 won every
        # row, k 2 is the ncu'd one, a1 the farm's cold winner) and e2's twins
        C=T:e1.w4.m1.n16.k2.g8.p4,T:e2.w4.m1.n16.k2.g8.p4,T:e1.w4.m1.n16.k8.g8.p4,T:e2.w4.m1.n16.k8.g8.p4
        C=$C,T:e1.w4.m1.n16.k2.g8.p4.a1,T:e2.w4.m1.n16.k2.g8.p4.a1,T:e1.w4.m2.n16.k2.g8.p4,T:e2.w4.m2.n16.k2.g8.p4
        timeout 90 $B bench --shapes 16x4096,1024x4096,4096x4096 --sparsity 0.9,1.0 --n 16 --configs $C \
            --json "$OUT/e2.json" > "$OUT/e2.log" 2>&1; echo "e2 probe rc=$?"
        python3 - "$OUT/e2.json" > "$OUT/e2.txt" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["problems"]:
    us = {c["config"]: c.get("us") for c in p["configs"]}
    print(f'{p["m"]}x{p["k"]} sp {p["sparsity"]:.2f} cuBLAS {p.get("cublas", {}).get("us", 0):.2f} us')
    for c, t in us.items():
        if c.startswith("T:e1."):
            t2 = us.get("T:e2." + c[5:])
            ok = t is not None and t2 is not None
            print(f'  {c[5:]:<22} e1 {t or 0:7.2f}  e2 {t2 or 0:7.2f}  e1/e2 {t / t2 if ok else 0:5.3f}x')
PY
        cat "$OUT/e2.txt"
        M='regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio,sm__cycles_active.avg'
        M="$M,sm__cycles_elapsed.max,gpu__time_duration.sum,smsp__inst_executed.sum,dram__bytes_read.sum"
        for c in T:e1.w4.m1.n16.k2.g8.p4 T:e2.w4.m1.n16.k2.g8.p4; do
            timeout 60 $NCU --clock-control none -k regex:sf_t_ --launch-skip 3 --launch-count 1 --metrics "$M" \
                $B bench --shapes 4096x4096 --sparsity 0.9 --n 16 --configs $c --no-cublas \
                > "$OUT/ncu-stall-${c:2:2}.txt" 2>&1; echo "ncu $c rc=$?"
        done ;;
    *) echo "tc-bench.sh: unknown part '$part'" >&2; exit 2 ;;
    esac
done
