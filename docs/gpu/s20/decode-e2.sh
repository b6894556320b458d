#!/bin/sh
# Session 20, the second call (30 s, on the warm H100 after callB.sh): the llm
# suite's decode problems at N = 16, e2 against the earlier e0/e1 winners and
# cuBLASLt bf16 in one process (docs/KERNELS.md "e2 (session 20)").
mkdir -p /tmp/d && cd .devpack-s20e2 && export LD_LIBRARY_PATH=$PWD/lib:/usr/local/cuda/lib64 &&
C=T:e1.w4.m1.n16.k2.g8.p4,T:e2.w4.m1.n16.k2.g8.p4,T:e1.w4.m1.n16.k8.g8.p4,T:e2.w4.m1.n16.k8.g8.p4,T:e1.w8.m2.n16.k2.g8.p4,T:e2.w8.m2.n16.k2.g8.p4,T:e1.w4.m2.n16.k4.g8.p4,T:e2.w4.m2.n16.k4.g8.p4,T:e0.w8.m2.n16.k2.g8.p4,T:e2.w4.m1.n16.k4.g8.p4 &&
timeout 130 ./bin/tc_bench bench --shapes 4096x4096,11008x4096,4096x11008,16384x4096 --sparsity 0.5,0.8,0.9 --n 16 --configs $C --json /tmp/d/decode-e2.json > /tmp/d/decode-e2.log 2>&1; echo rc=$?; grep -A14 "^M x K" /tmp/d/decode-e2.log; cp /tmp/d/* $OUT/
