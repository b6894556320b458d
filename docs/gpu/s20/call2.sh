#!/bin/sh
# Session 20, call 2: template T's encoding e2 against e1 on the H100 (branch
# tdec's tc_bench, .devpack-s20e2: verify, probe side by side, ncu stalls),
# then the BERT-base bf16 end-to-end row carried on from call 1's store.
T0=$(date +%s)
mkdir -p /tmp/tc-e2
OUT=/tmp/tc-e2 timeout 150 .devpack-s20e2/tc-bench.sh e2 2>&1 | tail -30
tar czf $OUT/tc-e2.tar.gz -C /tmp tc-e2
echo "tc-bench e2 $(( $(date +%s) - T0 )) s"
TAG=b DEADLINE=$(( ${DEADLINE:-560} - ($(date +%s) - T0) )) sh docs/gpu/s20/call1.sh
